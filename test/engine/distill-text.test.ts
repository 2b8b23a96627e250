// Distillation on real text: a small encoder trained on SpamAssassin period 1 teaches a fastText student from the
// same raw texts; the student's file takes raw text through the encoding it carries.
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../engine/data/index.ts';
import { parameterCount, runDistillJob, type DistillData, type DistillJob } from '../../engine/distill/job.ts';
import { importClassifier } from '../../engine/models/base.ts';
import { spamAssassin, textJsonl } from '../../infra/demo/spam-assassin.ts';
import { runTrainJob } from '../../engine/train/job.ts';

let data: DistillData;

const config = { batchSize: 32, lr: 2e-3, optimizer: { kind: 'adamw' as const }, seed: 1 };

beforeAll(async () => {
  const records = spamAssassin(['easy-ham-1', 'spam-1']);
  const order = Rng.fromSeed(5).permutation(records.length);
  const pick = (from: number, to: number) => Array.from(order.subarray(from, to), (i) => records[i]);
  const [train, evalText] = [textJsonl(pick(0, 640)), textJsonl(pick(640, 940))];
  const encoder = {
    kind: 'encoder',
    vocabSize: 2000,
    maxLength: 64,
    dModel: 32,
    heads: 2,
    layers: 1,
    ffn: 64,
  } as const;
  const teacher = await runTrainJob(
    {
      train: 'train.jsonl',
      eval: 'eval.jsonl',
      text: { ...encoder, pooling: 'mean' },
      hidden: [],
      method: 'full',
      config: { ...config, epochs: 3, loss: { kind: 'cross-entropy' } },
    },
    { train, eval: evalText },
  );
  data = { teacher: teacher.model!, train, eval: evalText };
}, 120_000);

const job = (overrides: Partial<DistillJob> = {}): DistillJob => ({
  teacher: 'teacher.onnx',
  train: 'train.jsonl',
  eval: 'eval.jsonl',
  studentArch: 'fasttext',
  hidden: [],
  fasttext: { buckets: 1024, dim: 8, maxLength: 256 },
  temperature: 2,
  alpha: 0.5,
  config: { ...config, lr: 2e-2, epochs: 10 },
  ...overrides,
});

describe('distilling a text encoder into fastText (SpamAssassin)', () => {
  it('trains a much smaller student that classifies held-out mail, from raw text', async () => {
    const result = await runDistillJob(job(), data);
    expect(result.teacher.accuracy, 'teacher').toBeGreaterThan(0.9);
    expect(result.metrics.accuracy, 'student').toBeGreaterThan(0.9);
    expect(result.metrics.parameters).toBe(1024 * 8 + 8 * 2 + 2);
    expect(result.metrics.parameters).toBeLessThan(result.teacher.parameters / 5);
    const student = importClassifier(result.model, 'student');
    expect(JSON.parse(result.metricsJson)).toMatchObject({ accuracy: result.metrics.accuracy, steps: result.steps });
    expect(student.text?.kind).toBe('hashed-ngrams');
    expect(student.labelNames).toEqual(['ham', 'spam']);
    expect(parameterCount(student.model)).toBe(result.metrics.parameters);
  }, 60_000);

  it('names the mismatch when a text teacher is given an MLP student', async () => {
    await expect(runDistillJob(job({ studentArch: 'mlp' }), data)).rejects.toThrow(
      /the teacher takes text, so the student does too: use --student-arch fasttext/,
    );
  });
});
