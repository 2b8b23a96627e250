// The API's gateway to `fineTuneJob` workflows over Temporal's gRPC client: start (idempotently), read, list,
// cancel, decide. Routes speak in jobs; this file speaks Temporal.
import { createHash, randomBytes } from 'node:crypto';
import {
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionStatusName,
} from '@temporalio/client';
import {
  ApplicationFailure,
  defaultPayloadConverter,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
} from '@temporalio/common';
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
import { scoped, SEPARATOR } from '../tenancy.ts';
import type { TrainProgress } from '../../core/jobs/stages.ts';

export type TaskQueues = {
  /** Where `fineTuneJob` and its cpu activities run. */
  jobs: string;
  /** Where its training runs. */
  training: string;
};

/** What the routes read of a job's workflow execution. */
export type JobDescription = { status: { name: WorkflowExecutionStatusName }; startTime: Date; closeTime?: Date };

export type JobView = {
  description: JobDescription;
  /** The workflow's own account; undefined only while no worker has run its first task. */
  status: JobStatus | undefined;
  /** The latest heartbeat of a running training attempt. */
  progress: TrainProgress | undefined;
};

export type JobSummary = {
  id: string;
  status: string;
  model: string;
  submitter: string;
  created_at: string;
  closed_at: string | null;
};

/**
 * The jobs as the routes use them. Implemented over Temporal's gRPC client (JobGateway, below) and over its HTTP
 * API for fetch-only runtimes (api/gateway/temporal-http.ts).
 */
export interface Jobs {
  start(
    tenant: string,
    input: FineTuneJobInput,
    request: { sha256: string; idempotencyKey?: string },
  ): Promise<{ id: string; created: boolean }>;
  view(id: string, options?: { fresh?: boolean }): Promise<JobView>;
  describe(id: string): Promise<JobDescription>;
  list(
    tenant: string,
    filter: { status?: string; model?: string; submitter?: string },
    page: { limit: number; cursor?: string },
  ): Promise<{ data: JobSummary[]; next_cursor: string | null }>;
  cancel(id: string): Promise<void>;
  decide(id: string, action: 'approve' | 'reject', identity: Identity, reason: string): Promise<JobStatus>;
}

// Queries are answered by a worker; with none polling they would wait for ever.
const QUERY_TIMEOUT_MS = 5_000;

export class JobGateway implements Jobs {
  private readonly inFlight = new Map<string, Promise<JobView>>();

  constructor(
    private readonly client: Client,
    private readonly queues: TaskQueues,
  ) {}

