// The Temporal port (./port.ts) over Temporal's gRPC client, as the app uses it on Node. It translates values only:
// what they mean to a caller is the services' (./jobs.ts, ./schedules.ts), which the HTTP API adapter (./http.ts)
// serves alike. Kept out of api/app.ts so that the fetch-only entry (api/edge.ts) never loads @temporalio/client
// and @grpc/grpc-js.
import {
  Client,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowUpdateFailedError,
  type ClientInterceptors,
  type ConnectionLike,
} from '@temporalio/client';
import {
  ApplicationFailure,
  defaultPayloadConverter,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
} from '@temporalio/common';
import type { google, temporal } from '@temporalio/proto';
import { defaultApiOptions } from '../app.ts';
import { temporalCheck } from '../readiness.ts';
import { grpcGauges } from './grpc-gauges.ts';
import type { TaskQueues } from './jobs.ts';
import { TemporalError, type TemporalPort } from './port.ts';
import { temporalServices, type TemporalServices } from './services.ts';

/**
 * The jobs and schedules over `connection`; /readyz asks that the namespace exists. `interceptors`: the tracing
 * interceptor when tracing is on (infra/tracing.ts), which puts the request's trace context in what it starts.
 * `statusMaxAgeMs`: how old a job's status may be when served (./jobs.ts).
 */
export function grpcTemporal(
  connection: ConnectionLike,
  namespace: string,
  {
    queues = defaultApiOptions.taskQueues,
    interceptors,
    statusMaxAgeMs,
  }: { queues?: TaskQueues; interceptors?: ClientInterceptors; statusMaxAgeMs?: number } = {},
): TemporalServices {
  const client = new Client({ connection, namespace, interceptors });
  return {
    ...temporalServices(grpcPort(client), temporalCheck(connection, namespace), queues, { statusMaxAgeMs }),
    gauges: grpcGauges(client, queues),
  };
}

export function grpcPort(client: Client): TemporalPort {
  const workflow = (workflowId: string) => client.workflow.getHandle(workflowId);
  const schedule = (scheduleId: string) => client.schedule.getHandle(scheduleId);
  /** A call that must not outlast CALL_DEADLINE_MS: a server that stops answering would otherwise hold it for ever. */
  const bounded = <T>(call: () => Promise<T>): Promise<T> =>
    client.connection.withDeadline(Date.now() + CALL_DEADLINE_MS, call).catch(failed);
  return {
    async startWorkflow({ workflowType, searchAttributes, reuseClosedId, ...options }) {
      await bounded(() =>
        client.workflow.start(workflowType, {
          ...options,
          workflowIdReusePolicy: reuseClosedId
            ? WorkflowIdReusePolicy.ALLOW_DUPLICATE
            : WorkflowIdReusePolicy.REJECT_DUPLICATE,
          typedSearchAttributes: searchAttributes,
        }),
      );
    },

    async describeWorkflow(workflowId) {
      const description = await bounded(() => workflow(workflowId).describe());
      const heartbeat = description.raw.pendingActivities?.find((a) => a.heartbeatDetails?.payloads?.length)
        ?.heartbeatDetails?.payloads?.[0];
      return {
        workflowType: description.type,
        status: description.status.name,
        startTime: description.startTime,
        closeTime: description.closeTime,
        memo: description.memo ?? {},
        historyLength: description.historyLength,
        heartbeat: heartbeat ? defaultPayloadConverter.fromPayload(heartbeat) : undefined,
      };
    },

    queryWorkflow: (workflowId, query, timeoutMs) =>
      client.connection.withDeadline(Date.now() + timeoutMs, () => workflow(workflowId).query(query)),

    async listWorkflows({ query, pageSize, pageToken }) {
      const response = await bounded(() =>
        client.workflowService.listWorkflowExecutions({
          namespace: client.options.namespace,
          query,
          pageSize,
          nextPageToken: pageToken,
        }),
      );
      return {
        executions: (response.executions ?? []).map((execution) => ({
          workflowId: execution.execution?.workflowId ?? '',
          startTime: dateOf(execution.startTime)!,
          closeTime: dateOf(execution.closeTime),
          memo: decoded(execution.memo?.fields),
          searchAttributes: decoded(execution.searchAttributes?.indexedFields),
        })),
        nextPageToken: response.nextPageToken ?? undefined,
      };
    },

    async workflowHistory(workflowId, { pageToken, signal }) {
      const read = () =>
        client.workflowService.getWorkflowExecutionHistory({
          namespace: client.options.namespace,
          execution: { workflowId },
          waitNewEvent: true,
          nextPageToken: pageToken,
        });
      const page = await (signal ? withSignal(client, signal, read) : read()).catch(failed);
      return {
        events: page.history?.events?.length ?? 0,
        nextPageToken: page.nextPageToken?.length ? page.nextPageToken : undefined,
      };
    },

    async cancelWorkflow(workflowId) {
      await bounded(() => workflow(workflowId).cancel());
    },

    updateWorkflow: (workflowId, update, arg) =>
      workflow(workflowId)
        .executeUpdate(update, { args: [arg] })
        .catch(failed),

    async createSchedule({ scheduleId, spec, action, memo, paused }) {
      await client.schedule
        .create({
          scheduleId,
          spec:
            'cron' in spec ? { cronExpressions: [spec.cron] } : { intervals: [{ every: spec.intervalSeconds * 1000 }] },
          action: { type: 'startWorkflow', ...action },
          memo,
          policies: { overlap: ScheduleOverlapPolicy.SKIP },
          state: { paused },
        })
        .catch((error: unknown) => {
          // The client (TypeError) or the server (INVALID_ARGUMENT) could not parse the cron expression.
          if (error instanceof TypeError || (error as { code?: number }).code === 3)
            throw new TemporalError('invalid-argument', (error as Error).message);
          return failed(error);
        });
    },

    async listSchedules() {
      const schedules = [];
      for await (const { scheduleId, action } of client.schedule.list())
        schedules.push({ scheduleId, workflowType: action?.workflowType });
      return schedules;
    },

    async describeSchedule(scheduleId) {
      const { state, memo, info } = await bounded(() => schedule(scheduleId).describe());
      return {
        paused: state.paused,
        memo: memo ?? {},
        nextActionTimes: info.nextActionTimes,
        recentActions: info.recentActions.map((a) => ({
          scheduledAt: a.scheduledAt,
          workflowId: a.action.workflow.workflowId,
        })),
      };
    },

    pauseSchedule: (scheduleId, note) => bounded(() => schedule(scheduleId).pause(note)),
    unpauseSchedule: (scheduleId, note) => bounded(() => schedule(scheduleId).unpause(note)),
    triggerSchedule: (scheduleId) => bounded(() => schedule(scheduleId).trigger(ScheduleOverlapPolicy.SKIP)),
    deleteSchedule: (scheduleId) => bounded(() => schedule(scheduleId).delete()),
  };
}

