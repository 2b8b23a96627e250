// `ratchet distill`: trains a compact student on a teacher model's soft targets mixed with the labels, writing
// OUT/model.onnx and OUT/metrics.json and printing the student's eval metrics (with the teacher's) as the last line.
import { resolve } from 'node:path';
import { distillDefaults, studentLr } from '../../engine/distill/defaults.ts';
import { runDistillJob, studentArchs } from '../../engine/distill/job.ts';
import { nonNegativeInt, number, oneOf, parseOptions, positiveInt, runCommand } from './args.ts';
import { progressBar } from './progress.ts';

const USAGE =
  `usage: ratchet distill --teacher MODEL.onnx --train FILE --eval FILE --student-arch ${studentArchs.join('|')} ` +
  '--out DIR [--temperature T] [--alpha A] [--hidden 32 (mlp)] [--buckets N] [--dim N] (fasttext) [--epochs N] ' +
  '[--batch-size N] [--lr X] [--seed N] [--ep cpu|cuda|auto]';

const flags = {
  teacher: { type: 'string' },
  train: { type: 'string' },
  eval: { type: 'string' },
  'student-arch': { type: 'string' },
  out: { type: 'string' },
  temperature: { type: 'string' },
  alpha: { type: 'string' },
  hidden: { type: 'string' },
  buckets: { type: 'string' },
  dim: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  seed: { type: 'string' },
  ep: { type: 'string' },
  threads: { type: 'string' },
} as const;

export function run(args: string[]): Promise<number> {
  return runCommand('distill', USAGE, args, async () => {
    const opts = parseOptions(args, flags);
    for (const required of ['teacher', 'train', 'eval', 'student-arch', 'out'] as const) {
      if (!opts[required]) throw new Error(`--${required} is required; ${USAGE}`);
    }
    const studentArch = oneOf('--student-arch', opts['student-arch'], studentArchs)!;
    const ep = oneOf('--ep', opts.ep, ['cpu', 'cuda', 'auto'] as const) ?? 'cpu';
    const job = {
      teacher: resolve(opts.teacher!),
      train: resolve(opts.train!),
      eval: resolve(opts.eval!),
      studentArch,
      hidden: (opts.hidden ?? '32').split(',').map((h) => positiveInt('--hidden', h.trim())!),
      fasttext: JSON.parse(
        JSON.stringify({ buckets: positiveInt('--buckets', opts.buckets), dim: positiveInt('--dim', opts.dim) }),
      ),
      temperature:
        number('--temperature', opts.temperature, (n) => n > 0, 'a number > 0') ?? distillDefaults.temperature,
      alpha: number('--alpha', opts.alpha, (n) => n >= 0 && n <= 1, 'in [0, 1]') ?? distillDefaults.alpha,
      config: {
        batchSize: positiveInt('--batch-size', opts['batch-size']) ?? distillDefaults.batchSize,
        epochs: positiveInt('--epochs', opts.epochs) ?? distillDefaults.epochs,
        lr: number('--lr', opts.lr, (n) => n > 0, 'a number > 0') ?? studentLr(studentArch),
        decay: 'cosine' as const,
        optimizer: { kind: 'adamw' as const },
        seed: nonNegativeInt('--seed', opts.seed) ?? 0,
        threads: positiveInt('--threads', opts.threads) ?? 2,
      },
    };
    const bar = progressBar(process.stderr);
    const result = await runDistillJob(job, { out: opts.out!, ep, onProgress: bar.update }).finally(bar.done);
    console.error(`ratchet distill: ran on the ${result.ep} execution provider`);
    console.log(JSON.stringify({ ...result.metrics, ep: result.ep, teacher: result.teacher }));
    return 0;
  });
}
