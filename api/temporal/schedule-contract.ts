// The schedules as the routes use them, kept over Temporal's gRPC client (api/temporal/schedules.ts) and over its
// HTTP API for fetch-only runtimes (api/gateway/temporal-http-schedules.ts). Nothing here loads a Temporal client.
import type { ScheduledJobInput } from '../../workflows/scheduled-job.ts';
import { HttpProblem } from '../problem.ts';

export type When = { cron: string } | { every: string };

export type ScheduleSummary = {
  name: string;
  paused: boolean;
  when: When | null;
  next_action_times: string[];
  recent_actions: { scheduled_at: string; job_id: string }[];
};

/** What a schedule runs: the job input less what the gateway fills in (schedule id, training task queue). */
export type ScheduleJobInput = Omit<ScheduledJobInput, 'trainingTaskQueue' | 'scheduleId'>;

/**
 * Every call is scoped to the tenant (schedule ids `<tenant>--<name>`); an unknown name is a 404, a taken one a 409,
 * a cron or interval the server cannot parse a 422. A schedule starts `scheduledFineTuneJob` on the jobs task queue
 * with the workflow id `<tenant>--<name>` (Temporal appends the scheduled time), its `when` in the schedule's memo,
 * and never runs beside its previous run (overlap SKIP, also when triggered).
 */
export interface Schedules {
  create(tenant: string, name: string, when: When, input: ScheduleJobInput, paused: boolean): Promise<void>;
  /** The tenant's schedules by name, each as it is now (a pause shows at once), not as visibility last saw it. */
  list(tenant: string): Promise<ScheduleSummary[]>;
  pause(tenant: string, name: string, note: string): Promise<void>;
  unpause(tenant: string, name: string, note: string): Promise<void>;
  trigger(tenant: string, name: string): Promise<void>;
  delete(tenant: string, name: string): Promise<void>;
}

/** The 422 for a `when` that could not be parsed, naming the body field it came from. */
export function invalidWhen(when: When, message: string): HttpProblem {
  const path = 'cron' in when ? 'body.cron' : 'body.every';
  return new HttpProblem(422, {
    title: 'Invalid request body',
    detail: `${path}: ${message}`,
    errors: [{ path, message }],
  });
}
