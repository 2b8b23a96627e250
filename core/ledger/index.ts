import { createHash } from 'node:crypto';
import { ObjectNotFound, objectKey, parseObjectKey, type ObjectStore } from '../object-store.ts';
import { checkScope, SEQ_DIGITS } from './entry.ts';

// Which seqs of a scope are about one subject or carry one action, so that a job's events, a job's audit trail and
// its live stream read that job's entries, not the whole ledger (10,000 entries a tenant is ordinary):
//   ledger-index/<scope>/subject/<sha256(subject), 32 hex>/<seq, 12 digits>   (empty objects)
//   ledger-index/<scope>/action/<action>/<seq, 12 digits>
//   ledger-index/<scope>/complete.json   (written once every entry before it had been indexed)
// An append writes its index keys before its entry, so the index is a superset of the chain: a seq an append lost
// to another writer, or whose entry a crash never wrote, is indexed too, and readers keep only the entries that
// are there and match. The chain stays the record; the index only says where to look, and verify ignores it.

export const indexPrefix = (scope: string) => `ledger-index/${checkScope(scope)}/`;
const completeKey = (scope: string) => objectKey('ledger-index', checkScope(scope), 'complete.json');

/** What an index lookup filters on; at least one of them. */
export type Facets = { subject?: string; action?: string };

const subjectFolder = (subject: string) => createHash('sha256').update(subject).digest('hex').slice(0, 32);

/** The index folder to list for `facets`: the subject's when given (fewer entries than any action's). */
function folder(scope: string, { subject, action }: Facets): string {
  if (subject !== undefined) return `${indexPrefix(scope)}subject/${subjectFolder(subject)}/`;
  // Actions are dotted lowercase names (entry.ts), safe as a key segment.
  return `${indexPrefix(scope)}action/${action}/`;
}

const seqKey = (prefix: string, seq: number) => `${prefix}${String(seq).padStart(SEQ_DIGITS, '0')}`;

export class LedgerIndex {
  constructor(private readonly store: ObjectStore) {}

  /** Marks `seq` as holding an entry about `subject` with `action`: called before the entry is created. */
  async add(scope: string, seq: number, entry: { subject: string; action: string }): Promise<void> {
    await Promise.all(
      [folder(scope, { subject: entry.subject }), folder(scope, { action: entry.action })].map((prefix) =>
        this.store.put(parseObjectKey(seqKey(prefix, seq)), ''),
      ),
    );
  }

  /** Whether every entry of the scope is indexed (the index was built, or the scope began with it). */
  async complete(scope: string): Promise<boolean> {
    return this.store.head(completeKey(scope)).then(
      () => true,
      (error: unknown) => {
        if (error instanceof ObjectNotFound) return false;
        throw error;
      },
    );
  }

  async markComplete(scope: string, through: number): Promise<void> {
    await this.store.putJson(completeKey(scope), { through });
  }

  /** The seqs indexed under `facets` after `after`, ascending: candidates, which the caller reads and checks. */
  async seqs(scope: string, facets: Facets, after = 0): Promise<number[]> {
    const prefix = folder(scope, facets);
    const keys = await this.store.list(prefix, after > 0 ? { startAfter: seqKey(prefix, after) } : {});
    return keys.flatMap((key) => {
      const digits = key.slice(prefix.length);
      return new RegExp(`^\\d{${SEQ_DIGITS}}$`).test(digits) ? [Number(digits)] : [];
    });
  }
}
