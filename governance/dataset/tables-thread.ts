import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { trainWorkspaceBytes, type TableChecks, type TableFindings, type TablesOptions } from './duplicate-tables.ts';
import type { Hash64 } from './hash64.ts';
import {
  Command,
  CONTROL_WORDS,
  DONE,
  FAILED,
  HEADER_WORDS,
  LABEL,
  NEAR,
  RECORD_WORDS,
  SLOT_RECORDS,
  SLOT_WORDS,
  SLOTS,
  WRITTEN,
  type TablesReply,
  type TablesWorkerData,
} from './tables-ring.ts';

// The duplicate tables on a second thread (tables-worker.ts), so that a large validation uses both cores: the main
// thread reads, parses and hashes records while the thread adds their hashes to the tables, which on short records
// is most of the work left (docs/VALIDATION.md, "Memory and speed"). The scan is synchronous, so the two meet
// through shared memory (tables-ring.ts): a ring of slots the main thread fills with records (or a command) and the
// thread empties in order. The main thread waits (Atomics.wait) only when every slot is full, and for a file's
// findings, which the thread posts on a port the main thread reads synchronously.

/**
 * The thread runs tables-worker.ts bundled into plain JavaScript (tables-worker.build.ts): a thread that loads
 * TypeScript itself, through tsx's loader or Node's own type stripping, takes about 26 MiB, one that runs plain
 * JavaScript about 8.
 */
const WORKER_ENTRY = new URL('./gen/tables-worker.mjs', import.meta.url);

export class TablesThread implements TableChecks {
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS));
  private readonly slots = new Uint32Array(new SharedArrayBuffer(4 * SLOTS * SLOT_WORDS));
  private readonly port: MessagePort;
  private readonly worker: Worker;
  private written = 0;
  /** The slot being filled with records (its first word), or -1. */
  private slot = -1;
  private records = 0;
  private released = false;

  constructor(options: TablesOptions) {
    // A thread that cannot load its module would leave the scan waiting on it.
    if (!existsSync(WORKER_ENTRY)) {
      throw new Error(`${fileURLToPath(WORKER_ENTRY)} is missing: run npm run gen:tables-worker`);
    }
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    // The training tables' working memory (about 9 MiB a table) is allocated here, not on the thread: memory the
    // thread allocates stays with its malloc arena once freed, and the mislabel check, which runs next on this
    // thread, cannot use it (11-18 MiB less at the scan's end, 7-26 MiB less at the check's peak, measured). It is
    // handed over (transferred), so that it goes when the thread does, not at this thread's next collection.
    const bytes = trainWorkspaceBytes(options);
    const workspaces = { exact: new ArrayBuffer(bytes), near: new ArrayBuffer(bytes) };
    const workerData: TablesWorkerData = {
      control: this.control.buffer as SharedArrayBuffer,
      slots: this.slots.buffer as SharedArrayBuffer,
      port: port2,
      options: { ...options, workspaces },
    };
    // The thread allocates next to nothing per record: a small young generation.
    const resourceLimits = { maxYoungGenerationSizeMb: 2 };
    this.worker = new Worker(WORKER_ENTRY, {
      workerData,
      transferList: [port2, workspaces.exact, workspaces.near],
      resourceLimits,
    });
    this.worker.unref();
    this.port.unref();
  }

  startFile(held: boolean): void {
    this.command(held ? Command.StartHeld : Command.StartTrain);
  }

  check(line: number, exact: Hash64, near: Hash64 | undefined, labelId: number | undefined): void {
    if (this.slot < 0) this.slot = this.acquire();
    const at = this.slot + HEADER_WORDS + this.records * RECORD_WORDS;
    const words = this.slots;
    words[at] = line;
    words[at + 1] = (near ? NEAR : 0) | (labelId !== undefined ? LABEL : 0);
    words[at + 2] = exact.hi;
    words[at + 3] = exact.lo;
    if (near) {
      words[at + 4] = near.hi;
      words[at + 5] = near.lo;
    }
    if (labelId !== undefined) words[at + 6] = labelId;
    if (++this.records === SLOT_RECORDS) this.publishRecords();
  }

  endFile(): TableFindings {
    this.command(Command.EndFile);
    return this.reply();
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    // After a failure the worker has stopped reading: nothing more is sent to it.
    if (Atomics.load(this.control, FAILED) === 0) this.command(Command.Release);
    void this.worker.terminate();
    this.port.close();
  }

  private command(command: Command): void {
    this.publishRecords();
    const slot = this.acquire();
    this.slots[slot] = command;
    this.publish();
  }

  private publishRecords(): void {
    if (this.slot < 0) return;
    this.slots[this.slot] = Command.Records;
    this.slots[this.slot + 1] = this.records;
    this.slot = -1;
    this.records = 0;
    this.publish();
  }

  private publish(): void {
    this.written += 1;
    Atomics.store(this.control, WRITTEN, this.written);
    Atomics.notify(this.control, WRITTEN);
  }

  /** The next free slot's first word, once the worker has emptied it. */
  private acquire(): number {
    for (;;) {
      const done = Atomics.load(this.control, DONE);
      if (this.written - done < SLOTS) return (this.written % SLOTS) * SLOT_WORDS;
      this.throwIfFailed();
      Atomics.wait(this.control, DONE, done, 100);
    }
  }

  /** Waits until the worker has done everything sent, and takes its reply. */
  private reply(): TableFindings {
    for (;;) {
      const done = Atomics.load(this.control, DONE);
      if (done === this.written) break;
      this.throwIfFailed();
      Atomics.wait(this.control, DONE, done, 100);
    }
    const reply = receiveMessageOnPort(this.port)?.message as TablesReply | undefined;
    if (!reply || 'error' in reply) throw this.failure(reply);
    return reply.findings;
  }

  private throwIfFailed(): void {
    if (Atomics.load(this.control, FAILED) !== 0) throw this.failure(receiveMessageOnPort(this.port)?.message);
  }

  private failure(reply: TablesReply | undefined): unknown {
    return reply && 'error' in reply ? reply.error : new Error('the duplicate tables thread stopped without a reply');
  }
}
