// API keys, kept in S3 at auth/keys/<key-id>.json, and named per tenant at auth/tenants/<tenant>/keys/<key-id> (an
// empty object written before the record) so that listing a tenant's keys reads that tenant's records alone. Keys
// stored before that index are indexed on the first listing (auth/tenants/indexed.json marks it done). Only the
// sha256 of a key is stored. A fast hash is enough
// here (unlike passwords): keys are 256 random bits, so there is nothing to guess from the hash, and a request
// must not wait for a deliberately slow one.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createOnce } from '../../core/ledger/create-once.ts';
import { mapLimited } from '../../core/map-limited.ts';
import { ObjectNotFound, objectKey, parseObjectKey, type ObjectStore } from '../../core/object-store.ts';
import { ROLES, type Principal, type Role } from './principal.ts';

export type KeyRecord = {
  id: string;
  /** Who holds the key; approvals compare this with the job's submitter. */
  user: string;
  tenant: string;
  roles: Role[];
  sha256: string;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
};

/** A key as listed: never its hash. */
export type KeyInfo = Omit<KeyRecord, 'sha256'>;

// rk_<16 hex id>_<43 base64url secret>: the id finds the record without a scan, the secret proves the holder.
const KEY_FORMAT = /^rk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
export const BOOTSTRAP_KEY_ID = 'bootstrap';
export const MIN_BOOTSTRAP_KEY_LENGTH = 32;

const RECORD_READS = 8;

// A revocation made through another API process reaches this one within this time.
const CACHE_MS = 5_000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const keyObject = (id: string) => objectKey('auth', 'keys', `${id}.json`);
const tenantKeysPrefix = (tenant: string) => `${objectKey('auth', 'tenants', tenant, 'keys')}/`;
const indexedObject = objectKey('auth', 'tenants', 'indexed.json');

export class KeyStore {
  private readonly cache = new Map<string, { record: KeyRecord | undefined; until: number }>();
  private bootstrapped: Promise<unknown> | undefined;
  /** Whether every stored key is in the per-tenant index; once true, it stays true (creates index themselves). */
  private indexed = false;

  /** With `bootstrapKey`, the first lookup stores it as the admin key of tenant `default`, unless one is stored. */
  constructor(
    private readonly store: ObjectStore,
    private readonly bootstrapKey?: string,
  ) {}

  /** Stores the bootstrap admin key unless one was stored before; says whether it did. */
  async bootstrap(adminKey: string): Promise<boolean> {
    const record: KeyRecord = {
      id: BOOTSTRAP_KEY_ID,
      user: 'bootstrap-admin',
      tenant: 'default',
      roles: ['admin'],
      sha256: sha256(adminKey),
      createdAt: new Date().toISOString(),
      createdBy: 'RATCHET_BOOTSTRAP_ADMIN_KEY',
      revokedAt: null,
    };
    await this.index(record);
    return createOnce(this.store, keyObject(BOOTSTRAP_KEY_ID), JSON.stringify(record, null, 2));
  }

  /** A new key; the secret is in the returned `key` only, never stored. */
  async create(
    fields: Pick<KeyRecord, 'user' | 'tenant' | 'roles'>,
    by: string,
  ): Promise<{ key: string; info: KeyInfo }> {
    const id = randomBytes(8).toString('hex');
    const key = `rk_${id}_${randomBytes(32).toString('base64url')}`;
    const record: KeyRecord = {
      id,
      ...fields,
      roles: ROLES.filter((role) => fields.roles.includes(role)),
      sha256: sha256(key),
      createdAt: new Date().toISOString(),
      createdBy: by,
      revokedAt: null,
    };
    await this.index(record);
    await this.store.put(keyObject(id), JSON.stringify(record, null, 2), {
      contentType: 'application/json',
      ifAbsent: true,
    });
    return { key, info: withoutHash(record) };
  }

  async list(tenant: string): Promise<KeyInfo[]> {
    if (!this.indexed) {
      await this.store.head(indexedObject).catch(async (error: unknown) => {
        if (!(error instanceof ObjectNotFound)) throw error;
        await this.indexAll();
      });
      this.indexed = true;
    }
    const prefix = tenantKeysPrefix(tenant);
    const ids = (await this.store.list(prefix)).map((key) => key.slice(prefix.length));
    // The index names a key before its record exists: a create that failed leaves a name with no record.
    const records = await mapLimited(ids, RECORD_READS, (id) => this.read(id));
    return records.filter((r): r is KeyRecord => r?.tenant === tenant).map(withoutHash);
  }

  /** Marks the key revoked (the record stays, for the audit trail); undefined when the tenant has no such key. */
  async revoke(id: string, tenant: string): Promise<KeyInfo | undefined> {
    const record = await this.read(id);
    if (!record || record.tenant !== tenant) return undefined;
    if (!record.revokedAt) {
      record.revokedAt = new Date().toISOString();
      await this.store.put(keyObject(id), JSON.stringify(record, null, 2), { contentType: 'application/json' });
    }
    this.cache.delete(id);
    return withoutHash(record);
  }

  /** Who presents `token`, or undefined for an unknown, wrong or revoked key. */
  async authenticate(token: string): Promise<Principal | undefined> {
    if (this.bootstrapKey) {
      // Tried again on the next request when S3 was not reachable.
      this.bootstrapped ??= this.bootstrap(this.bootstrapKey).catch((error: unknown) => {
        this.bootstrapped = undefined;
        throw error;
      });
      await this.bootstrapped;
    }
    const id = KEY_FORMAT.exec(token)?.[1] ?? BOOTSTRAP_KEY_ID;
    const record = await this.cached(id);
    if (!record || record.revokedAt) return undefined;
    const expected = Buffer.from(record.sha256, 'hex');
    const actual = createHash('sha256').update(token).digest();
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined;
    return { keyId: record.id, user: record.user, tenant: record.tenant, roles: record.roles };
  }

  private async cached(id: string): Promise<KeyRecord | undefined> {
    const hit = this.cache.get(id);
    if (hit && hit.until > Date.now()) return hit.record;
    const record = await this.read(id);
    this.cache.set(id, { record, until: Date.now() + CACHE_MS });
    return record;
  }

  private async index(record: Pick<KeyRecord, 'id' | 'tenant'>): Promise<void> {
    await this.store.put(parseObjectKey(tenantKeysPrefix(record.tenant) + record.id), '');
  }

  /** Indexes the keys stored before the per-tenant index existed. */
  private async indexAll(): Promise<void> {
    const keys = await this.store.list('auth/keys/');
    await mapLimited(keys, RECORD_READS, async (key) =>
      this.index(await this.store.getJson<KeyRecord>(parseObjectKey(key))),
    );
    await this.store.putJson(indexedObject, { at: new Date().toISOString() });
  }

  private async read(id: string): Promise<KeyRecord | undefined> {
    try {
      return await this.store.getJson<KeyRecord>(keyObject(id));
    } catch (error) {
      if (error instanceof ObjectNotFound) return undefined;
      throw error;
    }
  }
}

function withoutHash({ sha256: _, ...info }: KeyRecord): KeyInfo {
  return info;
}
