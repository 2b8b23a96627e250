// A training worker dies mid-job (SIGKILL, a real child process running `ratchet worker`); another worker finishes
// the job from the last checkpoint in S3, and the model is byte for byte the one an uninterrupted run makes. The same
// holds for the distill stage: a worker killed while the student trains, the student's bytes the same.
import { randomUUID } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { objectKey, parseObjectKey } from '../../core/object-store.ts';
import { distillJobOf } from '../../core/jobs/engine-job.ts';
import { distillationSchema } from '../../core/jobs/spec.ts';
import { runDistillJob } from '../../engine/distill/job.ts';
import { fineTuneJob } from '../../workflows/fine-tune-job.ts';
import { jobStatusQuery, rejectUpdate, type FineTuneJobInput, type JobStatus } from '../../workflows/job-types.ts';
import { temporalClient } from '../helpers/stack.ts';
import { startGpuWorkerProcess, storedCheckpoints, uninterruptedModel } from './worker-process.ts';
import {
  approver,
  irisSplit,
  jobInput,
  putIris,
  queuesFor,
  recordHistory,
  store,
  training,
  uniqueModel,
  waitForState,
  withJobWorkers,
} from './job-harness.ts';
import type { TrainProgress } from '../../core/jobs/stages.ts';

const queues = queuesFor('crash');
const CHECKPOINT_EVERY = 100;
const crashTraining = {
  ...training,
  config: { ...training.config, maxSteps: 1500, checkpointEvery: CHECKPOINT_EVERY },
};

/** A student of the Iris teacher: 1500 steps at 16 rows, a checkpoint every 100. */
const crashDistillation = distillationSchema.parse({
  student: { hidden: [8] },
  config: { maxSteps: 1500, batchSize: 16, lr: 0.01, checkpointEvery: CHECKPOINT_EVERY },
});

/** The stage a test stops a worker in: what the job runs, where the stage's checkpoints go, when it is done. */
type Stage = {
  job: Partial<FineTuneJobInput>;
  checkpoints: (jobId: string) => string;
  totalSteps: number;
  finished: (status: JobStatus) => { steps: number; resumedFromStep?: number; modelKey: string } | undefined;
};

const trainingStage: Stage = {
  job: { training: crashTraining },
  checkpoints: (jobId) => objectKey('jobs', jobId, 'checkpoints'),
  totalSteps: crashTraining.config.maxSteps,
  finished: (status) => status.training,
};

// The teacher trains briefly (the harness's 150 steps) before the student, whose training the worker dies in.
const distillStage: Stage = {
  job: { training, distillation: crashDistillation },
  checkpoints: (jobId) => objectKey('jobs', jobId, 'student', 'checkpoints'),
  totalSteps: crashDistillation.config.maxSteps!,
  finished: (status) => status.distillation,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Interrupted = {
  final: JobStatus;
  /** The interrupted stage's result. */
  done: NonNullable<ReturnType<Stage['finished']>>;
  storedAtStop: number;
  lastHeartbeat: TrainProgress;
  /** How the worker process ended: its exit code, or the signal that ended it. */
  exit: { code: number | null; signal: string | null };
  /** Whether the server already held the stopped attempt's failure when the process had exited. */
  attemptFailedAtExit: boolean;
};

/**
 * Runs a job whose training (and distillation) starts in a child worker process, stops that process with `signal`
 * once three of `stage`'s checkpoints are stored, and lets a worker in this process finish the stage.
 */
async function interrupt(stage: Stage, signal: 'SIGKILL' | 'SIGTERM', history: string): Promise<Interrupted> {
  const dataset = await putIris(`datasets/crash-${randomUUID()}`);
  const input = { ...jobInput(uniqueModel('iris-crash'), dataset, stage.job), trainingTaskQueue: queues.gpu };
  const client = await temporalClient();
  // Workflows and the other stages run in this process; training first runs only in the child.
  return withJobWorkers(
    queues.prefix,
    async () => {
      const handle = await client.workflow.start(fineTuneJob, {
        taskQueue: queues.cpu,
        workflowId: `crash-${randomUUID()}`,
        args: [input],
      });
      const child = startGpuWorkerProcess(queues.prefix);
      const exited = new Promise<Interrupted['exit']>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      );
      const checkpoints = stage.checkpoints(handle.workflowId);
      // Three checkpoints stored, and the server holding a heartbeat of the attempt (its first is sent as the stage
      // starts; the student can store three checkpoints before it has arrived, and the later ones are throttled).
      const heartbeatArrived = async () =>
        Boolean((await handle.describe()).raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.length);
      while (
        Math.max(0, ...(await storedCheckpoints(checkpoints))) < 3 * CHECKPOINT_EVERY ||
        !(await heartbeatArrived())
      ) {
        expect(child.exitCode, 'the worker process exited on its own').toBeNull();
        await sleep(20);
      }
      child.kill(signal);
      const exit = await exited;
      const storedAtStop = Math.max(...(await storedCheckpoints(checkpoints)));
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      const lastHeartbeat = defaultPayloadConverter.fromPayload<TrainProgress>(
        pending[0].heartbeatDetails!.payloads![0],
      );
      expect(lastHeartbeat.step).toBeLessThan(stage.totalSteps);

      // A second worker, in this process, takes the retried attempt.
      const final = await withJobWorkers(
        queues.prefix,
        async () => {
          for (;;) {
            const s: JobStatus = await handle.query(jobStatusQuery);
            if (stage.finished(s)) return s;
            await sleep(200);
          }
        },
        ['gpu'],
      );
      await waitForState(handle, 'awaiting_approval');
      await handle.executeUpdate(rejectUpdate, {
        args: [{ identity: approver, reason: 'crash test: training and distillation only' }],
      });
      expect(await handle.result()).toMatchObject({ state: 'rejected' });
      await recordHistory(history, handle);
      const done = stage.finished(final)!;
      return { final, done, storedAtStop, lastHeartbeat, exit, attemptFailedAtExit: pending[0].lastFailure != null };
    },
    ['cpu'],
  );
}

