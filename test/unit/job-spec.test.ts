// One job spec (core/jobs/spec.ts), two spellings: every `ratchet train` / `ratchet distill` flag and the API field
// it names land in the same parsed spec, and every field of the API's training and distillation has a flag.
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { createJobBody } from '../../api/routes/job-schemas.ts';
import { distillJobOf } from '../../core/jobs/engine-job.ts';
import { distillationSchema, trainingSchema, type DistillationInput } from '../../core/jobs/spec.ts';
import { DISTILLATION_FLAGS, distillationFromFlags } from '../../infra/cli/distill.ts';
import type { SpecFlag } from '../../infra/cli/spec-flags.ts';
import { TRAINING_FLAGS, trainingFromFlags } from '../../infra/cli/train.ts';

/** A valid value for each flag, as typed and as JSON; the rest take a small integer or a fraction. */
const SAMPLES: Record<string, [string, unknown]> = {
  hidden: ['16,8', [16, 8]],
  method: ['lora:4', 'lora:4'],
  decay: ['linear', 'linear'],
  optimizer: ['sgd', 'sgd'],
  loss: ['mse', 'mse'],
  precision: ['fp16', 'fp16'],
  pooling: ['cls', 'cls'],
  heads: ['8', 8],
  'd-model': ['32', 32],
  'char-ngrams': ['2,4', [2, 4]],
};
const sample = (flag: string, { reads }: SpecFlag): [string, unknown] =>
  SAMPLES[flag] ?? (reads === 'number' ? ['0.25', 0.25] : ['3', 3]);

/** `value` at the dotted `field` of a fresh object. */
function at(field: string, value: unknown): Record<string, unknown> {
  return field
    .split('.')
    .reverse()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
}

const FASTTEXT_ONLY = ['buckets', 'dim', 'word-ngrams', 'char-ngrams'];
const apiJob = (extra: Record<string, unknown>) =>
  createJobBody.parse({
    model: 'spam',
    training_file: 'file-a',
    validation_file: 'file-b',
    policy: { approvalTimeout: '1d' },
    intended_use: 'tests',
    ...extra,
  });

/** Every leaf field of a schema's input (through unions and defaults), as dotted paths. */
function leafFields(schema: z.ZodType): string[] {
  const root = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const defs = (root.$defs ?? {}) as Record<string, Record<string, unknown>>;
  const walk = (node: Record<string, unknown>, path: string[]): string[] => {
    if (typeof node.$ref === 'string') return walk(defs[node.$ref.split('/').at(-1)!], path);
    const branches = [...((node.anyOf ?? node.oneOf ?? []) as Record<string, unknown>[])];
    if (branches.length) return branches.flatMap((branch) => walk(branch, path));
    const properties = node.properties as Record<string, Record<string, unknown>> | undefined;
    if (!properties) return [path.join('.')];
    return Object.entries(properties).flatMap(([key, child]) => walk(child, [...path, key]));
  };
  return [...new Set(walk(root, []))].sort();
}

