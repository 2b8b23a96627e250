// Retraining on a timetable: Temporal Schedules that start `scheduledFineTuneJob`, which trains on the newest
// dataset under a prefix. These are client operations (the API's gateway and the CLI call them); the schedule
// itself lives in Temporal, so it fires whether or not any Ratchet process is up.
import { ScheduleOverlapPolicy, type Client, type ScheduleDescription, type ScheduleSummary } from '@temporalio/client';
import type { ScheduledJobInput } from '../workflows/scheduled-job.ts';

/** Schedule ids become job ids and S3 key segments: the same strict pattern as object keys. */
const SCHEDULE_ID = /^[A-Za-z0-9][A-Za-z0-9._=-]{0,99}$/;

export type JobScheduleSpec = {
  scheduleId: string;
  /** How often, as Temporal reads a duration: '1 day', '12h', '30 minutes'. Or a cron expression instead. */
  every?: string;
  cron?: string;
  /** Where the workflows run. Default 'cpu'. */
  taskQueue?: string;
  job: Omit<ScheduledJobInput, 'scheduleId'>;
  /** Created paused: it fires only after unpause (or on trigger). */
  paused?: boolean;
};

export class InvalidScheduleSpec extends Error {
  override name = 'InvalidScheduleSpec';
}

export async function createJobSchedule(client: Client, spec: JobScheduleSpec): Promise<void> {
  checkScheduleId(spec.scheduleId);
  if ((spec.every === undefined) === (spec.cron === undefined)) {
    throw new InvalidScheduleSpec(`schedule ${spec.scheduleId}: give exactly one of 'every' and 'cron'`);
  }
  await client.schedule.create({
    scheduleId: spec.scheduleId,
    spec: spec.every !== undefined ? { intervals: [{ every: spec.every }] } : { cronExpressions: [spec.cron!] },
    action: {
      type: 'startWorkflow',
      workflowType: 'scheduledFineTuneJob',
      taskQueue: spec.taskQueue ?? 'cpu',
      workflowId: spec.scheduleId,
      args: [{ ...spec.job, scheduleId: spec.scheduleId } satisfies ScheduledJobInput],
    },
    // A run that is still going (training, or waiting for sign-off) is never joined by a second one.
    policies: { overlap: ScheduleOverlapPolicy.SKIP },
    state: { paused: spec.paused ?? false },
  });
}

export const pauseJobSchedule = (client: Client, scheduleId: string, note?: string) =>
  client.schedule.getHandle(checkScheduleId(scheduleId)).pause(note);

export const unpauseJobSchedule = (client: Client, scheduleId: string, note?: string) =>
  client.schedule.getHandle(checkScheduleId(scheduleId)).unpause(note);

/** Fires now; skipped, like any other firing, while the schedule's previous run is still going. */
export const triggerJobSchedule = (client: Client, scheduleId: string) =>
  client.schedule.getHandle(checkScheduleId(scheduleId)).trigger(ScheduleOverlapPolicy.SKIP);

export const deleteJobSchedule = (client: Client, scheduleId: string) =>
  client.schedule.getHandle(checkScheduleId(scheduleId)).delete();

export const describeJobSchedule = (client: Client, scheduleId: string): Promise<ScheduleDescription> =>
  client.schedule.getHandle(checkScheduleId(scheduleId)).describe();

/** Every schedule that starts scheduled fine-tune jobs. */
export async function listJobSchedules(client: Client): Promise<ScheduleSummary[]> {
  const schedules: ScheduleSummary[] = [];
  for await (const schedule of client.schedule.list()) {
    if (schedule.action?.type === 'startWorkflow' && schedule.action.workflowType === 'scheduledFineTuneJob') {
      schedules.push(schedule);
    }
  }
  return schedules;
}

function checkScheduleId(scheduleId: string): string {
  if (!SCHEDULE_ID.test(scheduleId)) {
    throw new InvalidScheduleSpec(
      `invalid schedule id ${JSON.stringify(scheduleId)}: use 1-100 of letters, digits, '.', '_', '=', '-' (first a letter or digit)`,
    );
  }
  return scheduleId;
}
