import { Context, ApplicationFailure } from '@temporalio/activity';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import type { ObjectStore } from '../core/object-store.ts';
import {
  InvalidLedgerInput,
  checkScope,
  parseAppendInput,
  type AppendInput,
  type LedgerEntry,
} from '../core/ledger/entry.ts';
import { Ledger } from '../core/ledger/ledger.ts';
import { LEDGER_APPEND_UPDATE, LEDGER_QUEUE, LEDGER_WRITER_WORKFLOW, ledgerWriterId } from '../core/ledger/writer.ts';

// The ledger as Temporal activities. A job workflow appends with `appendLedgerEntry`, which hands the entry to the
// scope's ledger writer workflow (core/ledger/writer.ts says why); the writer runs `readLedgerHead` and
// `appendLedgerEntriesAfter`, one batch at a time. Workflows take `entry.ts` from their deterministic clock
// (`Date.now()` inside a workflow), so a retried activity carries the same fields and the ledger records them once.

export type AppendLedgerEntryInput = { scope: string; entry: AppendInput };
export type AppendLedgerEntriesAfterInput = { scope: string; head: LedgerEntry | null; entries: AppendInput[] };

/**
 * Appends through the scope's writer on `taskQueue`, starting the writer when none runs. `signal` gives up the wait
 * for the writer's answer (the entry may still be written: a retry with the same fields is recorded once).
 */
export async function appendThroughWriter(
  client: Client,
  taskQueue: string,
  scope: string,
  entry: AppendInput,
  signal?: AbortSignal,
): Promise<LedgerEntry> {
  checkScope(scope);
  parseAppendInput(entry); // refused here, not in the writer
  type Writer = (input: { scope: string }) => Promise<void>;
  const append = () =>
    client.workflow.executeUpdateWithStart<Writer, LedgerEntry, [AppendInput]>(LEDGER_APPEND_UPDATE, {
      args: [entry],
      startWorkflowOperation: new WithStartWorkflowOperation<Writer>(LEDGER_WRITER_WORKFLOW, {
        workflowId: ledgerWriterId(taskQueue, scope),
        taskQueue,
        args: [{ scope }],
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    });
  return signal ? abandonedOnAbort(append(), signal) : append();
}

/**
 * `promise`, or its rejection with the signal's reason once `signal` aborts. The client's own abort (withAbortSignal)
 * does not reach an update's wait for its outcome on the worker's connection (seen: still waiting a minute after the
 * abort), so the wait is left behind instead; it ends when the worker closes its connection.
 */
function abandonedOnAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

/**
 * `ledgerQueue`: the writers' task queue, with the deployment's prefix. `temporal`: how `appendLedgerEntry` reaches
 * Temporal and what cancels its wait; the worker's own client and the attempt's cancellation, unless a test calls
 * the activity outside a worker. A `cpu` worker serves the writers' queue too: when it shuts down, an append in
 * flight loses its writer, and only the cancellation ends its wait (the server retries it on another worker).
 */
export function createLedgerActivities(
  store: ObjectStore,
  ledgerQueue = LEDGER_QUEUE,
  temporal: () => { client: Client; signal?: AbortSignal } = () => ({
    client: Context.current().client,
    signal: Context.current().cancellationSignal,
  }),
) {
  const ledger = new Ledger(store);
  const refusals = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      // The caller's mistake: retrying cannot help.
      if (error instanceof InvalidLedgerInput) throw ApplicationFailure.nonRetryable(error.message, error.name);
      throw error;
    }
  };
  return {
    appendLedgerEntry: ({ scope, entry }: AppendLedgerEntryInput): Promise<LedgerEntry> =>
      refusals(() => {
        const { client, signal } = temporal();
        return appendThroughWriter(client, ledgerQueue, scope, entry, signal);
      }),

    /** The writer's read of the head when it starts. */
    readLedgerHead: (scope: string): Promise<LedgerEntry | null> => ledger.head(scope),

    /**
     * The writer's appends, each after the one before, the first after `head`. Deterministic in its input: a retried
     * or late attempt writes the same bytes to the same keys, or finds them there and returns them.
     */
    appendLedgerEntriesAfter: ({ scope, head, entries }: AppendLedgerEntriesAfterInput): Promise<LedgerEntry[]> =>
      refusals(async () => {
        const written: LedgerEntry[] = [];
        let last = head;
        for (const entry of entries) written.push((last = await ledger.appendAfter(scope, last, entry)));
        return written;
      }),
  };
}