describe('one job spec', () => {
  it('each ratchet train flag gives the training its API field gives', () => {
    for (const [flag, spec] of Object.entries(TRAINING_FLAGS)) {
      const [text, value] = sample(flag, spec);
      const arch = spec.field.startsWith('text.') ? (FASTTEXT_ONLY.includes(flag) ? 'fasttext' : 'encoder') : undefined;
      // An optimiser or loss setting needs its kind in the API; the CLI gives it the spec's default (SGD for --momentum).
      const kind = /^config\.(optimizer|loss)\.(?!kind)/.exec(spec.field)?.[1];
      const opts = { [flag]: text, ...(arch ? { arch } : {}), ...(flag === 'momentum' ? { optimizer: 'sgd' } : {}) };
      const kindOf = { optimizer: flag === 'momentum' ? 'sgd' : 'adamw', loss: 'cross-entropy' };
      const training = [
        at(spec.field, value),
        arch ? { text: { kind: arch } } : {},
        kind ? at(`config.${kind}.kind`, kindOf[kind as keyof typeof kindOf]) : {},
      ].reduce(merge, {});
      expect(trainingFromFlags(opts), `--${flag}`).toEqual(apiJob({ training }).training);
    }
  });

  it('each ratchet distill flag gives the distillation its API field gives', () => {
    for (const [flag, spec] of Object.entries(DISTILLATION_FLAGS)) {
      const [text, value] = sample(flag, spec);
      const studentArch = spec.field.startsWith('student.fasttext.') ? 'fasttext' : 'mlp';
      const distillation = merge(
        at(spec.field, value),
        studentArch === 'fasttext' ? { student: { fasttext: {} } } : { student: {} },
      );
      expect(distillationFromFlags({ [flag]: text, 'student-arch': studentArch }), `--${flag}`).toEqual(
        apiJob({ training: studentArch === 'fasttext' ? { text: { kind: 'fasttext' } } : {}, distillation })
          .distillation,
      );
    }
  });

  it('every API field of training and distillation has a flag (kinds through --arch, --optimizer, --loss)', () => {
    const byFlag = (table: Record<string, SpecFlag>) => Object.values(table).map((f) => f.field);
    const training = new Set([...byFlag(TRAINING_FLAGS), 'text.kind']);
    expect(leafFields(trainingSchema).filter((field) => !training.has(field))).toEqual([]);
    expect(leafFields(distillationSchema).filter((field) => !byFlag(DISTILLATION_FLAGS).includes(field))).toEqual([]);
  });

  it('nothing given is the same spec either way, defaults filled in once', () => {
    const defaults = trainingFromFlags({});
    expect(defaults).toEqual(apiJob({ training: {} }).training);
    expect(defaults.config).toMatchObject({ batchSize: 32, lr: 1e-3, epochs: 10, seed: 0, threads: 2 });
    expect(trainingFromFlags({ arch: 'fasttext' }).config).toMatchObject({ lr: 1e-2, epochs: 10, threads: 1 });
    expect(trainingFromFlags({ arch: 'fasttext', threads: '2' }).config.threads).toBe(2);
    expect(trainingFromFlags({ arch: 'encoder' }).config.threads).toBe(2);
    expect(trainingFromFlags({ 'max-steps': '50' }).config.epochs).toBeUndefined();
  });

  it('a bad flag is named as the user typed it', () => {
    expect(() => trainingFromFlags({ lr: '-1' })).toThrow(/^--lr: /);
    expect(() => trainingFromFlags({ arch: 'encoder', buckets: '8' })).toThrow(
      '--buckets do not apply to --arch encoder',
    );
    expect(() => trainingFromFlags({ heads: '3', arch: 'encoder' })).toThrow(
      /--heads: dModel must be a multiple of heads/,
    );
    expect(() => distillationFromFlags({ 'student-arch': 'mlp', dim: '8' })).toThrow(
      '--dim do not apply to --student-arch mlp',
    );
    expect(() => distillationFromFlags({ 'student-arch': 'mlp', alpha: '2' })).toThrow(
      /--alpha: distillation alpha must be in \[0, 1\], got 2/,
    );
  });
});

describe("a distillation's threads", () => {
  const files = { teacher: 'teacher.onnx', train: 'train.jsonl', eval: 'eval.jsonl' };
  const job = (distillation: DistillationInput, threads?: number) =>
    distillJobOf(distillation, files, { seed: 1, threads });

  it("trains a fastText student on one thread and an MLP on the job's; the teacher's logits take the job's", () => {
    const fasttext = job({ student: { fasttext: {} } }, 2);
    expect([fasttext.config.threads, fasttext.teacherThreads]).toEqual([1, 2]);
    const mlp = job({ student: { hidden: [8] } }, 2);
    expect([mlp.config.threads, mlp.teacherThreads]).toEqual([2, 2]);
  });

  it('takes the threads the distillation names, for either student', () => {
    expect(job({ student: { fasttext: {} }, config: { threads: 2 } }, 4).config.threads).toBe(2);
    expect(job({ student: {}, config: { threads: 1 } }, 2).config.threads).toBe(1);
    expect(distillationFromFlags({ 'student-arch': 'fasttext', threads: '2' }).config.threads).toBe(2);
  });
});

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const mine = out[key];
    out[key] =
      mine &&
      typeof mine === 'object' &&
      !Array.isArray(mine) &&
      value &&
      typeof value === 'object' &&
      !Array.isArray(value)
        ? merge(mine as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}
