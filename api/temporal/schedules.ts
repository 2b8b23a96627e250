// The schedules as the routes use them: Temporal Schedules that start `scheduledFineTuneJob`, kept through the port
// (./port.ts) that gRPC and the HTTP API both implement. Nothing here loads a Temporal client.
import type { ScheduledJobInput } from '../../workflows/scheduled-job.ts';
import { conflict, invalidField, notFound, type HttpProblem } from '../problem.ts';
import { scoped, unscoped } from '../tenancy.ts';
import type { TaskQueues } from './jobs.ts';
import { isFailure, type ScheduleDescription, type TemporalPort } from './port.ts';

export type When = { cron: string } | { every: string };

export type ScheduleSummary = {
  name: string;
  paused: boolean;
  when: When | null;
  next_action_times: string[];
  recent_actions: { scheduled_at: string; job_id: string }[];
};

/** What a schedule runs: the job input less what the service fills in (schedule id, training task queue). */
export type ScheduleJobInput = Omit<ScheduledJobInput, 'trainingTaskQueue' | 'scheduleId'>;

/**
 * Every call is scoped to the tenant (schedule ids `<tenant>--<name>`); an unknown name is a 404, a taken one a 409,
 * a cron or interval that cannot be parsed a 400. A schedule starts `scheduledFineTuneJob` on the jobs task queue
 * with the workflow id `<tenant>--<name>` (Temporal appends the scheduled time), its `when` in the schedule's memo,
 * and never runs beside its previous run (overlap SKIP, also when triggered): a run still going (training, or
 * waiting for sign-off) is never joined by a second one.
 */
export class ScheduleService {
  constructor(
    private readonly temporal: TemporalPort,
    private readonly queues: TaskQueues,
  ) {}

  async create(tenant: string, name: string, when: When, input: ScheduleJobInput, paused: boolean): Promise<void> {
    const scheduleId = scoped(tenant, name);
    const args: ScheduledJobInput = { ...input, scheduleId, trainingTaskQueue: this.queues.training };
    try {
      await this.temporal.createSchedule({
        scheduleId,
        spec: 'cron' in when ? { cron: when.cron } : { intervalSeconds: intervalSeconds(when) },
        action: {
          workflowType: 'scheduledFineTuneJob',
          workflowId: scheduleId,
          taskQueue: this.queues.jobs,
          args: [args],
        },
        memo: { when },
        paused,
      });
    } catch (error) {
      if (isFailure(error, 'already-exists')) throw conflict(`schedule ${name} exists`);
      if (isFailure(error, 'invalid-argument')) throw invalidWhen(when, error.message);
      throw error;
    }
  }

  /** The tenant's schedules by name, each as it is now (a pause shows at once), not as visibility last saw it. */
  async list(tenant: string): Promise<ScheduleSummary[]> {
    const names = (await this.temporal.listSchedules())
      .filter((schedule) => schedule.workflowType === 'scheduledFineTuneJob')
      .map((schedule) => unscoped(tenant, schedule.scheduleId))
      .filter((name) => name !== undefined);
    const summaries = await Promise.all(
      names.sort().map(async (name) => {
        const described = await this.described(scoped(tenant, name));
        return described && summaryOf(name, described);
      }),
    );
    return summaries.filter((s) => s !== undefined);
  }

  /**
   * A listed schedule as it is now, or undefined when it was deleted since the listing. Temporal answers a describe
   * from the schedule's own workflow; on a loaded server a schedule created moments ago can fail it once ("Failed to
   * describe schedule") before that workflow has run, so a failure other than not-found is tried twice more.
   */
  private async described(id: string, attempts = 3): Promise<ScheduleDescription | undefined> {
    try {
      return await this.temporal.describeSchedule(id);
    } catch (error) {
      if (isFailure(error, 'not-found')) return undefined;
      if (attempts <= 1) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
      return this.described(id, attempts - 1);
    }
  }

  pause(tenant: string, name: string, note: string): Promise<void> {
    return this.known(name, () => this.temporal.pauseSchedule(scoped(tenant, name), note));
  }

  unpause(tenant: string, name: string, note: string): Promise<void> {
    return this.known(name, () => this.temporal.unpauseSchedule(scoped(tenant, name), note));
  }

  trigger(tenant: string, name: string): Promise<void> {
    return this.known(name, () => this.temporal.triggerSchedule(scoped(tenant, name)));
  }

  delete(tenant: string, name: string): Promise<void> {
    return this.known(name, () => this.temporal.deleteSchedule(scoped(tenant, name)));
  }

  /** `act` on the tenant's schedule `name`; 404 when there is none by that name. */
  private async known(name: string, act: () => Promise<void>): Promise<void> {
    await act().catch((error: unknown) => {
      if (isFailure(error, 'not-found')) throw notFound(`schedule ${name}`);
      throw error;
    });
  }
}

function summaryOf(
  name: string,
  { paused, memo, nextActionTimes, recentActions }: ScheduleDescription,
): ScheduleSummary {
  return {
    name,
    paused,
    when: (memo.when as When | undefined) ?? null,
    next_action_times: nextActionTimes.map((t) => t.toISOString()),
    recent_actions: recentActions.map((a) => ({ scheduled_at: a.scheduledAt.toISOString(), job_id: a.workflowId })),
  };
}

const SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;

/** `every` in seconds ('24h' → 86400); 400 for what is not a number and a unit. */
function intervalSeconds(when: { every: string }): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(when.every);
  if (!match || Number(match[1]) === 0)
    throw invalidWhen(when, "expected a number and a unit s, m, h or d, e.g. '24h'");
  return Number(match[1]) * SECONDS[match[2] as keyof typeof SECONDS];
}

/** The 400 for a `when` that could not be parsed, naming the body field it came from. */
function invalidWhen(when: When, message: string): HttpProblem {
  const path = 'cron' in when ? 'body.cron' : 'body.every';
  return invalidField(path, message);
}
