import { entryHash, ledgerEntrySchema, type LedgerEntry } from './entry.ts';

// Walks a scope's stored entries and names every break: the pure half of `Ledger.verify`, so that the rules can be
// tested on values and the S3 half only fetches.

/** One object found under the scope's prefix: `seq` from its key (undefined: not an entry key), `body` parsed JSON. */
export type StoredObject = { key: string; seq: number | undefined; body: unknown };

export type ProblemKind =
  /** The object is not a ledger entry (not JSON, or fields missing or of the wrong type). */
  | 'malformed'
  /** The content does not hash to the entry's `hash`: a field was edited. */
  | 'altered'
  /** The object holds another seq's (or scope's) entry: entries were moved or swapped. */
  | 'reordered'
  /** A seq between 1 and the last one has no object: an entry was deleted. */
  | 'missing'
  /** `prev` is not the previous entry's hash: an entry was replaced or inserted with a recomputed hash. */
  | 'broken_link'
  /** An object under the prefix whose key is not an entry key. */
  | 'foreign'
  /** The entry the caller holds a hash of (e.g. from a workflow's history) is absent or different: truncation. */
  | 'anchor_mismatch';

export type Problem = { seq: number | null; key?: string; problem: ProblemKind; message: string };

/** An entry's seq and hash: enough to recognise that entry later, as `verifyChain`'s `anchor` does. */
export type Anchor = Pick<LedgerEntry, 'seq' | 'hash'>;

export type VerifyReport = {
  ok: boolean;
  scope: string;
  entries: number;
  /** The last entry as stored; an auditor who records it can later detect truncation by passing it as `anchor`. */
  head: Anchor | null;
  problems: Problem[];
};

export function verifyChain(scope: string, objects: readonly StoredObject[], anchor?: Anchor): VerifyReport {
  const problems: Problem[] = [];
  // Entries that sit where they belong; only these take part in link checks, so one swap is reported once.
  const placed = new Map<number, LedgerEntry>();
  const bySeq = [...objects].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));

  for (const { key, seq, body } of bySeq) {
    if (seq === undefined) {
      problems.push({ seq: null, key, problem: 'foreign', message: `'${key}' is not a ledger entry key` });
      continue;
    }
    const parsed = ledgerEntrySchema.safeParse(body);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const where = first?.path.join('.') || '(root)';
      problems.push({
        seq,
        key,
        problem: 'malformed',
        message: `seq ${seq}: not a ledger entry (${where}: ${first?.message})`,
      });
      continue;
    }
    const entry = parsed.data as LedgerEntry;
    if (entry.seq !== seq || entry.scope !== scope) {
      problems.push({
        seq,
        key,
        problem: 'reordered',
        message: `seq ${seq}: the object holds the entry of seq ${entry.seq} in scope '${entry.scope}'`,
      });
      continue;
    }
    if (entryHash(entry) !== entry.hash) {
      problems.push({ seq, key, problem: 'altered', message: `seq ${seq}: content does not match its hash (edited)` });
    }
    placed.set(seq, entry);
  }

  const last = bySeq.reduce((max, o) => Math.max(max, o.seq ?? 0), 0);
  const present = new Set(bySeq.map((o) => o.seq));
  for (let seq = 1; seq <= last; seq++) {
    if (present.has(seq)) continue;
    let end = seq;
    while (end + 1 <= last && !present.has(end + 1)) end++;
    const which = end === seq ? `entry ${seq} is` : `entries ${seq} to ${end} are`;
    problems.push({ seq, problem: 'missing', message: `${which} missing (deleted)` });
    seq = end;
  }

  for (const [seq, entry] of placed) {
    if (seq === 1) {
      if (entry.prev !== null) {
        problems.push({ seq, problem: 'broken_link', message: 'seq 1: the first entry must have prev null' });
      }
      continue;
    }
    const previous = placed.get(seq - 1);
    if (previous && entry.prev !== previous.hash) {
      problems.push({
        seq,
        problem: 'broken_link',
        message: `seq ${seq}: prev is not the hash of seq ${seq - 1} (an entry was replaced or inserted)`,
      });
    }
  }

  if (anchor) {
    const held = placed.get(anchor.seq);
    if (held?.hash !== anchor.hash) {
      problems.push({
        seq: anchor.seq,
        problem: 'anchor_mismatch',
        message: held
          ? `seq ${anchor.seq}: hash differs from the anchor ${anchor.hash}`
          : `seq ${anchor.seq}: the anchored entry is not in the ledger (truncated?)`,
      });
    }
  }

  problems.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  const head = placed.get(last);
  return {
    ok: problems.length === 0,
    scope,
    entries: objects.filter((o) => o.seq !== undefined).length,
    head: head ? { seq: head.seq, hash: head.hash } : null,
    problems,
  };
}