/** The uninterrupted student: the same distillation of the teacher the job trained, run by the engine here. */
async function uninterruptedStudent(teacherKey: string): Promise<Buffer> {
  const { train, eval: evalText } = irisSplit();
  const teacher = (await store().get(parseObjectKey(teacherKey))).bytes;
  const names = { teacher: 'teacher.onnx', train: 'train.jsonl', eval: 'eval.jsonl' };
  const job = distillJobOf(crashDistillation, names, training.config);
  const reference = await runDistillJob(job, { teacher, train, eval: evalText }, { ep: 'cpu' });
  expect(reference.steps).toBe(crashDistillation.config.maxSteps);
  return Buffer.from(reference.model);
}

let reference: Promise<Buffer> | undefined;

async function expectSameModelAsUninterrupted(modelKey: string): Promise<void> {
  const resumed = (await store().get(parseObjectKey(modelKey))).bytes;
  expect(Buffer.from(resumed).equals(await (reference ??= uninterruptedModel(crashTraining)))).toBe(true);
}

describe('a training worker stopped mid-job', () => {
  it(
    'killed (SIGKILL): another resumes from the last checkpoint and exports the same bytes',
    { timeout: 120_000 },
    async () => {
      const { final, storedAtStop, lastHeartbeat, exit, attemptFailedAtExit } = await interrupt(
        trainingStage,
        'SIGKILL',
        'crash-resumed',
      );
      expect(exit.signal).toBe('SIGKILL');
      // Nothing told the server: the attempt fails only when its heartbeat times out.
      expect(attemptFailedAtExit).toBe(false);
      const trained = final.training!;
      console.log(
        `crash: checkpoint stored at kill ${storedAtStop}, last heartbeat step ${lastHeartbeat.step}, resumed from ${trained.resumedFromStep}`,
      );
      expect(trained.steps).toBe(crashTraining.config.maxSteps);
      // Resumed from the newest checkpoint the dead worker stored, not from the start nor from an older one: the
      // steps it did after that checkpoint (fewer than one interval, as it stores one every interval) are redone.
      expect(trained.resumedFromStep).toBe(storedAtStop);
      expect(trained.resumedFromStep).toBeGreaterThanOrEqual(3 * CHECKPOINT_EVERY);
      await expectSameModelAsUninterrupted(trained.modelKey);
    },
  );

  it(
    'shut down (SIGTERM): training checkpoints where it stopped, so nothing is redone, and the bytes are the same',
    { timeout: 120_000 },
    async () => {
      const { final, storedAtStop, exit, attemptFailedAtExit } = await interrupt(
        trainingStage,
        'SIGTERM',
        'shutdown-resumed',
      );
      // A graceful exit, after reporting the stopped attempt as failed: the retry need not wait for a timeout.
      expect(exit.code).toBe(0);
      expect(attemptFailedAtExit).toBe(true);
      const trained = final.training!;
      console.log(`shutdown: checkpoint stored at stop ${storedAtStop}, resumed from ${trained.resumedFromStep}`);
      // The stopping worker stored a checkpoint at the step it stopped on and the next attempt started there.
      expect(trained.resumedFromStep).toBe(storedAtStop);
      expect(trained.steps).toBe(crashTraining.config.maxSteps);
      await expectSameModelAsUninterrupted(trained.modelKey);
    },
  );
});

describe('a worker killed while the student distils', () => {
  it(
    'another resumes the student from its last checkpoint and exports the same bytes',
    { timeout: 120_000 },
    async () => {
      const { final, done, storedAtStop, lastHeartbeat, exit } = await interrupt(
        distillStage,
        'SIGKILL',
        'distill-crash-resumed',
      );
      expect(exit.signal).toBe('SIGKILL');
      console.log(
        `distill crash: checkpoint stored at kill ${storedAtStop}, last heartbeat step ${lastHeartbeat.step}, resumed from ${done.resumedFromStep}`,
      );
      // The teacher's training was done before the kill and is not redone; the student resumes from the newest
      // checkpoint the dead worker stored.
      expect(final.training!.resumedFromStep).toBe(0);
      expect(done.steps).toBe(crashDistillation.config.maxSteps);
      expect(done.resumedFromStep).toBe(storedAtStop);
      expect(done.resumedFromStep).toBeGreaterThanOrEqual(3 * CHECKPOINT_EVERY);
      const student = (await store().get(parseObjectKey(done.modelKey))).bytes;
      const uninterrupted = await uninterruptedStudent(final.training!.modelKey);
      expect(Buffer.from(student).equals(uninterrupted)).toBe(true);
    },
  );
});
