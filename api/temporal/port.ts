// What the jobs and schedules services (./jobs.ts, ./schedules.ts) need of Temporal, in plain values. Two adapters
// implement it: ./grpc.ts over @temporalio/client on Node, ./http.ts over Temporal's HTTP API with nothing but fetch.
// The contract (ids, memo, search attributes, what each failure means to a caller) is the services'; an adapter
// only translates values and names the failures below. Types only from Temporal's packages: nothing here loads one.
import type { WorkflowExecutionStatusName } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';

/** The failures a service answers in its own terms; any other error passes through unchanged. */
export type TemporalFailure =
  /** No workflow or schedule by that id. */
  | 'not-found'
  /** The id is taken (a workflow id is never reused, also after its workflow has ended). */
  | 'already-exists'
  /** The server could not parse what it was given, e.g. a schedule's cron expression. */
  | 'invalid-argument'
  /** The workflow refused an update: its validator or handler threw an ApplicationFailure (the message is its). */
  | 'rejected'
  /** No worker completed an update in time; it may still take effect once one polls. */
  | 'no-answer'
  /** The Temporal server did not answer within the call's deadline, or could not be reached. */
  | 'unavailable';

export class TemporalError extends Error {
  override name = 'TemporalError';
  constructor(
    readonly failure: TemporalFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Whether `error` is a TemporalError for `failure`. */
export function isFailure(error: unknown, failure: TemporalFailure): error is TemporalError {
  return error instanceof TemporalError && error.failure === failure;
}

export type WorkflowStart = {
  workflowId: string;
  workflowType: string;
  taskQueue: string;
  args: unknown[];
  memo: Record<string, unknown>;
  searchAttributes: SearchAttributePair[];
  /** The id may be used again once its last workflow closed (a ledger writer's); otherwise never. */
  reuseClosedId?: boolean;
};

export type WorkflowDescription = {
  workflowType: string;
  status: WorkflowExecutionStatusName;
  startTime: Date;
  closeTime?: Date;
  memo: Record<string, unknown>;
  /** Events in its history so far: 3 or fewer while no worker has completed its first workflow task. */
  historyLength: number;
  /** The latest heartbeat detail of the first pending activity that has one. */
  heartbeat: unknown;
};

export type WorkflowPage = {
  executions: {
    workflowId: string;
    startTime: Date;
    closeTime?: Date;
    memo: Record<string, unknown>;
    searchAttributes: Record<string, unknown>;
  }[];
  /** Absent or empty on the last page. */
  nextPageToken?: Uint8Array;
};

export type HistoryPage = {
  /** How many history events came back: none when a long poll expired with nothing new. */
  events: number;
  /** Pass it back to read on (a long poll once the history is read to its end); absent once the workflow closed. */
  nextPageToken?: Uint8Array;
};

export type ScheduleCreate = {
  scheduleId: string;
  spec: { cron: string } | { intervalSeconds: number };
  /** Runs `workflowType` with the id `workflowId` and the scheduled time appended. */
  action: { workflowType: string; workflowId: string; taskQueue: string; args: unknown[] };
  memo: Record<string, unknown>;
  paused: boolean;
};

export type ScheduleDescription = {
  paused: boolean;
  memo: Record<string, unknown>;
  nextActionTimes: Date[];
  recentActions: { scheduledAt: Date; workflowId: string }[];
};

export interface TemporalPort {
  /** Starts a workflow whose id was never used, or `reuseClosedId` and is not running ('already-exists' otherwise). */
  startWorkflow(start: WorkflowStart): Promise<void>;
  describeWorkflow(workflowId: string): Promise<WorkflowDescription>;
  /** The query's answer; fails when no worker answers within `timeoutMs`. */
  queryWorkflow(workflowId: string, query: string, timeoutMs: number): Promise<unknown>;
  /** A page of visibility's executions matching `query`, newest first. */
  listWorkflows(request: { query: string; pageSize: number; pageToken?: Uint8Array }): Promise<WorkflowPage>;
  /**
   * A page of the workflow's history (the first without a token). Given the token of the page that ended the
   * history so far, the server holds the call (a long poll) until the history gets a new event, or answers with
   * no events once its poll expires (seconds). `signal` gives the call up.
   */
  workflowHistory(workflowId: string, request: { pageToken?: Uint8Array; signal?: AbortSignal }): Promise<HistoryPage>;
  cancelWorkflow(workflowId: string): Promise<void>;
  /** The update's result once a worker completed it; 'rejected' or 'no-answer' as above. */
  updateWorkflow(workflowId: string, update: string, arg: unknown): Promise<unknown>;

  /** Creates a schedule whose runs never overlap: a run still going, also a triggered one, skips the next. */
  createSchedule(schedule: ScheduleCreate): Promise<void>;
  /** Every schedule with the workflow type it starts, from visibility (which lags). */
  listSchedules(): Promise<{ scheduleId: string; workflowType?: string }[]>;
  describeSchedule(scheduleId: string): Promise<ScheduleDescription>;
  pauseSchedule(scheduleId: string, note: string): Promise<void>;
  unpauseSchedule(scheduleId: string, note: string): Promise<void>;
  /** Runs it now, skipped when a run is still going. */
  triggerSchedule(scheduleId: string): Promise<void>;
  deleteSchedule(scheduleId: string): Promise<void>;
}
