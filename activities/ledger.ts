import { ApplicationFailure } from '@temporalio/activity';
import type { ObjectStore } from '../core/object-store.ts';
import { InvalidLedgerInput, type AppendInput, type LedgerEntry } from '../core/ledger/entry.ts';
import { Ledger } from '../core/ledger/ledger.ts';

// The ledger as a Temporal activity. Workflows take `entry.ts` from their deterministic clock (`Date.now()` inside
// a workflow), so a retried activity carries the same fields and the ledger records them once.

export type AppendLedgerEntryInput = { scope: string; entry: AppendInput };

export function createLedgerActivities(store: ObjectStore) {
  const ledger = new Ledger(store);
  return {
    async appendLedgerEntry({ scope, entry }: AppendLedgerEntryInput): Promise<LedgerEntry> {
      try {
        return await ledger.append(scope, entry);
      } catch (error) {
        // The caller's mistake: retrying cannot help.
        if (error instanceof InvalidLedgerInput) throw ApplicationFailure.nonRetryable(error.message, error.name);
        throw error;
      }
    },
  };
}
