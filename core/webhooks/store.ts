import { randomBytes } from 'node:crypto';
import { ObjectNotFound, objectKey, parseObjectKey, PreconditionFailed, type ObjectStore } from '../object-store.ts';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from './events.ts';
import { newWebhookSecret } from './signing.ts';

// A tenant's webhook endpoints, one S3 object each at tenants/<tenant>/webhooks/<id>.json. The secret is stored
// as it is (signing needs it, a hash would not do) and leaves this module only in `create` and `rotate`'s answers
// and in `signingSecrets` for the delivery activity: `WebhookEndpoint`, what lists and logs see, has none.

export type WebhookEndpointRecord = {
  id: string;
  object: 'webhook_endpoint';
  tenant: string;
  url: string;
  /** The event types sent to the endpoint. */
  events: WebhookEventType[];
  description: string;
  /** Set by an admin: the URL may resolve to loopback, link-local and private addresses. */
  allow_private: boolean;
  created_at: number;
  created_by: string;
  /** When the secret was last rotated (Unix seconds), or null. */
  rotated_at: number | null;
  secret: string;
  /** The secret before the last rotation, still signing until `expires_at` (Unix seconds). */
  previous_secret: { secret: string; expires_at: number } | null;
};

export type WebhookEndpoint = Omit<WebhookEndpointRecord, 'secret' | 'previous_secret'> & {
  /** Until when the previous secret still signs, or null. */
  previous_secret_expires_at: number | null;
};

export type NewWebhookEndpoint = Pick<WebhookEndpointRecord, 'url' | 'description' | 'allow_private'> & {
  events?: WebhookEventType[];
};

/** Another request changed the endpoint between this one's read and write. */
export class WebhookEndpointConflict extends Error {
  override name = 'WebhookEndpointConflict';
}

const ID = /^we_[0-9a-f]{16}$/;
const seconds = (ms: number) => Math.floor(ms / 1000);

export const isWebhookEndpointId = (id: string) => ID.test(id);

export function publicView({ secret: _, previous_secret, ...endpoint }: WebhookEndpointRecord): WebhookEndpoint {
  return { ...endpoint, previous_secret_expires_at: previous_secret?.expires_at ?? null };
}

/** The secrets that sign at `now` (ms): the current one, and the previous one during its grace period. */
export function signingSecrets(record: WebhookEndpointRecord, now: number): string[] {
  const previous = record.previous_secret;
  return previous && previous.expires_at > seconds(now) ? [record.secret, previous.secret] : [record.secret];
}

export class WebhookStore {
  constructor(
    private readonly store: ObjectStore,
    private readonly now: () => number = Date.now,
  ) {}

  private key(tenant: string, id: string) {
    return objectKey('tenants', tenant, 'webhooks', `${id}.json`);
  }

  /** A new endpoint; its secret is returned here and by `rotate` only. */
  async create(tenant: string, fields: NewWebhookEndpoint, by: string): Promise<WebhookEndpointRecord> {
    const record: WebhookEndpointRecord = {
      id: `we_${randomBytes(8).toString('hex')}`,
      object: 'webhook_endpoint',
      tenant,
      url: fields.url,
      events: WEBHOOK_EVENT_TYPES.filter((type) => !fields.events || fields.events.includes(type)),
      description: fields.description,
      allow_private: fields.allow_private,
      created_at: seconds(this.now()),
      created_by: by,
      rotated_at: null,
      secret: newWebhookSecret(),
      previous_secret: null,
    };
    await this.store.put(this.key(tenant, record.id), JSON.stringify(record, null, 2), {
      contentType: 'application/json',
      ifAbsent: true,
    });
    return record;
  }

  /** The endpoint with its secrets; undefined when the tenant has none of this id. */
  async get(tenant: string, id: string): Promise<WebhookEndpointRecord | undefined> {
    return (await this.read(tenant, id))?.record;
  }

  async list(tenant: string): Promise<WebhookEndpointRecord[]> {
    const keys = await this.store.list(`${objectKey('tenants', tenant, 'webhooks')}/`);
    const records = await Promise.all(
      keys.map((key) => this.store.getJson<WebhookEndpointRecord>(parseObjectKey(key)).catch(missingIsUndefined)),
    );
    return records.filter((r) => r !== undefined).sort((a, b) => a.created_at - b.created_at || cmp(a.id, b.id));
  }

  /** The ids of the tenant's endpoints that take events of `type`. */
  async subscribed(tenant: string, type: WebhookEventType): Promise<string[]> {
    return (await this.list(tenant)).filter((r) => r.events.includes(type)).map((r) => r.id);
  }

  /** Removes the endpoint; the removed one, or undefined when there was none. */
  async delete(tenant: string, id: string): Promise<WebhookEndpointRecord | undefined> {
    const record = await this.get(tenant, id);
    if (record) await this.store.delete(this.key(tenant, id));
    return record;
  }

  /** A new secret; the old one keeps signing for `graceSeconds` (0: it stops at once). */
  async rotate(tenant: string, id: string, graceSeconds: number): Promise<WebhookEndpointRecord | undefined> {
    const found = await this.read(tenant, id);
    if (!found) return undefined;
    const now = seconds(this.now());
    const record: WebhookEndpointRecord = {
      ...found.record,
      rotated_at: now,
      secret: newWebhookSecret(),
      previous_secret: graceSeconds > 0 ? { secret: found.record.secret, expires_at: now + graceSeconds } : null,
    };
    try {
      await this.store.put(this.key(tenant, id), JSON.stringify(record, null, 2), {
        contentType: 'application/json',
        ifMatch: found.etag,
      });
    } catch (error) {
      if (error instanceof PreconditionFailed) {
        throw new WebhookEndpointConflict(`webhook endpoint ${id} changed meanwhile; try again`);
      }
      throw error;
    }
    return record;
  }

  private async read(tenant: string, id: string) {
    if (!isWebhookEndpointId(id)) return undefined;
    try {
      const { bytes, etag } = await this.store.get(this.key(tenant, id));
      return { record: JSON.parse(Buffer.from(bytes).toString('utf8')) as WebhookEndpointRecord, etag };
    } catch (error) {
      return missingIsUndefined(error);
    }
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function missingIsUndefined(error: unknown): undefined {
  if (error instanceof ObjectNotFound) return undefined;
  throw error;
}
