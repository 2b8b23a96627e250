import { parseObjectKey, type ObjectStore } from '../object-store.ts';
import { canonicalJson } from './canonical.ts';
import { verifyChain, type Anchor, type StoredObject, type VerifyReport } from './chain.ts';
import { createOnce, serialised } from './create-once.ts';
import {
  checkScope,
  entryKey,
  ledgerEntrySchema,
  ledgerPrefix,
  parseAppendInput,
  sealEntry,
  seqOfKey,
  type AppendInput,
  type LedgerEntry,
} from './entry.ts';

// The audit ledger: per scope (a tenant), one S3 object per entry at ledger/<scope>/<seq, 12 digits>.json, holding
// the entry's canonical JSON. Entries are only ever created, never replaced; each carries its predecessor's hash.

/** Appends that lose the race for a seq move on to the next; this many losses in a row means something is wrong. */
const MAX_ATTEMPTS = 100;
const READ_CONCURRENCY = 8;

export class LedgerError extends Error {
  override name = 'LedgerError';
}

export class Ledger {
  /** The last entry this instance saw per scope: the next append tries the seq after it first. */
  private readonly heads = new Map<string, LedgerEntry | null>();

  constructor(private readonly store: ObjectStore) {}

  /**
   * Appends an entry and returns it as stored (with seq, prev and hash). Appending the same fields as the
   * current last entry returns that entry instead: an activity retried after a successful append adds nothing.
   *
   * Safe against other appends through this instance only: the S3 server's create-if-absent is not atomic (see
   * create-once.ts), so two processes appending to one scope at once can fork it. Across processes, appends go
   * through the scope's ledger writer workflow (workflows/ledger-writer.ts), which calls `appendAfter` one at a time.
   */
  async append(scope: string, input: AppendInput): Promise<LedgerEntry> {
    checkScope(scope);
    const fields = parseAppendInput(input);
    return serialised(`ledger/${scope}`, async () => {
      const head = this.heads.has(scope) ? this.heads.get(scope)! : await this.head(scope);
      const entry = await this.appendAfter(scope, head, fields);
      this.heads.set(scope, entry);
      return entry;
    });
  }

  /**
   * Appends after `head` (the last entry the caller knows of; null: none). Deterministic in its arguments: a retry
   * with the same `head` and fields writes the same bytes to the same key, or finds them there and returns them.
   * When another writer took the next seq, chains onto its entry.
   */
  async appendAfter(scope: string, head: LedgerEntry | null, input: AppendInput): Promise<LedgerEntry> {
    checkScope(scope);
    const fields = parseAppendInput(input);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (head && canonicalJson(fieldsOf(head)) === canonicalJson(fields)) return head;
      const entry = sealEntry({ ...fields, scope, seq: (head?.seq ?? 0) + 1, prev: head?.hash ?? null });
      const created = await createOnce(this.store, parseObjectKey(entryKey(scope, entry.seq)), canonicalJson(entry));
      if (created) return entry;
      // Another writer holds this seq (or a retry of this call wrote it): chain onto its entry.
      head = await this.read(scope, entry.seq);
    }
    throw new LedgerError(`ledger '${scope}': no free seq after ${MAX_ATTEMPTS} attempts`);
  }

  /** The scope's last entry as stored, or null when it has none. */
  async head(scope: string): Promise<LedgerEntry | null> {
    const prefix = ledgerPrefix(checkScope(scope));
    const last = (await this.store.list(prefix)).reduce((max, key) => Math.max(max, seqOfKey(prefix, key) ?? 0), 0);
    return last === 0 ? null : this.read(scope, last);
  }

  /** The entries of `scope` in seq order, optionally only those about `subject` or with `action`. */
  async list(scope: string, filter: { subject?: string; action?: string } = {}): Promise<LedgerEntry[]> {
    const entries = (await this.readAll(scope)).flatMap(({ seq, body }) => {
      const parsed = ledgerEntrySchema.safeParse(body);
      return seq !== undefined && parsed.success ? [parsed.data as LedgerEntry] : [];
    });
    return entries.filter(
      (e) =>
        (filter.subject === undefined || e.subject === filter.subject) &&
        (filter.action === undefined || e.action === filter.action),
    );
  }

  /** Walks the chain and names every altered, missing, reordered or inserted entry. See chain.ts. */
  async verify(scope: string, options: { anchor?: Anchor } = {}): Promise<VerifyReport> {
    return verifyChain(scope, await this.readAll(scope), options.anchor);
  }

  /** The scope's entries as JSON Lines of canonical JSON: the bytes each hash is computed from, plus `hash`. */
  async export(scope: string): Promise<string> {
    return (await this.list(scope)).map((entry) => canonicalJson(entry) + '\n').join('');
  }

  private async read(scope: string, seq: number): Promise<LedgerEntry> {
    const key = parseObjectKey(entryKey(scope, seq));
    const parsed = ledgerEntrySchema.safeParse(parseJson((await this.store.get(key)).bytes));
    if (!parsed.success) {
      throw new LedgerError(`ledger '${scope}': entry ${seq} is not a valid entry; run verify to see what is wrong`);
    }
    return parsed.data as LedgerEntry;
  }

  private async readAll(scope: string): Promise<StoredObject[]> {
    const prefix = ledgerPrefix(scope);
    const keys = await this.store.list(prefix);
    const objects: StoredObject[] = new Array(keys.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < keys.length; i = next++) {
        const key = keys[i];
        const seq = seqOfKey(prefix, key);
        objects[i] = {
          key,
          seq,
          body: seq === undefined ? undefined : parseJson((await this.store.get(parseObjectKey(key))).bytes),
        };
      }
    };
    await Promise.all(Array.from({ length: READ_CONCURRENCY }, worker));
    return objects;
  }
}

/** What the caller gave: the entry without the fields the ledger adds (canonicalJson leaves out undefined). */
function fieldsOf(entry: LedgerEntry) {
  return { ...entry, scope: undefined, seq: undefined, prev: undefined, hash: undefined };
}

/** Parsed JSON, or the text itself when it is not JSON (verify then reports the entry as malformed). */
function parseJson(bytes: Uint8Array): unknown {
  const text = Buffer.from(bytes).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
