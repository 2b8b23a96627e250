// The Temporal port (./port.ts) over Temporal's HTTP API (./http-call.ts) with nothing but fetch, for runtimes that
// have no gRPC (api/edge.ts). It translates values only: what they mean to a caller is the services' (./jobs.ts,
// ./schedules.ts), which the gRPC adapter (./grpc.ts) serves alike.
import { context, propagation } from '@opentelemetry/api';
import type { WorkflowExecutionStatusName } from '@temporalio/client';
import { fromBase64, toBase64 } from './base64.ts';
import {
  ALREADY_EXISTS,
  DEADLINE_EXCEEDED,
  INVALID_ARGUMENT,
  isStatus,
  NOT_FOUND,
  payload,
  payloadList,
  payloadValue,
  temporalCall,
  TemporalHttpError,
  type TemporalHttp,
} from './http-call.ts';
import type { TaskQueues } from './jobs.ts';
import { TemporalError, type TemporalPort } from './port.ts';
import { temporalServices, type TemporalServices } from './services.ts';

/** The jobs and schedules over the HTTP API at `temporal`; /readyz asks that the namespace exists. */
export function httpTemporal(temporal: TemporalHttp, queues: TaskQueues): TemporalServices {
  const ready = async () => {
    await temporalCall(temporal, 'GET', '');
  };
  return temporalServices(httpPort(temporal), ready, queues);
}

type Fields = { fields?: Record<string, unknown> };

/** The subset of a workflow execution's info this file reads (DescribeWorkflowExecution, ListWorkflowExecutions). */
type ExecutionInfo = {
  type: { name: string };
  status: string;
  startTime: string;
  closeTime?: string;
  memo?: Fields;
  historyLength?: string;
  searchAttributes?: { indexedFields?: Record<string, unknown> };
  execution: { workflowId: string };
};

type UpdateResponse = {
  outcome?: { success?: unknown; failure?: { message?: string; applicationFailureInfo?: object } };
};

/** The subset of a DescribeSchedule response this file reads. */
type DescribedSchedule = {
  schedule: { state?: { paused?: boolean } };
  info?: {
    futureActionTimes?: string[];
    recentActions?: { scheduleTime: string; startWorkflowResult?: { workflowId: string } }[];
  };
  memo?: Fields;
};

/** The subset of a ListSchedules response this file reads. */
type ListedSchedules = {
  schedules?: { scheduleId: string; info?: { workflowType?: { name: string } } }[];
  nextPageToken?: string;
};

const SKIP = 'SCHEDULE_OVERLAP_POLICY_SKIP';

// The header Temporal's OpenTelemetry interceptors read the trace context from (infra/tracing.ts).
const TRACE_HEADER = '_tracer-data';

/**
 * The active trace context in the header the workflow interceptors read, as the gRPC client's interceptor puts
 * it, so a workflow started over this transport continues the request's trace. Only where an OpenTelemetry SDK
 * is registered (tracing on, on Node); elsewhere, the edge included, the API's propagator injects nothing and
 * no header is sent. Workflow starts only: updates and queries over this transport carry no trace.
 */
function traceHeader(): { fields: Record<string, unknown> } | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return Object.keys(carrier).length ? { fields: { [TRACE_HEADER]: payload(carrier) } } : undefined;
}

// Longer than the server holds a history long poll (20 s by default), so that the server ends it with an empty page.
const LONG_POLL_MS = 60_000;

