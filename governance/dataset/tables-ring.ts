import type { MessagePort } from 'node:worker_threads';
import type { TableFindings, TablesOptions } from './duplicate-tables.ts';

// The shared memory between the scan and the duplicate tables' thread (tables-thread.ts, tables-worker.ts): a ring
// of SLOTS slots, each holding up to SLOT_RECORDS records or one command, and three control words.

export const SLOTS = 16;
export const SLOT_RECORDS = 8192;
/** A record: line, flags (NEAR, LABEL), exact hi, lo, near hi, lo, label id. */
export const RECORD_WORDS = 7;
/** A slot's header: its command, and the records it holds. */
export const HEADER_WORDS = 2;
export const SLOT_WORDS = HEADER_WORDS + SLOT_RECORDS * RECORD_WORDS;
export const NEAR = 1;
export const LABEL = 2;

export const Command = { Records: 0, StartTrain: 1, StartHeld: 2, EndFile: 3, Release: 4 } as const;
export type Command = (typeof Command)[keyof typeof Command];

/** Control words (Int32, for Atomics): slots published by the scan, slots done by the thread, the thread failed. */
export const WRITTEN = 0;
export const DONE = 1;
export const FAILED = 2;
export const CONTROL_WORDS = 3;

export type TablesWorkerData = {
  control: SharedArrayBuffer;
  slots: SharedArrayBuffer;
  port: MessagePort;
  options: TablesOptions;
};
/** What the thread posts: a file's findings, or the error that stopped it. */
export type TablesReply = { findings: TableFindings } | { error: unknown };
