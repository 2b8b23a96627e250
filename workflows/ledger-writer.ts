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
};

/** A writer with nothing to do for this long ends; the next append starts it again (reading the head from S3). */
const IDLE = '10 minutes';
/** Appends per run before it continues as new, so that its history stays short. */
const APPENDS_PER_RUN = 500;

const { readLedgerHead, appendLedgerEntryAfter } = proxyActivities<
  Pick<Activities, 'readLedgerHead' | 'appendLedgerEntryAfter'>
>({
  startToCloseTimeout: '1 minute',
  // An entry the ledger refuses is the caller's bug; anything else (S3 down) is worth waiting out.
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['InvalidLedgerInput'] },
});

export async function ledgerWriter({ scope, head: carried }: LedgerWriterInput): Promise<void> {
  let head = carried;
  let appends = 0;
  let arrivals = 0;
  // Handlers run concurrently; this promise chain runs their appends one after another, in arrival order.
  let turn: Promise<unknown> = Promise.resolve();

  setHandler(ledgerAppendUpdate, (entry) => {
    arrivals++;
    const mine = turn.then(async () => {
      if (head === undefined) head = await readLedgerHead(scope);
      // The activity is deterministic in (head, entry): a retried or late attempt writes the same bytes.
      head = await appendLedgerEntryAfter({ scope, head, entry });
      appends++;
      return head;
    });
    turn = mine.catch(() => {});
    return mine;
  });

  const full = () => appends >= APPENDS_PER_RUN || workflowInfo().continueAsNewSuggested;
  for (;;) {
    const seen = arrivals;
    const woke = await condition(() => arrivals !== seen || full(), IDLE);
    if (full()) break;
    if (woke) continue;
    // Idle: end once the appends in hand are written, unless another arrived meanwhile.
    await condition(allHandlersFinished);
    if (arrivals === seen) return;
  }
  // Appends accepted before the run ends are finished first (Temporal does not carry them into the next run).
  await condition(allHandlersFinished);
  await continueAsNew<typeof ledgerWriter>({ scope, head });
}
