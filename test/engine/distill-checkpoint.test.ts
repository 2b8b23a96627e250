// A distillation checkpoints like a training: stopped at any step and resumed from a checkpoint it stored (the
// student's weights, AdamW's moments, the shuffle's RNG and the position in the epoch), it exports the very bytes an
// uninterrupted run does, for an MLP student of a tabular teacher and a fastText student of a text one.
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../engine/data/index.ts';
import { DistillAborted, runDistillJob, type DistillData, type DistillJob } from '../../engine/distill/job.ts';
import { checkpointOf, type Checkpoint, type CheckpointFiles } from '../../engine/train/checkpoint.ts';
import { runTrainJob } from '../../engine/train/job.ts';
import { irisJsonl } from '../helpers/iris.ts';

const config = { batchSize: 16, maxSteps: 12, lr: 0.01, optimizer: { kind: 'adamw' as const }, seed: 3 };

/** Two classes of made-up sentences, each drawn from its own words with a few shared ones. */
function toyTexts(records: number, seed: number): string {
  const rng = Rng.fromSeed(seed);
  const words = { sky: ['cloud', 'rain', 'sun', 'wind'], sea: ['wave', 'tide', 'salt', 'reef'] };
  const shared = ['the', 'a', 'and', 'of'];
  const lines = Array.from({ length: records }, (_, i) => {
    const label = i % 2 === 0 ? 'sky' : 'sea';
    const pool = [...words[label], ...shared];
    const text = Array.from({ length: 6 }, () => pool[rng.nextInt(pool.length)]).join(' ');
    return JSON.stringify({ text, label });
  });
  return lines.join('\n') + '\n';
}

async function irisCase(): Promise<{ job: DistillJob; data: DistillData }> {
  const lines = irisJsonl().trimEnd().split('\n');
  const pick = (evalRows: boolean) => lines.filter((_, i) => (i % 5 === 4) === evalRows).join('\n') + '\n';
  const [train, evalText] = [pick(false), pick(true)];
  const teacher = await runTrainJob(
    {
      train: 'train.jsonl',
      eval: 'eval.jsonl',
      hidden: [16],
      method: 'full',
      config: { ...config, maxSteps: 40, loss: { kind: 'cross-entropy' } },
    },
    { train, eval: evalText },
  );
  const job: DistillJob = {
    teacher: 'teacher.onnx',
    train: 'train.jsonl',
    eval: 'eval.jsonl',
    studentArch: 'mlp',
    hidden: [4],
    temperature: 2,
    alpha: 0.6,
    config: { ...config, checkpointEvery: 4 },
  };
  return { job, data: { teacher: teacher.model!, train, eval: evalText } };
}

async function textCase(): Promise<{ job: DistillJob; data: DistillData }> {
  const [train, evalText] = [toyTexts(96, 1), toyTexts(32, 2)];
  const fasttext = { buckets: 256, dim: 8, wordNgrams: 1, charNgrams: [0, 0] as [number, number], maxLength: 16 };
  const teacher = await runTrainJob(
    {
      train: 'train.jsonl',
      eval: 'eval.jsonl',
      text: { kind: 'fasttext', ...fasttext },
      hidden: [],
      method: 'full',
      config: { ...config, maxSteps: 30, loss: { kind: 'cross-entropy' } },
    },
    { train, eval: evalText },
  );
  const job: DistillJob = {
    teacher: 'teacher.onnx',
    train: 'train.jsonl',
    eval: 'eval.jsonl',
    studentArch: 'fasttext',
    hidden: [],
    fasttext: { ...fasttext, dim: 4 },
    temperature: 2,
    alpha: 0.5,
    // Shuffled batches of 16 over 96 rows: step 6 ends an epoch, so the resume below starts mid-epoch.
    config: { ...config, checkpointEvery: 4 },
  };
  return { job, data: { teacher: teacher.model!, train, eval: evalText } };
}

/**
 * A run stopped (as a cancel or a shutdown stops it) once `stopAt` steps are reported, the checkpoints it stored and
 * the step it stopped at: the end of the chunk of updates that made step `stopAt` (engine/train/chunk.ts).
 */
async function stoppedRun(job: DistillJob, data: DistillData, stopAt: number) {
  const stored = new Map<number, CheckpointFiles>();
  const controller = new AbortController();
  let last = 0;
  const stopped = runDistillJob(job, data, {
    signal: controller.signal,
    onProgress: (p) => {
      last = p.step;
      if (p.step === stopAt) controller.abort();
    },
    onCheckpoint: (files, step) => void stored.set(step, files),
  });
  await expect(stopped).rejects.toThrow(DistillAborted);
  const checkpoints = new Map([...stored].map(([step, files]) => [step, checkpointOf(files, `step-${step}`)]));
  return { checkpoints, stoppedAt: last };
}

describe.each([
  ['an MLP student of a tabular teacher', irisCase],
  ['a fastText student of a text teacher', textCase],
])('distillation into %s, stopped and resumed', (_, setUp) => {
  let job: DistillJob;
  let data: DistillData;
  let whole: Buffer;
  let checkpoints: Map<number, Checkpoint>;
  let stoppedAt: number;

  beforeAll(async () => {
    ({ job, data } = await setUp());
    whole = Buffer.from((await runDistillJob(job, data)).model);
    ({ checkpoints, stoppedAt } = await stoppedRun(job, data, 7));
  });

  it('stores a checkpoint every checkpointEvery steps, and one where it stopped', () => {
    expect(stoppedAt).toBeGreaterThanOrEqual(7);
    expect(stoppedAt).toBeLessThan(config.maxSteps);
    // A stop on a periodic checkpoint's step writes that checkpoint once.
    expect([...checkpoints.keys()]).toEqual([...new Set([4, ...(stoppedAt >= 8 ? [8] : []), stoppedAt])]);
    expect(checkpoints.get(4)!.state).toMatchObject({ step: 4, run: { studentArch: job.studentArch } });
  });

  it('resumed from a periodic checkpoint (as after a SIGKILL) or the stop, exports the same bytes', async () => {
    for (const step of checkpoints.keys()) {
      const steps: number[] = [];
      const resumed = await runDistillJob(job, data, {
        resume: checkpoints.get(step),
        onProgress: (p) => steps.push(p.step),
      });
      // It went on from the checkpoint, not from the start (which would give the same bytes too).
      expect(steps[0]).toBe(step + 1);
      expect(resumed.steps).toBe(config.maxSteps);
      expect(Buffer.from(resumed.model).equals(whole), `resumed from step ${step}`).toBe(true);
    }
  });

  it('refuses a checkpoint of another distillation', async () => {
    const resume = checkpoints.get(4)!;
    await expect(runDistillJob({ ...job, alpha: 0.9 }, data, { resume })).rejects.toThrow(/other settings/);
    const train = data.train as string;
    const oneRowMore = train + train.slice(0, train.indexOf('\n') + 1);
    await expect(runDistillJob(job, { ...data, train: oneRowMore }, { resume })).rejects.toThrow(
      /train file changed since the checkpoint was written/,
    );
  });
});
