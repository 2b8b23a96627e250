// What the tests that kill training workers share: `ratchet worker` for the gpu queue in a child process of its own
// (the process the test kills), the steps of the checkpoints a training has stored, and the model an uninterrupted
// run of the same spec exports.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, expect } from 'vitest';
import { trainJobOf } from '../../core/jobs/engine-job.ts';
import type { TrainingSpec } from '../../core/jobs/stages.ts';
import { runTrainJob } from '../../engine/train/job.ts';
import { stackEnv } from '../helpers/stack.ts';
import { irisSplit, store } from './job-harness.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

const children: ChildProcess[] = [];
afterAll(() => children.forEach((child) => child.exitCode === null && child.kill('SIGKILL')));

/** `ratchet worker` for the gpu queue under `queuePrefix` only, in its own process, pointed at the test's servers. */
export function startGpuWorkerProcess(queuePrefix: string): ChildProcess {
  const child = spawn(process.execPath, ['bin/ratchet.mjs', 'worker', '--queue-prefix', queuePrefix], {
    cwd: root,
    env: {
      ...process.env,
      RATCHET_TASK_QUEUES: 'gpu',
      ...stackEnv(),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

/** Steps of the checkpoints under `prefix` that are complete in S3 (state.json is written last). */
export async function storedCheckpoints(prefix: string): Promise<number[]> {
  const keys = await store().list(`${prefix}/`);
  return keys.flatMap((key) => {
    const match = /step-(\d{8})\/state\.json$/.exec(key);
    return match ? [Number(match[1])] : [];
  });
}

/** The uninterrupted reference: `spec` on Iris, run start to finish by the engine in this process. */
export async function uninterruptedModel(spec: TrainingSpec): Promise<Buffer> {
  const { train, eval: evalText } = irisSplit();
  const job = trainJobOf(spec, { train: 'train.jsonl', eval: 'eval.jsonl' });
  const reference = await runTrainJob(job, { train, eval: evalText }, { ep: 'cpu' });
  expect(reference.step).toBe(spec.config.maxSteps);
  return Buffer.from(reference.model!);
}