  /**
   * Starts the job, or with an idempotency key returns the job the same key started before, provided the request
   * was the same (its sha256 is kept in the workflow's memo); a different request under a used key is a 409.
   */
  async start(
    tenant: string,
    input: FineTuneJobInput,
    request: { sha256: string; idempotencyKey?: string },
  ): Promise<{ id: string; created: boolean }> {
    const name = request.idempotencyKey
      ? `job-${createHash('sha256').update(request.idempotencyKey).digest('hex').slice(0, 24)}`
      : `job-${randomBytes(12).toString('hex')}`;
    const id = scoped(tenant, name);
    try {
      await this.client.workflow.start('fineTuneJob', {
        workflowId: id,
        taskQueue: this.queues.jobs,
        args: [{ ...input, trainingTaskQueue: this.queues.training }],
        memo: { request_sha256: request.sha256 },
        // A key is never reused, also after its job has ended.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        // Set at start so a list right after creating finds the job; the workflow keeps them current.
        typedSearchAttributes: [
          { key: statusAttribute, value: 'validating' },
          { key: modelAttribute, value: input.model },
          { key: submitterAttribute, value: input.submitter.userId },
        ],
      });
      return { id, created: true };
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError) || !request.idempotencyKey) throw error;
      const { memo } = await this.client.workflow.getHandle(id).describe();
      if (memo?.request_sha256 !== request.sha256) {
        throw conflict('this Idempotency-Key was used for a different request; use a new key for a new job');
      }
      return { id, created: false };
    }
  }

  /**
   * The job as it stands. Queries of one workflow are answered one at a time by its worker, so concurrent reads
   * of the same job share the query in flight rather than queue behind each other; `fresh` starts a new one
   * (after a change this process made, which an older query might not show).
   */
  view(id: string, { fresh = false } = {}): Promise<JobView> {
    const shared = this.inFlight.get(id);
    if (shared && !fresh) return shared;
    const view = this.read(id).finally(() => {
      if (this.inFlight.get(id) === view) this.inFlight.delete(id);
    });
    this.inFlight.set(id, view);
    return view;
  }

  private async read(id: string): Promise<JobView> {
    const handle = this.client.workflow.getHandle(id);
    const querying = this.client.connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () =>
      handle.query(jobStatusQuery),
    );
    // A job that does not exist fails both; the description's 404 is the answer.
    querying.catch(() => {});
    const description = await this.describe(id);
    const status = await querying.catch((error: unknown) => {
      throw new HttpProblem(503, {
        title: 'Job status unavailable',
        detail: `no worker answered for ${id}: ${(error as Error).message}`,
      });
    });
    const heartbeat = description.raw.pendingActivities?.find((a) => a.heartbeatDetails?.payloads?.length)
      ?.heartbeatDetails?.payloads?.[0];
    const progress = heartbeat ? defaultPayloadConverter.fromPayload<TrainProgress>(heartbeat) : undefined;
    return { description, status, progress };
  }

  /** The workflow's description; 404 for an id that is not a job. */
  async describe(id: string): Promise<WorkflowExecutionDescription> {
    try {
      const description = await this.client.workflow.getHandle(id).describe();
      if (description.type !== 'fineTuneJob') throw notFound(`job ${id}`);
      return description;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw notFound(`job ${id}`);
      throw error;
    }
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
    const listing = () =>
      this.client.workflowService.listWorkflowExecutions({
        namespace: this.client.options.namespace,
        query: clauses.join(' AND '),
        pageSize: page.limit,
        nextPageToken: page.cursor ? Buffer.from(page.cursor, 'base64url') : undefined,
      });
    // The only caller input that reaches Temporal unchecked is the opaque cursor; the server answers a forged one
    // with INVALID_ARGUMENT, or with UNKNOWN after about 20 s (measured: cursor '1e309', dev server 1.5.1), so a
    // request with a cursor gets the status query's deadline.
    const response = await (
      page.cursor ? this.client.connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, listing) : listing()
    ).catch((error: unknown) => {
      if (page.cursor) throw forgedCursor();
      throw error;
    });
    const data = (response.executions ?? []).map((execution) => {
      const fields = execution.searchAttributes?.indexedFields ?? {};
      const keyword = (name: string) => {
        const payload = fields[name];
        return payload ? String(defaultPayloadConverter.fromPayload(payload)) : '';
      };
      const time = (t: typeof execution.startTime) =>
        t?.seconds ? new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString() : null;
      return {
        id: execution.execution?.workflowId ?? '',
        status: keyword(statusAttribute.name),
        model: keyword(modelAttribute.name).slice(tenant.length + SEPARATOR.length),
        submitter: keyword(submitterAttribute.name),
        created_at: time(execution.startTime) ?? '',
        closed_at: time(execution.closeTime),
      };
    });
    const token = response.nextPageToken;
    return { data, next_cursor: token && token.length > 0 ? Buffer.from(token).toString('base64url') : null };
  }

  async cancel(id: string): Promise<void> {
    const description = await this.describe(id);
    if (description.status.name !== 'RUNNING')
      throw conflict(`job ${id} has ended (${description.status.name.toLowerCase()})`);
    await this.client.workflow.getHandle(id).cancel();
  }

  /** The workflow checks separation of duties again in its update validator; a refusal there is a 409. */
  async decide(id: string, action: 'approve' | 'reject', identity: Identity, reason: string): Promise<JobStatus> {
    const handle = this.client.workflow.getHandle(id);
    try {
      return await handle.executeUpdate(action === 'approve' ? approveUpdate : rejectUpdate, {
        args: [{ identity, reason }],
      });
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
        throw conflict(error.cause.message);
      }
      throw error;
    }
  }
}
