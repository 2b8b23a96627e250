// The API's gateway to Temporal Schedules that start `scheduledFineTuneJob`, over the gRPC client. Its contract is
// `Schedules` (./schedule-contract.ts). Schedule ids are `<tenant>--<name>`.
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleHandle,
} from '@temporalio/client';
import type { ScheduledJobInput } from '../../workflows/scheduled-job.ts';
import { conflict, notFound } from '../problem.ts';
import { scoped, unscoped } from '../tenancy.ts';
import type { TaskQueues } from './jobs.ts';
import {
  invalidWhen,
  type ScheduleJobInput,
  type Schedules,
  type ScheduleSummary,
  type When,
} from './schedule-contract.ts';

export class ScheduleGateway implements Schedules {
  constructor(
    private readonly client: Client,
    private readonly queues: TaskQueues,
  ) {}

  async create(tenant: string, name: string, when: When, input: ScheduleJobInput, paused: boolean): Promise<void> {
    const scheduleId = scoped(tenant, name);
    try {
      await this.client.schedule.create({
        scheduleId,
        spec:
          'cron' in when
            ? { cronExpressions: [when.cron] }
            : { intervals: [{ every: when.every as `${number}${'s' | 'm' | 'h' | 'd'}` }] },
        action: {
          type: 'startWorkflow',
          workflowType: 'scheduledFineTuneJob',
          // Temporal appends the scheduled time to this id for each run.
          workflowId: scheduleId,
          taskQueue: this.queues.jobs,
          args: [{ ...input, scheduleId, trainingTaskQueue: this.queues.training } satisfies ScheduledJobInput],
        },
        memo: { when },
        // A run still going (training, or waiting for sign-off) is never joined by a second one.
        policies: { overlap: ScheduleOverlapPolicy.SKIP },
        state: { paused },
      });
    } catch (error) {
      if (error instanceof ScheduleAlreadyRunning) throw conflict(`schedule ${name} exists`);
      // The client (TypeError) or the server (INVALID_ARGUMENT) could not parse the cron expression or interval.
      if (error instanceof TypeError || (error as { code?: number }).code === 3)
        throw invalidWhen(when, (error as Error).message);
      throw error;
    }
  }

  /** Listed from visibility, which lags; each is then described, so a pause shows at once. */
  async list(tenant: string): Promise<ScheduleSummary[]> {
    const names: string[] = [];
    for await (const schedule of this.client.schedule.list()) {
      const name = unscoped(tenant, schedule.scheduleId);
      if (name !== undefined && schedule.action?.workflowType === 'scheduledFineTuneJob') names.push(name);
    }
    const summaries = await Promise.all(
      names.sort().map(async (name) => {
        const schedule = await this.client.schedule
          .getHandle(scoped(tenant, name))
          .describe()
          .catch((error: unknown) => {
            // Deleted between the listing and now.
            if (error instanceof ScheduleNotFoundError) return undefined;
            throw error;
          });
        return (
          schedule && {
            name,
            paused: schedule.state.paused,
            when: (schedule.memo?.when as When | undefined) ?? null,
            next_action_times: schedule.info.nextActionTimes.map((t) => t.toISOString()),
            recent_actions: schedule.info.recentActions.map((a) => ({
              scheduled_at: a.scheduledAt.toISOString(),
              job_id: a.action.workflow.workflowId,
            })),
          }
        );
      }),
    );
    return summaries.filter((s) => s !== undefined);
  }

  async pause(tenant: string, name: string, note: string): Promise<void> {
    await (await this.handle(tenant, name)).pause(note);
  }

  async unpause(tenant: string, name: string, note: string): Promise<void> {
    await (await this.handle(tenant, name)).unpause(note);
  }

  async trigger(tenant: string, name: string): Promise<void> {
    await (await this.handle(tenant, name)).trigger(ScheduleOverlapPolicy.SKIP);
  }

  async delete(tenant: string, name: string): Promise<void> {
    await (await this.handle(tenant, name)).delete();
  }

  /** The tenant's schedule; 404 when there is none by that name. */
  private async handle(tenant: string, name: string): Promise<ScheduleHandle> {
    const handle = this.client.schedule.getHandle(scoped(tenant, name));
    try {
      await handle.describe();
      return handle;
    } catch (error) {
      if (error instanceof ScheduleNotFoundError) throw notFound(`schedule ${name}`);
      throw error;
    }
  }
}
