// The schedules gateway over Temporal's HTTP API (./temporal-http-api.ts) with nothing but fetch, for runtimes that
// have no gRPC. It keeps the gRPC gateway's contract (api/temporal/schedule-contract.ts): the same schedule ids,
// action (workflow type, id, task queue, input), memo, overlap policy, status codes and list shape.
import type { ScheduledJobInput } from '../../workflows/scheduled-job.ts';
import { conflict, notFound } from '../problem.ts';
import { scoped, unscoped } from '../tenancy.ts';
import type { TaskQueues } from '../temporal/jobs.ts';
import {
  invalidWhen,
  type ScheduleJobInput,
  type Schedules,
  type ScheduleSummary,
  type When,
} from '../temporal/schedule-contract.ts';
import {
  ALREADY_EXISTS,
  INVALID_ARGUMENT,
  isStatus,
  NOT_FOUND,
  payload,
  payloadValue,
  temporalCall,
  type TemporalHttp,
} from './temporal-http-api.ts';

const SKIP = 'SCHEDULE_OVERLAP_POLICY_SKIP';

/** The subset of a DescribeSchedule response this file reads. */
type Described = {
  schedule: { state?: { paused?: boolean } };
  info?: {
    futureActionTimes?: string[];
    recentActions?: { scheduleTime: string; startWorkflowResult?: { workflowId: string } }[];
  };
  memo?: { fields?: Record<string, unknown> };
};

/** The subset of a ListSchedules response this file reads. */
type Listed = {
  schedules?: { scheduleId: string; info?: { workflowType?: { name: string } } }[];
  nextPageToken?: string;
};

export class TemporalHttpSchedules implements Schedules {
  constructor(
    private readonly temporal: TemporalHttp,
    private readonly queues: TaskQueues,
  ) {}

  async create(tenant: string, name: string, when: When, input: ScheduleJobInput, paused: boolean): Promise<void> {
    const scheduleId = scoped(tenant, name);
    const args: ScheduledJobInput = { ...input, scheduleId, trainingTaskQueue: this.queues.training };
    const body = {
      // A fresh id each time: the server answers a repeated request id with the first call's success.
      requestId: crypto.randomUUID(),
      schedule: {
        spec: 'cron' in when ? { cronString: [when.cron] } : { interval: [{ interval: intervalOf(when) }] },
        action: {
          startWorkflow: {
            // Temporal appends the scheduled time to this id for each run.
            workflowId: scheduleId,
            workflowType: { name: 'scheduledFineTuneJob' },
            taskQueue: { name: this.queues.jobs, kind: 'TASK_QUEUE_KIND_NORMAL' },
            input: { payloads: [payload(args)] },
          },
        },
        // A run still going (training, or waiting for sign-off) is never joined by a second one.
        policies: { overlapPolicy: SKIP },
        state: { paused },
      },
      memo: { fields: { when: payload(when) } },
    };
    try {
      await this.call('POST', `/schedules/${encodeURIComponent(scheduleId)}`, body);
    } catch (error) {
      if (isStatus(error, ALREADY_EXISTS)) throw conflict(`schedule ${name} exists`);
      // The server could not parse the cron expression or interval.
      if (isStatus(error, INVALID_ARGUMENT)) throw invalidWhen(when, error.message);
      throw error;
    }
  }

  /** Listed from visibility, which lags; each is then described, so a pause shows at once. */
  async list(tenant: string): Promise<ScheduleSummary[]> {
    const names: string[] = [];
    let pageToken: string | undefined;
    do {
      const query = new URLSearchParams({ maximumPageSize: '1000' });
      if (pageToken) query.set('nextPageToken', pageToken);
      const page = await this.call<Listed>('GET', `/schedules?${query}`);
      for (const schedule of page.schedules ?? []) {
        const name = unscoped(tenant, schedule.scheduleId);
        if (name !== undefined && schedule.info?.workflowType?.name === 'scheduledFineTuneJob') names.push(name);
      }
      pageToken = page.nextPageToken;
    } while (pageToken);
    const summaries = await Promise.all(
      names.sort().map(async (name) => {
        const described = await this.described(tenant, name).catch((error: unknown) => {
          // Deleted between the listing and now.
          if (isStatus(error, NOT_FOUND)) return undefined;
          throw error;
        });
        return described && summaryOf(name, described);
      }),
    );
    return summaries.filter((s) => s !== undefined);
  }

  async pause(tenant: string, name: string, note: string): Promise<void> {
    await this.patch(tenant, name, { pause: note });
  }

  async unpause(tenant: string, name: string, note: string): Promise<void> {
    await this.patch(tenant, name, { unpause: note });
  }

  async trigger(tenant: string, name: string): Promise<void> {
    await this.patch(tenant, name, { triggerImmediately: { overlapPolicy: SKIP } });
  }

  async delete(tenant: string, name: string): Promise<void> {
    await this.known(name, () => this.call('DELETE', `/schedules/${encodeURIComponent(scoped(tenant, name))}`));
  }

  private async patch(tenant: string, name: string, patch: object): Promise<void> {
    const path = `/schedules/${encodeURIComponent(scoped(tenant, name))}/patch`;
    await this.known(name, () => this.call('POST', path, { patch, requestId: crypto.randomUUID() }));
  }

  /** `act` on a schedule; 404 when there is none by that name in the tenant (the server's NOT_FOUND). */
  private async known(name: string, act: () => Promise<unknown>): Promise<void> {
    try {
      await act();
    } catch (error) {
      if (isStatus(error, NOT_FOUND)) throw notFound(`schedule ${name}`);
      throw error;
    }
  }

  private described(tenant: string, name: string): Promise<Described> {
    return this.call<Described>('GET', `/schedules/${encodeURIComponent(scoped(tenant, name))}`);
  }

  private call<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: object) {
    return temporalCall<T>(this.temporal, method, path, body);
  }
}

function summaryOf(name: string, { schedule, info, memo }: Described): ScheduleSummary {
  return {
    name,
    paused: schedule.state?.paused === true,
    when: (payloadValue(memo?.fields?.when) as When | undefined) ?? null,
    next_action_times: (info?.futureActionTimes ?? []).map((t) => new Date(t).toISOString()),
    recent_actions: (info?.recentActions ?? []).map((a) => ({
      scheduled_at: new Date(a.scheduleTime).toISOString(),
      job_id: a.startWorkflowResult?.workflowId ?? '',
    })),
  };
}

const SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;

/** `every` as a protobuf Duration in JSON ('24h' → '86400s'); 422 for what is not a number and a unit. */
function intervalOf(when: { every: string }): string {
  const match = /^(\d+)(s|m|h|d)$/.exec(when.every);
  if (!match || Number(match[1]) === 0)
    throw invalidWhen(when, "expected a number and a unit s, m, h or d, e.g. '24h'");
  return `${Number(match[1]) * SECONDS[match[2] as keyof typeof SECONDS]}s`;
}
