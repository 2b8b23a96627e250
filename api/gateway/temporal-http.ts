// The jobs gateway over Temporal's HTTP API (./temporal-http-api.ts) with nothing but fetch, for runtimes that have
// no gRPC. It keeps the gRPC gateway's contract (api/temporal/jobs.ts): the same workflow ids, memo, search
// attributes, status codes and messages.
import type { WorkflowExecutionStatusName } from '@temporalio/client';
import {
  approveUpdate,
  jobStatusQuery,
  modelAttribute,
  rejectUpdate,
  statusAttribute,
  submitterAttribute,
  type FineTuneJobInput,
  type Identity,
  type JobStatus,
} from '../../workflows/job-types.ts';
import { conflict, forgedCursor, HttpProblem, notFound } from '../problem.ts';
import type { Check } from '../readiness.ts';
import { scoped, SEPARATOR } from '../tenancy.ts';
import type { JobDescription, Jobs, JobSummary, JobView, TaskQueues } from '../temporal/jobs.ts';
import {
  ALREADY_EXISTS,
  DEADLINE_EXCEEDED,
  isStatus,
  NOT_FOUND,
  payload,
  payloadList,
  payloadValue,
  temporalCall,
  type TemporalHttp,
} from './temporal-http-api.ts';
import type { TrainProgress } from '../../core/jobs/stages.ts';

// As in the gRPC gateway: queries are answered by a worker, and with none polling they would wait for ever.
const QUERY_TIMEOUT_MS = 5_000;

/** The subset of a DescribeWorkflowExecution response this file reads. */
type Described = {
  workflowExecutionInfo: {
    type: { name: string };
    status: string;
    startTime: string;
    closeTime?: string;
    memo?: { fields?: Record<string, unknown> };
    searchAttributes?: { indexedFields?: Record<string, unknown> };
    execution: { workflowId: string };
  };
  pendingActivities?: { heartbeatDetails?: unknown }[];
};

type UpdateResponse = {
  outcome?: { success?: unknown; failure?: { message?: string; applicationFailureInfo?: object } };
};

export class TemporalHttpJobs implements Jobs {
  constructor(
    private readonly temporal: TemporalHttp,
    private readonly queues: TaskQueues,
  ) {}

  async start(
    tenant: string,
    input: FineTuneJobInput,
    request: { sha256: string; idempotencyKey?: string },
  ): Promise<{ id: string; created: boolean }> {
    const name = request.idempotencyKey
      ? `job-${(await sha256Hex(request.idempotencyKey)).slice(0, 24)}`
      : `job-${randomHex(12)}`;
    const id = scoped(tenant, name);
    try {
      await this.call('POST', `/workflows/${encodeURIComponent(id)}`, {
        requestId: crypto.randomUUID(),
        workflowType: { name: 'fineTuneJob' },
        taskQueue: { name: this.queues.jobs },
        input: { payloads: [payload({ ...input, trainingTaskQueue: this.queues.training })] },
        memo: { fields: { request_sha256: payload(request.sha256) } },
        workflowIdReusePolicy: 'WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE',
        searchAttributes: {
          indexedFields: {
            [statusAttribute.name]: payload('validating'),
            [modelAttribute.name]: payload(input.model),
            [submitterAttribute.name]: payload(input.submitter.userId),
          },
        },
      });
      return { id, created: true };
    } catch (error) {
      if (!isStatus(error, ALREADY_EXISTS) || !request.idempotencyKey) throw error;
      const { workflowExecutionInfo } = await this.call<Described>('GET', `/workflows/${encodeURIComponent(id)}`);
      if (payloadValue(workflowExecutionInfo.memo?.fields?.request_sha256) !== request.sha256) {
        throw conflict('this Idempotency-Key was used for a different request; use a new key for a new job');
      }
      return { id, created: false };
    }
  }

  /** Every read here is a new query, so `fresh` holds without asking. */
  async view(id: string): Promise<JobView> {
    const querying = this.call<{ queryResult?: unknown }>(
      'POST',
      `/workflows/${encodeURIComponent(id)}/query/${jobStatusQuery.name}`,
      { query: {} },
      QUERY_TIMEOUT_MS,
    );
    // A job that does not exist fails both; the description's 404 is the answer.
    querying.catch(() => {});
    const described = await this.described(id);
    const answer = await querying.catch((error: unknown) => {
      throw new HttpProblem(503, {
        title: 'Job status unavailable',
        detail: `no worker answered for ${id}: ${(error as Error).message}`,
      });
    });
    const heartbeat = described.pendingActivities?.map((a) => payloadList(a.heartbeatDetails)[0]).find(Boolean);
    return {
      description: descriptionOf(described),
      status: payloadList(answer.queryResult)[0] as JobStatus | undefined,
      progress: heartbeat as TrainProgress | undefined,
    };
  }

  async describe(id: string): Promise<JobDescription> {
    return descriptionOf(await this.described(id));
  }

