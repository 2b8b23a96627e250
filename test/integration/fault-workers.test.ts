// Ten small Iris jobs, each with its training worker (`ratchet worker`, a child process) SIGKILLed once at a
// seeded-random point of its training, and a replacement worker taking the retried attempt over: all ten finish, and
// all ten models are byte for byte the model an uninterrupted run of the same spec (same seed) exports.
// Each job trains on a gpu queue of its own, so that its first attempt can only go to the worker that is killed
// and its retry only to the replacement started after the kill. The workflows run in this process.
import { randomUUID } from 'node:crypto';
import { objectKey, parseObjectKey } from '../../core/object-store.ts';
import { describe, expect, it } from 'vitest';
import { rejectUpdate } from '../../workflows/job-types.ts';
import { rng } from '../engine/gradcheck.ts';
import {
  approver,
  jobInput,
  putIris,
  queuesFor,
  startJob,
  startJobWorkers,
  store,
  training,
  uniqueModel,
  waitForState,
  withJobWorkers,
} from './job-harness.ts';
import { startGpuWorkerProcess, storedCheckpoints, uninterruptedModel } from './worker-process.ts';

const JOBS = 10;
const SEED = 18;
// Long enough that the kill lands mid-training: an Iris step takes about 0.2 ms now that several run in one ORT run
// (2,000 steps were over before a kill at a random point of them could land).
const CHECKPOINT_EVERY = 500;
const spec = { ...training, config: { ...training.config, maxSteps: 10_000, checkpointEvery: CHECKPOINT_EVERY } };
const queues = queuesFor('fault-workers');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('training workers SIGKILLed at random points of ten jobs', () => {
  it('all ten finish with the bytes of an uninterrupted run', { timeout: 300_000 }, async () => {
    // Seeded, so a failing run's kill points can be replayed.
    const random = rng(SEED);
    const reference = uninterruptedModel(spec);
    const dataset = await putIris(`datasets/fault-workers-${randomUUID()}`);
    const replacements: Array<{ stop: () => Promise<void> }> = [];
    const startedAt = Date.now();
    try {
      await withJobWorkers(
        queues.prefix,
        async () => {
          const jobs = [];
          for (let i = 0; i < JOBS; i++) {
            // The point of this job's training where its worker dies: a step past one checkpoint and short of
            // the end, seeded, plus a few ms, so the kill falls anywhere in a checkpoint interval.
            const killStep = CHECKPOINT_EVERY + Math.floor(random() * (spec.config.maxSteps - 3 * CHECKPOINT_EVERY));
            const extraMs = Math.floor(random() * 30);
            const prefix = `${queues.prefix}job${i}-`;
            const child = startGpuWorkerProcess(prefix);
            const exited = new Promise<string | null>((resolve) => child.once('exit', (_, signal) => resolve(signal)));
            const input = jobInput(uniqueModel('iris-fault-workers'), dataset, { training: spec });
            const handle = await startJob(`fault-workers-${i}`, input, { cpu: queues.cpu, gpu: `${prefix}gpu` });
            const checkpoints = objectKey('jobs', handle.workflowId, 'checkpoints');
            let firstCheckpointAt: number | undefined;
            for (;;) {
              expect(child.exitCode, `job ${i}: the worker process exited on its own`).toBeNull();
              const newest = Math.max(0, ...(await storedCheckpoints(checkpoints)));
              if (newest > 0) firstCheckpointAt ??= Date.now();
              if (newest + CHECKPOINT_EVERY > killStep) break;
              await sleep(20);
            }
            await sleep(extraMs);
            child.kill('SIGKILL');
            expect(await exited).toBe('SIGKILL');
            const storedAtKill = Math.max(...(await storedCheckpoints(checkpoints)));
            console.log(
              `fault-workers: job ${i} worker killed ${Date.now() - firstCheckpointAt!} ms after its first checkpoint, near step ${killStep}, newest checkpoint ${storedAtKill}`,
            );
            // The replacement comes up only now: the retry, after the heartbeat timeout, is the one it takes.
            replacements.push(await startJobWorkers(prefix, ['gpu']));
            jobs.push({ i, handle, storedAtKill, killedAt: Date.now() });
          }

          const model = await reference;
          for (const { i, handle, storedAtKill, killedAt } of jobs) {
            const status = await waitForState(handle, 'awaiting_approval');
            const trained = status.training!;
            console.log(
              `fault-workers: job ${i} resumed from step ${trained.resumedFromStep} (checkpoint at kill ${storedAtKill}), awaiting approval ${Date.now() - killedAt} ms after the kill`,
            );
            expect(trained.steps).toBe(spec.config.maxSteps);
            // Resumed from the newest checkpoint the killed worker stored: at most one interval redone.
            expect(trained.resumedFromStep).toBe(storedAtKill);
            const bytes = (await store().get(parseObjectKey(trained.modelKey))).bytes;
            expect(Buffer.from(bytes).equals(model), `job ${i}: the model's bytes`).toBe(true);
            await handle.executeUpdate(rejectUpdate, {
              args: [{ identity: approver, reason: 'fault test: training only' }],
            });
            expect(await handle.result()).toMatchObject({ state: 'rejected' });
          }
        },
        ['cpu'],
      );
    } finally {
      for (const replacement of replacements) await replacement.stop();
    }
    console.log(`fault-workers: ${JOBS} jobs, ten kills, ten identical models in ${Date.now() - startedAt} ms`);
  });
});