export function httpPort(temporal: TemporalHttp): TemporalPort {
  /** One call, its failures named as the port names them. */
  const call = <T = unknown>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: object,
    timeoutMs?: number,
    signal?: AbortSignal,
  ) =>
    temporalCall<T>(temporal, method, path, body, timeoutMs, signal).catch((error: unknown) => {
      for (const [code, failure] of FAILURES)
        if (isStatus(error, code)) throw new TemporalError(failure, error.message);
      // Not the caller giving up (its signal): the server did not answer in time, or could not be reached.
      if (!signal?.aborted && unanswered(error)) throw new TemporalError('unavailable', (error as Error).message);
      throw error;
    });
  const workflowPath = (workflowId: string) => `/workflows/${encodeURIComponent(workflowId)}`;
  const schedulePath = (scheduleId: string) => `/schedules/${encodeURIComponent(scheduleId)}`;
  const patchSchedule = async (scheduleId: string, patch: object) => {
    await call('POST', `${schedulePath(scheduleId)}/patch`, { patch, requestId: crypto.randomUUID() });
  };
  return {
    async startWorkflow(start) {
      await call('POST', workflowPath(start.workflowId), {
        requestId: crypto.randomUUID(),
        workflowType: { name: start.workflowType },
        taskQueue: { name: start.taskQueue },
        input: payloads(start.args),
        memo: fields(start.memo),
        workflowIdReusePolicy: start.reuseClosedId
          ? 'WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE'
          : 'WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE',
        searchAttributes: {
          indexedFields: Object.fromEntries(start.searchAttributes.map(({ key, value }) => [key.name, payload(value)])),
        },
        header: traceHeader(),
      });
    },

    async describeWorkflow(workflowId) {
      type Described = { workflowExecutionInfo: ExecutionInfo; pendingActivities?: { heartbeatDetails?: unknown }[] };
      const { workflowExecutionInfo: info, pendingActivities } = await call<Described>('GET', workflowPath(workflowId));
      return {
        workflowType: info.type.name,
        status: info.status.replace('WORKFLOW_EXECUTION_STATUS_', '') as WorkflowExecutionStatusName,
        startTime: new Date(info.startTime),
        closeTime: info.closeTime ? new Date(info.closeTime) : undefined,
        memo: values(info.memo?.fields),
        // An int64, which JSON carries as a string.
        historyLength: Number(info.historyLength ?? 0),
        heartbeat: pendingActivities?.map((a) => payloadList(a.heartbeatDetails)[0]).find(Boolean),
      };
    },

    async queryWorkflow(workflowId, query, timeoutMs) {
      const path = `${workflowPath(workflowId)}/query/${query}`;
      const answer = await call<{ queryResult?: unknown }>('POST', path, { query: {} }, timeoutMs);
      return payloadList(answer.queryResult)[0];
    },

    async listWorkflows({ query, pageSize, pageToken }) {
      const search = new URLSearchParams({ query, pageSize: String(pageSize) });
      if (pageToken) search.set('nextPageToken', toBase64(pageToken));
      type Listed = { executions?: ExecutionInfo[]; nextPageToken?: string };
      const listed = await call<Listed>('GET', `/workflows?${search}`);
      return {
        executions: (listed.executions ?? []).map((execution) => ({
          workflowId: execution.execution.workflowId,
          startTime: new Date(execution.startTime),
          closeTime: execution.closeTime ? new Date(execution.closeTime) : undefined,
          memo: values(execution.memo?.fields),
          searchAttributes: values(execution.searchAttributes?.indexedFields),
        })),
        nextPageToken: listed.nextPageToken ? fromBase64(listed.nextPageToken) : undefined,
      };
    },

    async workflowHistory(workflowId, { pageToken, signal }) {
      // The gateway reads query parameters by their JSON names, bytes as base64.
      const search = new URLSearchParams({ waitNewEvent: 'true' });
      if (pageToken) search.set('nextPageToken', toBase64(pageToken));
      type Page = { history?: { events?: unknown[] }; nextPageToken?: string };
      const path = `${workflowPath(workflowId)}/history?${search}`;
      const page = await call<Page>('GET', path, undefined, LONG_POLL_MS, signal);
      return {
        events: page.history?.events?.length ?? 0,
        nextPageToken: page.nextPageToken ? fromBase64(page.nextPageToken) : undefined,
      };
    },

    async cancelWorkflow(workflowId) {
      await call('POST', `${workflowPath(workflowId)}/cancel`, { requestId: crypto.randomUUID() });
    },

    async updateWorkflow(workflowId, update, arg) {
      const body = {
        waitPolicy: { lifecycleStage: 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED' },
        request: { meta: { updateId: crypto.randomUUID() }, input: { name: update, args: payloads([arg]) } },
      };
      const path = `${workflowPath(workflowId)}/update/${update}`;
      const { outcome } = await call<UpdateResponse>('POST', path, body).catch((error: unknown) => {
        if (isStatus(error, DEADLINE_EXCEEDED)) return {} as UpdateResponse;
        throw error;
      });
      // No outcome within the deadline: no worker took the update (it may still, once one polls).
      if (!outcome) throw new TemporalError('no-answer', `no worker completed ${update} of ${workflowId} in time`);
      if (outcome.failure) {
        const message = outcome.failure.message ?? 'update rejected';
        if (outcome.failure.applicationFailureInfo) throw new TemporalError('rejected', message);
        throw new Error(`${update} of ${workflowId} failed: ${message}`);
      }
      return payloadList(outcome.success)[0];
    },

    async createSchedule({ scheduleId, spec, action, memo, paused }) {
      await call('POST', schedulePath(scheduleId), {
        // A fresh id each time: the server answers a repeated request id with the first call's success.
        requestId: crypto.randomUUID(),
        schedule: {
          spec: 'cron' in spec ? { cronString: [spec.cron] } : { interval: [{ interval: `${spec.intervalSeconds}s` }] },
          action: {
            startWorkflow: {
              workflowId: action.workflowId,
              workflowType: { name: action.workflowType },
              taskQueue: { name: action.taskQueue, kind: 'TASK_QUEUE_KIND_NORMAL' },
              input: payloads(action.args),
            },
          },
          policies: { overlapPolicy: SKIP },
          state: { paused },
        },
        memo: fields(memo),
      });
    },

    async listSchedules() {
      const schedules = [];
      let pageToken: string | undefined;
      do {
        const search = new URLSearchParams({ maximumPageSize: '1000' });
        if (pageToken) search.set('nextPageToken', pageToken);
        const page = await call<ListedSchedules>('GET', `/schedules?${search}`);
        for (const { scheduleId, info } of page.schedules ?? [])
          schedules.push({ scheduleId, workflowType: info?.workflowType?.name });
        pageToken = page.nextPageToken;
      } while (pageToken);
      return schedules;
    },

    async describeSchedule(scheduleId) {
      const { schedule, info, memo } = await call<DescribedSchedule>('GET', schedulePath(scheduleId));
      return {
        paused: schedule.state?.paused === true,
        memo: values(memo?.fields),
        nextActionTimes: (info?.futureActionTimes ?? []).map((t) => new Date(t)),
        recentActions: (info?.recentActions ?? []).map((a) => ({
          scheduledAt: new Date(a.scheduleTime),
          workflowId: a.startWorkflowResult?.workflowId ?? '',
        })),
      };
    },

    pauseSchedule: (scheduleId, note) => patchSchedule(scheduleId, { pause: note }),
    unpauseSchedule: (scheduleId, note) => patchSchedule(scheduleId, { unpause: note }),
    triggerSchedule: (scheduleId) => patchSchedule(scheduleId, { triggerImmediately: { overlapPolicy: SKIP } }),
    async deleteSchedule(scheduleId) {
      await call('DELETE', schedulePath(scheduleId));
    },
  };
}

/**
 * A call's own timeout, a refused or reset connection (fetch's TypeError), or a proxy's 502/503. Not the server's
 * DEADLINE_EXCEEDED: that answer means a worker did not (an update's or a query's caller reads it).
 */
const unanswered = (error: unknown) =>
  (error instanceof DOMException && error.name === 'TimeoutError') ||
  error instanceof TypeError ||
  (error instanceof TemporalHttpError && [502, 503].includes(error.httpStatus));

const FAILURES = [
  [NOT_FOUND, 'not-found'],
  [ALREADY_EXISTS, 'already-exists'],
  [INVALID_ARGUMENT, 'invalid-argument'],
] as const;

const payloads = (args: unknown[]) => ({ payloads: args.map(payload) });

const fields = (byName: Record<string, unknown>) => ({
  fields: Object.fromEntries(Object.entries(byName).map(([name, value]) => [name, payload(value)])),
});

/** A memo's or search attributes' fields, decoded. */
const values = (encoded: Record<string, unknown> = {}) =>
  Object.fromEntries(Object.entries(encoded).map(([name, value]) => [name, payloadValue(value)]));
