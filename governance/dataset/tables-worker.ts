import { workerData } from 'node:worker_threads';
import { DuplicateTables } from './duplicate-tables.ts';
import type { Hash64 } from './hash64.ts';
import {
  Command,
  DONE,
  FAILED,
  HEADER_WORDS,
  LABEL,
  NEAR,
  RECORD_WORDS,
  SLOT_WORDS,
  SLOTS,
  WRITTEN,
  type TablesReply,
  type TablesWorkerData,
} from './tables-ring.ts';

// The duplicate tables' thread: empties the ring of slots (tables-ring.ts) in order, into one DuplicateTables for
// the whole validation, until told to release them. A failure (a spill that cannot be written) is posted to the
// main thread, which throws it from the scan. It runs bundled (gen/tables-worker.mjs, tables-worker.build.ts):
// after a change here or in what it imports, `npm run gen:tables-worker`.

const { control: controlBuffer, slots: slotsBuffer, port, options } = workerData as TablesWorkerData;
const control = new Int32Array(controlBuffer);
const words = new Uint32Array(slotsBuffer);
const tables = new DuplicateTables(options);
const exact: Hash64 = { hi: 0, lo: 0 };
const near: Hash64 = { hi: 0, lo: 0 };

try {
  for (let done = 0; ;) {
    while (Atomics.load(control, WRITTEN) === done) Atomics.wait(control, WRITTEN, done);
    const slot = (done % SLOTS) * SLOT_WORDS;
    const command = words[slot];
    if (command === Command.Records) checkRecords(slot + HEADER_WORDS, words[slot + 1]);
    else if (command === Command.StartTrain || command === Command.StartHeld)
      tables.startFile(command === Command.StartHeld);
    else if (command === Command.EndFile) port.postMessage({ findings: tables.endFile() } satisfies TablesReply);
    else tables.release();
    Atomics.store(control, DONE, ++done);
    Atomics.notify(control, DONE);
    if (command === Command.Release) break;
  }
} catch (error) {
  port.postMessage({ error } satisfies TablesReply);
  Atomics.store(control, FAILED, 1);
  Atomics.notify(control, DONE);
  // File descriptors are the process's, not the thread's: the spill files are closed here. A second failure in
  // doing so has no one to go to; the first is reported.
  try {
    tables.release();
  } catch {}
}
port.close();

function checkRecords(first: number, count: number): void {
  for (let at = first, end = first + count * RECORD_WORDS; at < end; at += RECORD_WORDS) {
    const flags = words[at + 1];
    exact.hi = words[at + 2];
    exact.lo = words[at + 3];
    near.hi = words[at + 4];
    near.lo = words[at + 5];
    tables.check(words[at], exact, flags & NEAR ? near : undefined, flags & LABEL ? words[at + 6] : undefined);
  }
}
