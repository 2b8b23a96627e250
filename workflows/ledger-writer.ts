// One tenant's ledger writer: every append to the scope's ledger, from the API and from every worker, arrives here
// as an update and is written one at a time, each after the entry before it. Temporal runs at most one execution per
// workflow id, so a scope has one writer however many processes and machines append: the chain cannot fork. (The
// S3 server's create-if-absent alone cannot promise that; see core/ledger/writer.ts for the measurements.)
//
// The names here are spelled again in core/ledger/writer.ts, which the API and the activities use to reach this
// workflow (workflow code may import only types from outside workflows/).
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineUpdate,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { AppendInput, LedgerEntry } from '../core/ledger/entry.ts';

export const ledgerAppendUpdate = defineUpdate<LedgerEntry, [AppendInput]>('ledgerAppend');

export type LedgerWriterInput = {
  scope: string;
  /** The last entry, carried over by continue-as-new; undefined: read it from S3 before the first append. */
  head?: LedgerEntry | null;
  /** The latest appends, carried over by continue-as-new, so a retry arriving in the next run is still known. */
  recent?: Written[];
};

/** An append as it arrived (JSON) and the entry it became. */
type Written = [request: string, entry: LedgerEntry];

/** A writer with nothing to do for this long ends; the next append starts it again (reading the head from S3). */
const IDLE = '10 minutes';
/** Appends per run before it continues as new, so that its history stays short. */
const APPENDS_PER_RUN = 500;
/** Appends written by one activity: those that arrived while the one before ran. */
const MAX_BATCH = 100;
/**
 * Appends remembered to answer a repeat. A job's `appendLedgerEntry` activity whose attempt timed out while its
 * update waited (a busy writer) is retried with the same entry (its fields come from the workflow's deterministic
 * clock); the first update may still have been written. Measured before: 3 duplicates in 50 jobs under load.
 */
const RECENT = 200;

const { readLedgerHead, appendLedgerEntriesAfter } = proxyActivities<
  Pick<Activities, 'readLedgerHead' | 'appendLedgerEntriesAfter'>
>({
  startToCloseTimeout: '1 minute',
  // An entry the ledger refuses is the caller's bug (the clients check entries before sending them, so this is
  // not expected; it fails every append of the batch); anything else (S3 down) is worth waiting out.
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['InvalidLedgerInput'] },
});

type Pending = { entry: AppendInput; written: (entry: LedgerEntry) => void; failed: (error: unknown) => void };

export async function ledgerWriter({ scope, head: carried, recent: carriedRecent }: LedgerWriterInput): Promise<void> {
  let head = carried;
  let appends = 0;
  // Appends in arrival order; the loop below writes them, in batches of those that arrived meanwhile.
  const pending: Pending[] = [];
  // Runs that started before repeats were answered record no marker and write every append, as they did.
  const answersRepeats = patched('ledger-repeats');
  const recent = new Map<string, LedgerEntry>(carriedRecent ?? []);
  const remember = (request: string, entry: LedgerEntry) => {
    recent.delete(request);
    recent.set(request, entry);
    if (recent.size > RECENT) recent.delete(recent.keys().next().value!);
  };
  /** The entry a repeat of `request` gets: written before, or being written now with its first arrival. */
  const repeatOf = (request: string): Promise<LedgerEntry> | undefined => {
    const written = recent.get(request);
    if (written) return Promise.resolve(written);
    const first = pending.find((p) => JSON.stringify(p.entry) === request);
    return (
      first &&
      new Promise<LedgerEntry>((resolve, reject) => {
        const { written: done, failed } = first;
        first.written = (entry) => (done(entry), resolve(entry));
        first.failed = (error) => (failed(error), reject(error));
      })
    );
  };

  setHandler(ledgerAppendUpdate, (entry) => {
    const repeat = answersRepeats ? repeatOf(JSON.stringify(entry)) : undefined;
    return repeat ?? new Promise<LedgerEntry>((written, failed) => pending.push({ entry, written, failed }));
  });

  const full = () => appends >= APPENDS_PER_RUN || workflowInfo().continueAsNewSuggested;
  for (;;) {
    if (pending.length === 0) {
      if (full()) break;
      // Idle for IDLE with nothing pending: end (an append arriving now starts the next run).
      if (!(await condition(() => pending.length > 0, IDLE))) return;
    }
    const batch = pending.splice(0, MAX_BATCH);
    try {
      if (head === undefined) head = await readLedgerHead(scope);
      // Deterministic in (head, entries): a retried or late attempt writes the same bytes to the same keys.
      const written = await appendLedgerEntriesAfter({ scope, head, entries: batch.map((p) => p.entry) });
      written.forEach((entry, i) => {
        if (answersRepeats) remember(JSON.stringify(batch[i].entry), entry);
        batch[i].written(entry);
      });
      head = written.at(-1) ?? head;
      appends += batch.length;
    } catch (error) {
      for (const p of batch) p.failed(error);
    }
  }
  // Nothing is pending here: every accepted append has its answer before the run continues as new.
  await condition(allHandlersFinished);
  await continueAsNew<typeof ledgerWriter>({ scope, head, ...(answersRepeats ? { recent: [...recent] } : {}) });
}
