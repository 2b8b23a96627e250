// Reproductions as the routes use them: a `reproduceModel` workflow per request on the training queue (training
// belongs on workers, and a reproduction trains as long as the job it reproduces), read back by id. Its report is
// kept in S3 (activities/reproduce.ts); the workflow's status says whether it is still running or failed.
import type { WorkflowExecutionStatusName } from '@temporalio/client';
import type { ReproduceModelInput } from '../../workflows/reproduce.ts';
import { notFound } from '../problem.ts';
import { scoped, SEPARATOR } from '../tenancy.ts';
import { isFailure, type TemporalPort } from './port.ts';
import type { TaskQueues } from './jobs.ts';

export class ReproductionService {
  constructor(
    private readonly temporal: TemporalPort,
    private readonly queues: TaskQueues,
  ) {}

  /** Starts one; `model` is the registry's (tenant-scoped) name. */
  async start(tenant: string, model: string, version: number, requestedBy: string): Promise<string> {
    const bytes = crypto.getRandomValues(new Uint8Array(12));
    const id = scoped(tenant, `repro-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`);
    const input: ReproduceModelInput = { model, version, trainingTaskQueue: this.queues.training };
    await this.temporal.startWorkflow({
      workflowId: id,
      workflowType: 'reproduceModel',
      taskQueue: this.queues.jobs,
      args: [input],
      memo: { model, version, requested_by: requestedBy },
      searchAttributes: [],
    });
    return id;
  }

  /** The workflow's status and memo; 404 for an id that is not the tenant's reproduction. */
  async describe(
    tenant: string,
    id: string,
  ): Promise<{
    status: WorkflowExecutionStatusName;
    memo: Record<string, unknown>;
    created: Date;
    /** The running attempt's latest heartbeat: { stage, step, totalSteps }. */
    progress: unknown;
  }> {
    if (!id.startsWith(`${tenant}${SEPARATOR}`)) throw notFound(`reproduction ${id}`);
    const described = await this.temporal.describeWorkflow(id).catch((error: unknown) => {
      if (isFailure(error, 'not-found')) throw notFound(`reproduction ${id}`);
      throw error;
    });
    if (described.workflowType !== 'reproduceModel') throw notFound(`reproduction ${id}`);
    return {
      status: described.status,
      memo: described.memo,
      created: described.startTime,
      progress: described.heartbeat,
    };
  }
}
