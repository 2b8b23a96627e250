// The jobs as the routes use them: `fineTuneJob` workflows started (idempotently), read, listed, cancelled and
// decided. Routes speak in jobs; this file speaks Temporal through a port (./port.ts) that gRPC and the HTTP API
// both implement, so either transport gives the same workflow ids, memo, search attributes, statuses and errors.
import type { WorkflowExecutionStatusName } from '@temporalio/client';
import type { TrainProgress } from '../../core/jobs/stages.ts';
import * as fineTuneJob from '../../workflows/job-types.ts';
import type { DecisionInput, FineTuneJobInput, Identity, JobStatus } from '../../workflows/job-types.ts';
import { conflict, forgedCursor, HttpProblem, notFound } from '../problem.ts';
import { scoped, SEPARATOR } from '../tenancy.ts';
import { fromBase64Url, toBase64Url } from './base64.ts';
import { isFailure, type TemporalPort, type WorkflowDescription } from './port.ts';

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

// Queries are answered by a worker; with none polling they would wait for ever.
const QUERY_TIMEOUT_MS = 5_000;

export class JobService {
  private readonly inFlight = new Map<string, Promise<JobView>>();

  constructor(
    private readonly temporal: TemporalPort,
    private readonly queues: TaskQueues,
  ) {}

  /**
   * Starts the job, or with an idempotency key returns the job the same key started before, provided the request
   * was the same (its sha256 is kept in the workflow's memo); a different request under a used key is a 409. The
   * id is derived from the key, and a workflow id is never reused, so a key is never reused after its job has ended.
   */
  async start(
    tenant: string,
    input: FineTuneJobInput,
    request: { sha256: string; idempotencyKey?: string },
  ): Promise<{ id: string; created: boolean }> {
    const id = scoped(tenant, await jobName(request.idempotencyKey));
    try {
      await this.temporal.startWorkflow({
        workflowId: id,
        workflowType: 'fineTuneJob',
        taskQueue: this.queues.jobs,
        args: [{ ...input, trainingTaskQueue: this.queues.training }],
        memo: { request_sha256: request.sha256 },
        // Set at start so a list right after creating finds the job; the workflow keeps them current.
        searchAttributes: [
          { key: fineTuneJob.statusAttribute, value: 'validating' },
          { key: fineTuneJob.modelAttribute, value: input.model },
          { key: fineTuneJob.submitterAttribute, value: input.submitter.userId },
        ],
      });
      return { id, created: true };
    } catch (error) {
      if (!isFailure(error, 'already-exists') || !request.idempotencyKey) throw error;
      const { memo } = await this.temporal.describeWorkflow(id);
      if (memo.request_sha256 !== request.sha256) {
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
    const querying = this.temporal.queryWorkflow(id, fineTuneJob.jobStatusQuery.name, QUERY_TIMEOUT_MS);
    // A job that does not exist fails both; the description's 404 is the answer.
    querying.catch(() => {});
    const described = await this.described(id);
    const status = await querying.catch((error: unknown) => {
      throw new HttpProblem(503, {
        title: 'Job status unavailable',
        detail: `no worker answered for ${id}: ${(error as Error).message}`,
      });
    });
    return {
      description: descriptionOf(described),
      status: status as JobStatus | undefined,
      progress: described.heartbeat as TrainProgress | undefined,
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
    const { statusAttribute, modelAttribute, submitterAttribute } = fineTuneJob;
    const clauses = [`WorkflowType = 'fineTuneJob'`, `WorkflowId STARTS_WITH '${tenant}${SEPARATOR}'`];
    if (filter.status) clauses.push(`${statusAttribute.name} = '${filter.status}'`);
    if (filter.model) clauses.push(`${modelAttribute.name} = '${scoped(tenant, filter.model)}'`);
    if (filter.submitter) clauses.push(`${submitterAttribute.name} = '${filter.submitter}'`);
    // The only caller input that reaches Temporal unchecked is the opaque cursor (the page token in base64url);
    // the server answers a forged one with INVALID_ARGUMENT, or with UNKNOWN after about 20 s (measured: cursor
    // '1e309', dev server 1.5.1), so a request with a cursor gets the status query's deadline.
    const response = await this.temporal
      .listWorkflows({
        query: clauses.join(' AND '),
        pageSize: page.limit,
        pageToken: page.cursor ? pageToken(page.cursor) : undefined,
        timeoutMs: page.cursor ? QUERY_TIMEOUT_MS : undefined,
      })
      .catch((error: unknown) => {
        if (page.cursor) throw forgedCursor();
        throw error;
      });
    const data = response.executions.map((execution) => {
      const keyword = (name: string) => String(execution.searchAttributes[name] ?? '');
      return {
        id: execution.workflowId,
        status: keyword(statusAttribute.name),
        model: keyword(modelAttribute.name).slice(tenant.length + SEPARATOR.length),
        submitter: keyword(submitterAttribute.name),
        created_at: execution.startTime.toISOString(),
        closed_at: execution.closeTime?.toISOString() ?? null,
      };
    });
    const token = response.nextPageToken;
    return { data, next_cursor: token?.length ? toBase64Url(token) : null };
  }

  async cancel(id: string): Promise<void> {
    const description = await this.describe(id);
    if (description.status.name !== 'RUNNING')
      throw conflict(`job ${id} has ended (${description.status.name.toLowerCase()})`);
    await this.temporal.cancelWorkflow(id);
  }

  /** The workflow checks separation of duties again in its update validator; a refusal there is a 409. */
  async decide(id: string, action: 'approve' | 'reject', identity: Identity, reason: string): Promise<JobStatus> {
    const update = action === 'approve' ? fineTuneJob.approveUpdate : fineTuneJob.rejectUpdate;
    try {
      return (await this.temporal.updateWorkflow(id, update.name, {
        identity,
        reason,
      } satisfies DecisionInput)) as JobStatus;
    } catch (error) {
      if (isFailure(error, 'rejected')) throw conflict(error.message);
      if (isFailure(error, 'no-answer'))
        throw new HttpProblem(503, {
          title: 'Decision pending',
          detail: `no worker completed the ${action} of ${id} in time; read the job to see whether it took effect`,
        });
      throw error;
    }
  }

  /** The workflow's description; 404 for an id that is not a job. */
  private async described(id: string): Promise<WorkflowDescription> {
    const described = await this.temporal.describeWorkflow(id).catch((error: unknown) => {
      if (isFailure(error, 'not-found')) throw notFound(`job ${id}`);
      throw error;
    });
    if (described.workflowType !== 'fineTuneJob') throw notFound(`job ${id}`);
    return described;
  }
}

/** The page token a cursor carries; one that is not base64url is not a cursor this API issued. */
function pageToken(cursor: string): Uint8Array {
  try {
    return fromBase64Url(cursor);
  } catch {
    throw forgedCursor();
  }
}

const descriptionOf = ({ status, startTime, closeTime }: WorkflowDescription): JobDescription => ({
  status: { name: status },
  startTime,
  closeTime,
});

/** `job-` and 24 hex digits: a hash of the idempotency key (so a retry finds its job), or random without one. */
async function jobName(idempotencyKey: string | undefined): Promise<string> {
  const bytes = idempotencyKey
    ? new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(idempotencyKey)))
    : crypto.getRandomValues(new Uint8Array(12));
  return `job-${[...bytes.subarray(0, 12)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}
