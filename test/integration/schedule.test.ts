// A Temporal Schedule on the real dev server starts scheduledFineTuneJob, which trains on the newest dataset under
// a prefix; firing again on the same dataset starts no second job; pause, unpause, list and delete.
import { randomUUID } from 'node:crypto';
import { ScheduleNotFoundError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import {
  createJobSchedule,
  deleteJobSchedule,
  describeJobSchedule,
  InvalidScheduleSpec,
  listJobSchedules,
  pauseJobSchedule,
  triggerJobSchedule,
  unpauseJobSchedule,
} from '../../infra/schedules.ts';
import { rejectUpdate } from '../../workflows/job-types.ts';
import type { ScheduledJobResult } from '../../workflows/scheduled-job.ts';
import { temporalClient } from '../helpers/stack.ts';
import {
  approver,
  jobInput,
  ledger,
  putIris,
  queuesFor,
  recordHistory,
  uniqueModel,
  waitForState,
  withJobWorkers,
} from './job-harness.ts';

const queues = queuesFor('schedule');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the schedule has taken `count` actions and returns the workflow id of the latest. */
async function nthAction(scheduleId: string, count: number): Promise<string> {
  for (;;) {
    const { info } = await describeJobSchedule(await temporalClient(), scheduleId);
    if (info.numActionsTaken >= count) return info.recentActions.at(-1)!.action.workflow.workflowId;
    await sleep(100);
  }
}

describe('job schedules', () => {
  it('fire a job on the newest dataset under the prefix, once per dataset', { timeout: 120_000 }, async () => {
    const client = await temporalClient();
    const prefix = `datasets/scheduled-${randomUUID()}`;
    await putIris(`${prefix}/2026-11-01`);
    const newest = await putIris(`${prefix}/2026-11-20`);
    const input = jobInput(uniqueModel('iris-scheduled'), newest);
    const scheduleId = `retrain-${randomUUID().slice(0, 8)}`;

    await createJobSchedule(client, {
      scheduleId,
      every: '7 days',
      taskQueue: queues.cpu,
      paused: true,
      job: {
        ...input,
        dataset: { manifest: input.dataset.manifest },
        datasetPrefix: prefix,
        trainingTaskQueue: queues.gpu,
      },
    });
    await withJobWorkers(queues.prefix, async () => {
      await triggerJobSchedule(client, scheduleId);
      const firstRun = client.workflow.getHandle(await nthAction(scheduleId, 1));
      const jobHandle = client.workflow.getHandle(`${scheduleId}-2026-11-20`);
      const waiting = await (async () => {
        for (;;) {
          try {
            return await waitForState(jobHandle, 'awaiting_approval');
          } catch (error) {
            if (!(error instanceof Error) || !/not found/i.test(error.message)) throw error;
            await sleep(200);
          }
        }
      })();
      expect(waiting.validation).toMatchObject({ passed: true });
      const described = await jobHandle.describe();
      expect(described.parentExecution?.workflowId).toBe(firstRun.workflowId);
      // The job trained on the newest folder's files.
      const [submitted] = await ledger().list('default', { subject: jobHandle.workflowId });
      expect(submitted.details).toMatchObject({ trainKey: newest.trainKey, evalKey: newest.evalKey });
      await jobHandle.executeUpdate(rejectUpdate, { args: [{ identity: approver, reason: 'schedule test' }] });
      const first: ScheduledJobResult = await firstRun.result();
      expect(first).toMatchObject({ started: true, datasetVersion: '2026-11-20', job: { state: 'rejected' } });
      await recordHistory('scheduled', firstRun);

      // Nothing newer under the prefix: the next firing starts no job.
      await triggerJobSchedule(client, scheduleId);
      const second: ScheduledJobResult = await client.workflow.getHandle(await nthAction(scheduleId, 2)).result();
      expect(second).toMatchObject({ started: false, datasetVersion: '2026-11-20' });
    });

    expect((await describeJobSchedule(client, scheduleId)).state.paused).toBe(true);
    await unpauseJobSchedule(client, scheduleId, 'weekly retraining on');
    expect((await describeJobSchedule(client, scheduleId)).state).toMatchObject({ paused: false });
    await pauseJobSchedule(client, scheduleId, 'holiday');
    expect((await describeJobSchedule(client, scheduleId)).state).toMatchObject({ paused: true, note: 'holiday' });

    for (;;) {
      const listed = await listJobSchedules(client);
      if (listed.some((s) => s.scheduleId === scheduleId)) break;
      await sleep(200);
    }
    await deleteJobSchedule(client, scheduleId);
    await expect(describeJobSchedule(client, scheduleId)).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });

  it('refuses a schedule id that cannot name a job, and a spec with no timing', async () => {
    const client = await temporalClient();
    const job = { ...jobInput('iris', { trainKey: 'x', evalKey: 'y' }), datasetPrefix: 'datasets/x' };
    await expect(createJobSchedule(client, { scheduleId: '../etc', every: '1d', job })).rejects.toThrow(
      InvalidScheduleSpec,
    );
    await expect(createJobSchedule(client, { scheduleId: 'no-timing', job })).rejects.toThrow(/exactly one of/);
  });
});
