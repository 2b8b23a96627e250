// The jobs as the routes use them: `fineTuneJob` workflows started (idempotently), read, listed, cancelled and
// decided. Routes speak in jobs; this file speaks Temporal through a port (./port.ts) that gRPC and the HTTP API
// both implement, so either transport gives the same workflow ids, memo, search attributes, statuses and errors.
import type { WorkflowExecutionStatusName } from '@temporalio/client';
import type { TrainProgress } from '../../core/jobs/stages.ts';
import * as fineTuneJob from '../../workflows/job-types.ts';
import type {
  DecisionInput,
  FineTuneJobInput,
  Identity,
  JobStatus,
  PublishedStatus,
} from '../../workflows/job-types.ts';
import { conflict, HttpProblem, notFound } from '../problem.ts';
import { scoped, SEPARATOR } from '../tenancy.ts';
import { isFailure, type TemporalPort, type WorkflowDescription } from './port.ts';
import { RecentReads } from './recent-reads.ts';

export type TaskQueues = {
  /** Where `fineTuneJob` and its cpu activities run. */
  jobs: string;
  /** Where its training runs. */
  training: string;
  /** Where the tenants' ledger writers run; default `ledger`. */
  ledger?: string;
};

/** What the routes read of a job's workflow execution. */
export type JobDescription = {
  status: { name: WorkflowExecutionStatusName };
  startTime: Date;
  closeTime?: Date;
  /** What the route that started the job kept with it (the request as the client sent it, resolved). */
  memo: Record<string, unknown>;
};

export type JobView = {
  description: JobDescription;
  /** The workflow's own account, as it publishes it; undefined only while no worker has run its first task. */
  status: PublishedStatus | undefined;
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
  memo: Record<string, unknown>;
};

/** How old a job's status may be when served: a read of its workflow started at most this long before. */
export const DEFAULT_STATUS_MAX_AGE_MS = 500;

// Queries are answered by a worker; with none polling they would wait for ever.
const QUERY_TIMEOUT_MS = 5_000;

// A history of 3 events or fewer (started, workflow task scheduled, started) has no completed workflow task yet.
const FIRST_TASK_PENDING = 3;

export class JobService {
  private readonly views: RecentReads<JobView>;

  constructor(
    private readonly temporal: TemporalPort,
    private readonly queues: TaskQueues,
    { statusMaxAgeMs = DEFAULT_STATUS_MAX_AGE_MS } = {},
  ) {
    this.views = new RecentReads(statusMaxAgeMs);
  }

