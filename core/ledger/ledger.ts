import { mapLimited } from '../map-limited.ts';
import { ObjectNotFound, parseObjectKey, type ObjectStore } from '../object-store.ts';
import { canonicalJson } from './canonical.ts';
import { verifyChain, type Anchor, type StoredObject, type VerifyReport } from './chain.ts';
import { createOnce, serialised } from './create-once.ts';
import { LedgerIndex, type Facets } from './index.ts';
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

  private readonly index: LedgerIndex;
  /** Scopes whose index this instance has seen complete: it stays so (every append indexes itself). */
  private readonly indexed = new Set<string>();

  constructor(private readonly store: ObjectStore) {
    this.index = new LedgerIndex(store);
  }

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
      await this.index.add(scope, entry.seq, entry);
      // A scope that starts with the index is indexed whole: no first read needs to build it.
      if (entry.seq === 1) await this.index.markComplete(scope, 0);
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

  /**
   * The entries of `scope` in seq order, optionally only those about `subject`, with `action`, or after seq `after`.
   * A filtered read lists the index (./index.ts) and reads only the entries it names.
   */
  async list(scope: string, filter: Facets & { after?: number } = {}): Promise<LedgerEntry[]> {
    const { subject, action, after = 0 } = filter;
    const matches = (e: LedgerEntry) =>
      e.seq > after &&
      (subject === undefined || e.subject === subject) &&
      (action === undefined || e.action === action);
    if (subject === undefined && action === undefined) return (await this.entries(scope)).filter(matches);
    if (!this.indexed.has(scope)) {
      if (!(await this.index.complete(scope))) await this.buildIndex(scope);
      this.indexed.add(scope);
    }
    const seqs = await this.index.seqs(scope, { subject, action }, after);
    const found = await mapLimited(seqs, READ_CONCURRENCY, (seq) => this.readIfThere(scope, seq));
    return found.filter((e): e is LedgerEntry => e !== undefined && matches(e));
  }

  /** Walks the chain and names every altered, missing, reordered or inserted entry. See chain.ts. */
  async verify(scope: string, options: { anchor?: Anchor } = {}): Promise<VerifyReport> {
    return verifyChain(scope, await this.readAll(scope), options.anchor);
  }

  /** The scope's entries as JSON Lines of canonical JSON: the bytes each hash is computed from, plus `hash`. */
  async export(scope: string): Promise<string> {
    return (await this.list(scope)).map((entry) => canonicalJson(entry) + '\n').join('');
  }

  /** Indexes every entry of a scope written before the index existed, once. */
  private async buildIndex(scope: string): Promise<void> {
    const entries = await this.entries(scope);
    await mapLimited(entries, READ_CONCURRENCY, (entry) => this.index.add(scope, entry.seq, entry));
    await this.index.markComplete(scope, entries.at(-1)?.seq ?? 0);
  }

  /** Every well-formed entry of the scope, in seq order. */
  private async entries(scope: string): Promise<LedgerEntry[]> {
    return (await this.readAll(scope)).flatMap(({ seq, body }) => {
      const parsed = ledgerEntrySchema.safeParse(body);
      return seq !== undefined && parsed.success ? [parsed.data as LedgerEntry] : [];
    });
  }

  /** The entry at `seq` when there is a well-formed one: an indexed seq whose append lost or never finished has none. */
  private async readIfThere(scope: string, seq: number): Promise<LedgerEntry | undefined> {
    try {
      const parsed = ledgerEntrySchema.safeParse(
        parseJson((await this.store.get(parseObjectKey(entryKey(scope, seq)))).bytes),
      );
      return parsed.success ? (parsed.data as LedgerEntry) : undefined;
    } catch (error) {
      if (error instanceof ObjectNotFound) return undefined;
      throw error;
    }
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
    return mapLimited(await this.store.list(prefix), READ_CONCURRENCY, async (key) => {
      const seq = seqOfKey(prefix, key);
      const body = seq === undefined ? undefined : parseJson((await this.store.get(parseObjectKey(key))).bytes);
      return { key, seq, body };
    });
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
