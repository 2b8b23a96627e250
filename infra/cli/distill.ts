// `ratchet distill`: trains a compact student on a teacher model's soft targets mixed with the labels, writing
// OUT/model.onnx, OUT/metrics.json and OUT/checkpoints/, and printing the student's eval metrics (with the
// teacher's) as the last line.
import { join, resolve } from 'node:path';
import { distillJobOf } from '../../core/jobs/engine-job.ts';
import { distillationSchema, trainingSchema } from '../../core/jobs/spec.ts';
import { runDistillJob, studentArchs } from '../../engine/distill/job.ts';
import { loadCheckpoint, saveCheckpoint } from '../../engine/train/checkpoint.ts';
import { oneOf, parseOptions, runCommand, stringOptions } from './args.ts';
import { readInput, writeModel } from './files.ts';
import { progressBar } from './progress.ts';
import { fieldFlags, inputOf, parseFlags } from './spec-flags.ts';

const USAGE =
  `usage: ratchet distill --teacher MODEL.onnx --train FILE --eval FILE --student-arch ${studentArchs.join('|')} ` +
  '--out DIR [--temperature T] [--alpha A] [--hidden 32 (mlp)] [--buckets N] [--dim N] [--word-ngrams N] ' +
  '[--char-ngrams MIN,MAX] [--max-length N] (fasttext) [--epochs N] [--max-steps N] [--batch-size N] [--lr X] ' +
  '[--checkpoint-every N (default once per epoch)] [--resume CHECKPOINT_DIR (same flags)] [--seed N] [--threads N] ' +
  '[--ep cpu|cuda|auto]';

/** Every flag that spells a field of the job spec's distillation (core/jobs/spec.ts). */
export const DISTILLATION_FLAGS = {
  ...fieldFlags('', { temperature: 'number', alpha: 'number' }),
  ...fieldFlags('student.', { hidden: 'ints' }),
  ...fieldFlags('student.fasttext.', {
    buckets: 'int',
    dim: 'int',
    'word-ngrams': 'int',
    'char-ngrams': 'pair',
    'max-length': 'int',
  }),
  ...fieldFlags('config.', {
    epochs: 'int',
    'max-steps': 'int',
    'batch-size': 'int',
    lr: 'number',
    'checkpoint-every': 'int',
    threads: 'int',
  }),
};

/** The student shares the seed of the teacher's training, as in a job. */
const SHARED_FLAGS = fieldFlags('config.', { seed: 'int' });

const flags = stringOptions(
  ...(Object.keys({ ...DISTILLATION_FLAGS, ...SHARED_FLAGS }) as (
    keyof typeof DISTILLATION_FLAGS | keyof typeof SHARED_FLAGS
  )[]),
  ...(['teacher', 'train', 'eval', 'student-arch', 'out', 'ep', 'resume'] as const),
);

/** The job spec's distillation the flags spell, defaults filled in by the spec's schema. */
export function distillationFromFlags(opts: Partial<Record<keyof typeof flags, string>>) {
  const studentArch = oneOf('--student-arch', opts['student-arch'], studentArchs);
  const sizes = studentArch === 'fasttext' ? 'student.fasttext.' : 'student.hidden';
  const foreign = Object.entries(DISTILLATION_FLAGS)
    .filter(([flag]) => opts[flag as keyof typeof DISTILLATION_FLAGS] !== undefined)
    .filter(([, { field }]) => field.startsWith('student.') && !field.startsWith(sizes));
  if (foreign.length > 0) {
    throw new Error(`--${foreign.map(([flag]) => flag).join(', --')} do not apply to --student-arch ${studentArch}`);
  }
  const input = inputOf(DISTILLATION_FLAGS, opts) as { student?: Record<string, unknown> };
  // The student's kind is the key its sizes sit under; an architecture given no sizes takes the defaults.
  input.student = { ...(studentArch === 'fasttext' ? { fasttext: {} } : {}), ...input.student };
  return parseFlags(distillationSchema, DISTILLATION_FLAGS, input, `to --student-arch ${studentArch}`);
}

export function run(args: string[]): Promise<number> {
  return runCommand('distill', USAGE, args, async () => {
    const opts = parseOptions(args, flags);
    for (const required of ['teacher', 'train', 'eval', 'student-arch', 'out'] as const) {
      if (!opts[required]) throw new Error(`--${required} is required; ${USAGE}`);
    }
    const ep = oneOf('--ep', opts.ep, ['cpu', 'cuda', 'auto'] as const) ?? 'cpu';
    const { seed } = parseFlags(trainingSchema, SHARED_FLAGS, inputOf(SHARED_FLAGS, opts)).config;
    const files = { teacher: resolve(opts.teacher!), train: resolve(opts.train!), eval: resolve(opts.eval!) };
    const distillation = distillationFromFlags(opts);
    // --threads is the student's and the teacher's alike; unset, the teacher's logits take the engine's default.
    const job = distillJobOf(distillation, files, {
      seed,
      threads: opts.threads ? distillation.config.threads : undefined,
    });
    const inputs = {
      teacher: await readInput(files.teacher, 'teacher model'),
      train: await readInput(files.train, 'train'),
      eval: await readInput(files.eval, 'eval'),
    };
    // A checkpoint resumes only the distillation that wrote it: the same flags, teacher and data.
    const resume = opts.resume ? await loadCheckpoint(resolve(opts.resume)) : undefined;
    const out = resolve(opts.out!);
    const bar = progressBar(process.stderr, { examplesPerStep: job.config.batchSize });
    const result = await runDistillJob(job, inputs, {
      ep,
      resume,
      onProgress: bar.update,
      onCheckpoint: async (files, step) => void (await saveCheckpoint(join(out, 'checkpoints'), step, files)),
    }).finally(bar.done);
    await writeModel(out, result);
    console.error(`ratchet distill: ran on the ${result.ep} execution provider`);
    console.log(JSON.stringify({ ...result.metrics, ep: result.ep, teacher: result.teacher }));
    return 0;
  });
}