  /**
   * Starts the job, or with an idempotency key returns the job the same key started before, provided the request
   * was the same (its sha256 is kept in the workflow's memo); a different request under a used key is a 409. The
   * id is derived from the key, and a workflow id is never reused, so a key is never reused after its job has ended.
   */
  async start(
    tenant: string,
    input: FineTuneJobInput,
    request: { sha256: string; idempotencyKey?: string; memo?: Record<string, unknown> },
  ): Promise<{ id: string; created: boolean }> {
    const id = scoped(tenant, await jobName(request.idempotencyKey));
    try {
      await this.temporal.startWorkflow({
        workflowId: id,
        workflowType: 'fineTuneJob',
        taskQueue: this.queues.jobs,
        args: [{ ...input, trainingTaskQueue: this.queues.training }],
        memo: { ...request.memo, request_sha256: request.sha256 },
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
   * The job as it stands: its workflow's description, with the status the workflow publishes in its memo (no
   * worker involved), as read at most `statusMaxAgeMs` before; concurrent readers share one read. `fresh` reads
   * anew. A decision or cancel made here forgets the job's read, so the caller reads its own write.
   */
  view(id: string, { fresh = false } = {}): Promise<JobView> {
    return this.views.get(id, () => this.read(id), { fresh });
  }

  private async read(id: string): Promise<JobView> {
    const described = await this.described(id);
    const published = described.memo[fineTuneJob.statusMemoKey] as PublishedStatus | undefined;
    return {
      description: descriptionOf(described),
      status: published ?? (await this.queried(id, described)),
      progress: described.heartbeat as TrainProgress | undefined,
    };
  }

  /** The status of a job whose workflow does not publish it (started before it did), as its worker answers. */
  private async queried(id: string, described: WorkflowDescription): Promise<JobStatus | undefined> {
    // Queued: a query would wait for a worker to run the first task, and there is no status before it.
    if (described.historyLength <= FIRST_TASK_PENDING) return undefined;
    const status = await this.temporal
      .queryWorkflow(id, fineTuneJob.jobStatusQuery.name, QUERY_TIMEOUT_MS)
      .catch((error: unknown) => {
        throw new HttpProblem(503, {
          title: 'Job status unavailable',
          detail: `no worker answered for ${id}: ${(error as Error).message}`,
        });
      });
    return status as JobStatus | undefined;
  }

  async describe(id: string): Promise<JobDescription> {
    return descriptionOf(await this.described(id));
  }

  /**
   * All the tenant's jobs that pass the filter, newest first. Temporal's SQL visibility cannot order by start time
   * (running jobs come first, then closed ones by close time), so every page is read and sorted here; clients page
   * with `after`, the last job id they saw. Filter values are checked by the route's schema, so they hold no quotes.
   */
  async list(tenant: string, filter: { status?: string; model?: string; submitter?: string }): Promise<JobSummary[]> {
    const { statusAttribute, modelAttribute, submitterAttribute } = fineTuneJob;
    const clauses = [`WorkflowType = 'fineTuneJob'`, `WorkflowId STARTS_WITH '${tenant}${SEPARATOR}'`];
    if (filter.status) clauses.push(`${statusAttribute.name} = '${filter.status}'`);
    if (filter.model) clauses.push(`${modelAttribute.name} = '${scoped(tenant, filter.model)}'`);
    if (filter.submitter) clauses.push(`${submitterAttribute.name} = '${filter.submitter}'`);
    const jobs: (JobSummary & { started: number })[] = [];
    let pageToken: Uint8Array | undefined;
    do {
      const response = await this.temporal.listWorkflows({ query: clauses.join(' AND '), pageSize: 1000, pageToken });
      for (const execution of response.executions) {
        const keyword = (name: string) => String(execution.searchAttributes[name] ?? '');
        jobs.push({
          id: execution.workflowId,
          status: keyword(statusAttribute.name),
          model: keyword(modelAttribute.name).slice(tenant.length + SEPARATOR.length),
          submitter: keyword(submitterAttribute.name),
          created_at: execution.startTime.toISOString(),
          closed_at: execution.closeTime?.toISOString() ?? null,
          memo: execution.memo,
          started: execution.startTime.getTime(),
        });
      }
      pageToken = response.nextPageToken?.length ? response.nextPageToken : undefined;
    } while (pageToken);
    return jobs
      .sort((a, b) => b.started - a.started || (a.id < b.id ? -1 : 1))
      .map(({ started: _started, ...job }) => job);
  }

  /**
   * Waits for the job's workflow to change. The first call (no token) answers at once; given the token the previous
   * call returned, a call returns once the workflow's history has a new event (each ledger entry is appended by an
   * activity, whose completion is one), or with `changed` false once the server's long poll expired. No token comes
   * back once the workflow has closed. `signal` gives the wait up.
   */
  async nextChange(
    id: string,
    { token, signal }: { token?: Uint8Array; signal?: AbortSignal } = {},
  ): Promise<{ changed: boolean; token?: Uint8Array }> {
    const page = await this.temporal.workflowHistory(id, { pageToken: token, signal });
    return { changed: page.events > 0, token: page.nextPageToken };
  }

  async cancel(id: string): Promise<void> {
    const description = await this.describe(id);
    if (description.status.name !== 'RUNNING')
      throw conflict(`job ${id} has ended (${description.status.name.toLowerCase()})`);
    await this.temporal.cancelWorkflow(id);
    this.views.invalidate(id);
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
    } finally {
      // Also when no worker answered in time: the decision may still take effect, which a kept read would hide.
      this.views.invalidate(id);
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

const descriptionOf = ({ status, startTime, closeTime, memo }: WorkflowDescription): JobDescription => ({
  status: { name: status },
  startTime,
  closeTime,
  memo,
});

/** `job-` and 24 hex digits: a hash of the idempotency key (so a retry finds its job), or random without one. */
async function jobName(idempotencyKey: string | undefined): Promise<string> {
  const bytes = idempotencyKey
    ? new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(idempotencyKey)))
    : crypto.getRandomValues(new Uint8Array(12));
  return `job-${[...bytes.subarray(0, 12)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}
