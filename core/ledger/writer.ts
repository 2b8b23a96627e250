import { checkScope, type AppendInput, type LedgerEntry } from './entry.ts';

// How appends reach a scope's ledger from more than one process: through the scope's ledger writer, a Temporal
// workflow (workflows/ledger-writer.ts) that takes each append as an update and writes them one at a time.
//
// Why not S3 alone: a chain that cannot fork needs one winner per seq, i.e. an atomic create-if-absent. AWS S3's
// If-None-Match: * is atomic; Versity Gateway 1.7.0's (posix backend, the server the stack runs) checks for the key
// and then renames its temp file over it, so overlapping creates can both succeed and the later one silently
// replaces the earlier entry. Measured: 8 concurrent creates of one new key, 50 trials: 7 trials with two or more
// 200s. A lock or lease object needs the same atomic create, and a read-back after a "settle delay" only trades the
// race for a timing assumption. Temporal does give the one primitive needed: at most one open execution per workflow
// id, decided by its database. So each scope's appends are serialised by one workflow, whichever process sends
// them, and the entries in S3 keep their layout (ledger/<scope>/<seq>.json): standard S3 tools still read and
// verify them, and ledgers written before this still are the same ledgers (the writer reads the head on start).
//
// Its names, spelled again in workflows/ledger-writer.ts (workflow code imports only types from here).
export const LEDGER_WRITER_WORKFLOW = 'ledgerWriter';
export const LEDGER_APPEND_UPDATE = 'ledgerAppend';
/** The task queue the writers run on, after the deployment's queue prefix. */
export const LEDGER_QUEUE = 'ledger';

/**
 * One writer per task queue and scope: deployments sharing a namespace (queue prefixes) keep theirs apart. No '/'
 * in it: Temporal's HTTP API (the edge entry's transport) does not route a workflow id with an escaped slash (404).
 */
export const ledgerWriterId = (taskQueue: string, scope: string) => `${taskQueue}--${checkScope(scope)}`;

/** What appends to a tenant's ledger: the writer workflow's clients (api/temporal/ledger.ts, activities/ledger.ts). */
export type LedgerAppender = { append(scope: string, input: AppendInput): Promise<LedgerEntry> };
