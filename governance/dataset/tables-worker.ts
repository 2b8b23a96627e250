import { workerData } from 'node:worker_threads';
import { DuplicateTables } from './duplicate-tables.ts';
import type { Hash64 } from './hash64.ts';
import * as ring from './tables-ring.ts';

// The duplicate tables' thread: empties the ring of slots (tables-ring.ts) in order, into one DuplicateTables for
// the whole validation, until told to release them. A failure (a spill that cannot be written) is posted to the
// main thread, which throws it from the scan. It runs bundled (gen/tables-worker.mjs, tables-worker.build.ts):
// after a change here or in what it imports, `npm run gen:tables-worker`.

const { control: controlBuffer, slots: slotsBuffer, port, options } = workerData as ring.TablesWorkerData;
const control = new Int32Array(controlBuffer);
const words = new Uint32Array(slotsBuffer);
const tables = new DuplicateTables(options);
const exact: Hash64 = { hi: 0, lo: 0 };
const near: Hash64 = { hi: 0, lo: 0 };

try {
  for (let done = 0; ;) {
    while (Atomics.load(control, ring.WRITTEN) === done) Atomics.wait(control, ring.WRITTEN, done);
    const slot = (done % ring.SLOTS) * ring.SLOT_WORDS;
    const command = words[slot];
    if (command === ring.Command.Records) checkRecords(slot + ring.HEADER_WORDS, words[slot + 1]);
    else if (command === ring.Command.StartTrain || command === ring.Command.StartHeld)
      tables.startFile(command === ring.Command.StartHeld);
    else if (command === ring.Command.EndFile)
      port.postMessage({ findings: tables.endFile() } satisfies ring.TablesReply);
    else tables.release();
    Atomics.store(control, ring.DONE, ++done);
    Atomics.notify(control, ring.DONE);
    if (command === ring.Command.Release) break;
  }
} catch (error) {
  port.postMessage({ error } satisfies ring.TablesReply);
  Atomics.store(control, ring.FAILED, 1);
  Atomics.notify(control, ring.DONE);
  // File descriptors are the process's, not the thread's: the spill files are closed here. A second failure in
  // doing so has no one to go to; the first is reported.
  try {
    tables.release();
  } catch {}
}
port.close();

function checkRecords(first: number, count: number): void {
  for (let at = first, end = first + count * ring.RECORD_WORDS; at < end; at += ring.RECORD_WORDS) {
    const flags = words[at + 1];
    exact.hi = words[at + 2];
    exact.lo = words[at + 3];
    near.hi = words[at + 4];
    near.lo = words[at + 5];
    tables.check(
      words[at],
      exact,
      flags & ring.NEAR ? near : undefined,
      flags & ring.LABEL ? words[at + 6] : undefined,
    );
  }
}