  /** Newest first. Filter values are checked by the route's schema, so they hold no quotes. */
  async list(
    tenant: string,
    filter: { status?: string; model?: string; submitter?: string },
    page: { limit: number; cursor?: string },
  ): Promise<{ data: JobSummary[]; next_cursor: string | null }> {
    const clauses = [`WorkflowType = 'fineTuneJob'`, `WorkflowId STARTS_WITH '${tenant}${SEPARATOR}'`];
    if (filter.status) clauses.push(`${statusAttribute.name} = '${filter.status}'`);
    if (filter.model) clauses.push(`${modelAttribute.name} = '${scoped(tenant, filter.model)}'`);
    if (filter.submitter) clauses.push(`${submitterAttribute.name} = '${filter.submitter}'`);
    const query = new URLSearchParams({ query: clauses.join(' AND '), pageSize: String(page.limit) });
    // The API's cursor is the page token in base64url, as the gRPC gateway issues it; the HTTP API speaks base64.
    if (page.cursor) query.set('nextPageToken', page.cursor.replaceAll('-', '+').replaceAll('_', '/'));
    type Listed = { executions?: Described['workflowExecutionInfo'][]; nextPageToken?: string };
    const response = await this.call<Listed>('GET', `/workflows?${query}`).catch((error: unknown) => {
      if (page.cursor) throw forgedCursor();
      throw error;
    });
    const data = (response.executions ?? []).map((execution) => {
      const fields = execution.searchAttributes?.indexedFields ?? {};
      const keyword = (name: string) => String(payloadValue(fields[name]) ?? '');
      return {
        id: execution.execution.workflowId,
        status: keyword(statusAttribute.name),
        model: keyword(modelAttribute.name).slice(tenant.length + SEPARATOR.length),
        submitter: keyword(submitterAttribute.name),
        created_at: new Date(execution.startTime).toISOString(),
        closed_at: execution.closeTime ? new Date(execution.closeTime).toISOString() : null,
      };
    });
    const token = response.nextPageToken;
    return {
      data,
      next_cursor: token ? token.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '') : null,
    };
  }

  async cancel(id: string): Promise<void> {
    const description = await this.describe(id);
    if (description.status.name !== 'RUNNING')
      throw conflict(`job ${id} has ended (${description.status.name.toLowerCase()})`);
    await this.call('POST', `/workflows/${encodeURIComponent(id)}/cancel`, { requestId: crypto.randomUUID() });
  }

  /** The workflow checks separation of duties again in its update validator; a refusal there is a 409. */
  async decide(id: string, action: 'approve' | 'reject', identity: Identity, reason: string): Promise<JobStatus> {
    const update = action === 'approve' ? approveUpdate : rejectUpdate;
    const body = {
      waitPolicy: { lifecycleStage: 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED' },
      request: {
        meta: { updateId: crypto.randomUUID() },
        input: { name: update.name, args: { payloads: [payload({ identity, reason })] } },
      },
    };
    const path = `/workflows/${encodeURIComponent(id)}/update/${update.name}`;
    const { outcome } = await this.call<UpdateResponse>('POST', path, body).catch((error: unknown) => {
      if (isStatus(error, DEADLINE_EXCEEDED)) return {} as UpdateResponse;
      throw error;
    });
    // No outcome within the deadline: no worker took the update (it may still, once one polls).
    if (!outcome)
      throw new HttpProblem(503, {
        title: 'Decision pending',
        detail: `no worker completed the ${action} of ${id} in time; read the job to see whether it took effect`,
      });
    if (outcome.failure) {
      if (outcome.failure.applicationFailureInfo) throw conflict(outcome.failure.message ?? 'update rejected');
      throw new Error(`${action} of ${id} failed: ${outcome.failure.message}`);
    }
    return payloadList(outcome.success)[0] as JobStatus;
  }

  /** The /readyz check: the namespace must exist, not merely the server answer. */
  readonly ready: Check = async () => {
    await this.call('GET', '');
  };

  /** The workflow's description; 404 for an id that is not a job. */
  private async described(id: string): Promise<Described> {
    try {
      const described = await this.call<Described>('GET', `/workflows/${encodeURIComponent(id)}`);
      if (described.workflowExecutionInfo.type.name !== 'fineTuneJob') throw notFound(`job ${id}`);
      return described;
    } catch (error) {
      if (isStatus(error, NOT_FOUND)) throw notFound(`job ${id}`);
      throw error;
    }
  }

  private call<T = unknown>(method: 'GET' | 'POST', path: string, body?: object, timeoutMs?: number) {
    return temporalCall<T>(this.temporal, method, path, body, timeoutMs);
  }
}

function descriptionOf({ workflowExecutionInfo: info }: Described): JobDescription {
  return {
    status: { name: info.status.replace('WORKFLOW_EXECUTION_STATUS_', '') as WorkflowExecutionStatusName },
    startTime: new Date(info.startTime),
    closeTime: info.closeTime ? new Date(info.closeTime) : undefined,
  };
}

// Web Crypto rather than node:crypto, which fetch-only runtimes need not have.
async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}
