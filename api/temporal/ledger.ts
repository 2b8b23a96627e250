// Appends to a tenant's ledger through its ledger writer workflow (core/ledger/writer.ts says why), over either
// transport's port: the API writes key, file, model and schedule changes to the ledger this way.
import { checkScope, parseAppendInput, type AppendInput, type LedgerEntry } from '../../core/ledger/entry.ts';
import {
  LEDGER_APPEND_UPDATE,
  LEDGER_WRITER_WORKFLOW,
  ledgerWriterId,
  type LedgerAppender,
} from '../../core/ledger/writer.ts';
import { isFailure, type TemporalPort } from './port.ts';

/** Starts that find the writer gone again (it ends when idle) before the append is retried no more. */
const MAX_STARTS = 3;

export class LedgerService implements LedgerAppender {
  constructor(
    private readonly port: TemporalPort,
    /** The writers' task queue. */
    private readonly taskQueue: string,
  ) {}

  async append(scope: string, input: AppendInput): Promise<LedgerEntry> {
    checkScope(scope);
    parseAppendInput(input); // refused here, not in the writer
    const workflowId = ledgerWriterId(this.taskQueue, scope);
    // Update first (the writer usually runs); when there is none, start it and update again. An update-with-start
    // would do both in one call, but the HTTP port has no such call; the loop covers a writer ending in between.
    for (let starts = 0; ; starts++) {
      try {
        return (await this.port.updateWorkflow(workflowId, LEDGER_APPEND_UPDATE, input)) as LedgerEntry;
      } catch (error) {
        if (!isFailure(error, 'not-found') || starts === MAX_STARTS) throw error;
      }
      await this.port
        .startWorkflow({
          workflowId,
          workflowType: LEDGER_WRITER_WORKFLOW,
          taskQueue: this.taskQueue,
          args: [{ scope }],
          memo: {},
          searchAttributes: [],
          reuseClosedId: true,
        })
        .catch((error: unknown) => {
          if (!isFailure(error, 'already-exists')) throw error;
        });
    }
  }
}