/**
 * `call` under a signal of its own that `signal` aborts: the client adds a listener to the signal it is given for
 * every call and never removes it, so a long-lived signal would gather one per call.
 */
async function withSignal<T>(client: Client, signal: AbortSignal, call: () => Promise<T>): Promise<T> {
  const own = new AbortController();
  const abort = () => own.abort();
  if (signal.aborted) abort();
  signal.addEventListener('abort', abort, { once: true });
  try {
    return await client.connection.withAbortSignal(own.signal, call);
  } finally {
    signal.removeEventListener('abort', abort);
  }
}

/** How long a call other than a long poll, a query or an update may take (docs/API.md, "Limits"). */
const CALL_DEADLINE_MS = 5_000;

// gRPC status codes that mean the server was not there to answer: DEADLINE_EXCEEDED, UNAVAILABLE.
const UNANSWERED = new Set([4, 14]);

/** Rethrows the client's error, named as the port names it where it is one of those. */
function failed(error: unknown): never {
  if (error instanceof TemporalError) throw error;
  const code =
    (error as { code?: unknown; cause?: { code?: unknown } }).code ??
    (error as { cause?: { code?: unknown } }).cause?.code;
  if (typeof code === 'number' && UNANSWERED.has(code))
    throw new TemporalError('unavailable', (error as Error).message);
  if (error instanceof WorkflowNotFoundError || error instanceof ScheduleNotFoundError)
    throw new TemporalError('not-found', error.message);
  if (error instanceof WorkflowExecutionAlreadyStartedError || error instanceof ScheduleAlreadyRunning)
    throw new TemporalError('already-exists', error.message);
  if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure)
    throw new TemporalError('rejected', error.cause.message);
  throw error;
}

/** A protobuf Timestamp as a Date, to the millisecond. */
function dateOf(t: google.protobuf.ITimestamp | null | undefined): Date | undefined {
  return t?.seconds ? new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)) : undefined;
}

/** A memo's or search attributes' payloads, decoded. */
const decoded = (fields: Record<string, temporal.api.common.v1.IPayload> | null | undefined) =>
  Object.fromEntries(
    Object.entries(fields ?? {}).map(([name, payload]) => [name, defaultPayloadConverter.fromPayload(payload)]),
  );
