// A Temporal Schedule on the real dev server, made through the API's schedule service, starts scheduledFineTuneJob,
// which trains on the newest dataset under a prefix; firing again on the same dataset starts no second job; pause,
// unpause, list and delete. (Bad names and timings are refused at the API's edge: test/integration/api-jobs.test.ts.)
import { randomUUID } from 'node:crypto';
import { ScheduleNotFoundError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { grpcPort } from '../../api/temporal/grpc.ts';
import { ScheduleService } from '../../api/temporal/schedules.ts';
import { scoped } from '../../api/tenancy.ts';
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
const tenant = 'default';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the schedule has taken `count` actions and returns the workflow id of the latest. */
async function nthAction(scheduleId: string, count: number): Promise<string> {
  for (;;) {
    const { info } = await (await temporalClient()).schedule.getHandle(scheduleId).describe();
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
    const name = `retrain-${randomUUID().slice(0, 8)}`;
    const scheduleId = scoped(tenant, name);
    const schedules = new ScheduleService(grpcPort(client), { jobs: queues.cpu, training: queues.gpu });
    const described = () => client.schedule.getHandle(scheduleId).describe();

    const job = { ...input, dataset: { manifest: input.dataset.manifest }, datasetPrefix: prefix };
    await schedules.create(tenant, name, { every: '7d' }, job, true);
    await withJobWorkers(queues.prefix, async () => {
      await schedules.trigger(tenant, name);
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
      expect((await jobHandle.describe()).parentExecution?.workflowId).toBe(firstRun.workflowId);
      // The job trained on the newest folder's files.
      const [submitted] = await ledger().list('default', { subject: jobHandle.workflowId });
      expect(submitted.details).toMatchObject({ trainKey: newest.trainKey, evalKey: newest.evalKey });
      await jobHandle.executeUpdate(rejectUpdate, { args: [{ identity: approver, reason: 'schedule test' }] });
      const first: ScheduledJobResult = await firstRun.result();
      expect(first).toMatchObject({ started: true, datasetVersion: '2026-11-20', job: { state: 'rejected' } });
      await recordHistory('scheduled', firstRun);

      // Nothing newer under the prefix: the next firing starts no job.
      await schedules.trigger(tenant, name);
      const second: ScheduledJobResult = await client.workflow.getHandle(await nthAction(scheduleId, 2)).result();
      expect(second).toMatchObject({ started: false, datasetVersion: '2026-11-20' });
    });

    expect((await described()).state.paused).toBe(true);
    await schedules.unpause(tenant, name, 'weekly retraining on');
    expect((await described()).state).toMatchObject({ paused: false });
    await schedules.pause(tenant, name, 'holiday');
    expect((await described()).state).toMatchObject({ paused: true, note: 'holiday' });

    for (;;) {
      const listed = await schedules.list(tenant);
      if (listed.some((s) => s.name === name)) break;
      await sleep(200);
    }
    await schedules.delete(tenant, name);
    await expect(described()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });
});
