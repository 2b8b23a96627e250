// `ratchet train`: trains an MLP or a text model (encoder, fastText) from scratch or fine-tunes a base ONNX classifier,
// writing OUT/model.onnx, OUT/metrics.json and OUT/checkpoints/, and printing the final eval metrics as the last stdout line.
import { resolve } from 'node:path';
import { lossKinds } from '../../engine/losses/index.ts';
import { methodUsage, parseMethod } from '../../engine/models/methods.ts';
import { loadCheckpoint } from '../../engine/train/checkpoint.ts';
import { TRAINING_DEFAULTS } from '../../engine/train/defaults.ts';
import { resumedJob, runTrainJob, type TrainJob } from '../../engine/train/job.ts';
import { nonNegativeInt, number, oneOf, parseOptions, positiveInt, runCommand } from './args.ts';
import { progressBar } from './progress.ts';
import { textArchFlags, textArchFromFlags, textArchUsage } from './text-arch.ts';

const USAGE = `usage: ratchet train --train FILE [--eval FILE] --out DIR [options]

  --train FILE             JSONL {"features": [...], "label": ...} (or {"text": ...} for text models) to train on
  --eval FILE              JSONL to evaluate on (default: 20 % of each class of --train, held out)
  --out DIR                gets model.onnx, metrics.json and checkpoints/
  --base MODEL.onnx        fine-tune this ONNX classifier instead of training an MLP from scratch
  --arch A                 the architecture trained from scratch: mlp (default), encoder or fasttext
  --hidden 64,64           hidden layer widths of the MLP
  --method M               ${methodUsage} (default full)
  --epochs N               passes over the data (default 10, ${TRAINING_DEFAULTS.encoder.epochs} for --arch encoder, unless --max-steps)
  --max-steps N            optimiser updates; wins over --epochs
  --batch-size N           rows per micro-batch (default 32)
  --accumulation N         micro-batches per update (default 1)
  --lr X                   peak learning rate (default 0.001, ${TRAINING_DEFAULTS.fasttext.lr} for --arch fasttext), cosine decay to 0
  --warmup-steps N         linear warm-up (default 0)
  --optimizer adamw|sgd    (default adamw)
  --weight-decay X         (default 0.01 for adamw, 0 for sgd)
  --loss L                 cross-entropy|bce-with-logits|mse (default cross-entropy)
  --label-smoothing X      for cross-entropy, in [0, 1)
  --clip-norm X            clip the global gradient norm to X
  --eval-every N           steps between evaluations (default once per epoch)
  --patience N             stop after N evaluations without a lower eval loss
  --checkpoint-every N     steps between checkpoints (default once per epoch)
  --resume DIR             continue from a checkpoint directory with its settings
  --seed N                 (default 0)
  --ep cpu|cuda|auto       execution provider (default cpu)
  --threads N              intra-op threads (default 2)
${textArchUsage}`;

const flags = {
  train: { type: 'string' },
  eval: { type: 'string' },
  base: { type: 'string' },
  arch: { type: 'string' },
  hidden: { type: 'string' },
  method: { type: 'string' },
  epochs: { type: 'string' },
  'max-steps': { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  seed: { type: 'string' },
  ep: { type: 'string' },
  threads: { type: 'string' },
  'checkpoint-every': { type: 'string' },
  'eval-every': { type: 'string' },
  patience: { type: 'string' },
  accumulation: { type: 'string' },
  optimizer: { type: 'string' },
  'weight-decay': { type: 'string' },
  'warmup-steps': { type: 'string' },
  'label-smoothing': { type: 'string' },
  'clip-norm': { type: 'string' },
  loss: { type: 'string' },
  resume: { type: 'string' },
  out: { type: 'string' },
  ...textArchFlags,
} as const;
type Flags = ReturnType<typeof parseOptions<typeof flags>>;

// A resumed run takes everything from its checkpoint but where to write, where to run, and where its files now are.
const resumeFlags = new Set(['resume', 'out', 'ep', 'train', 'eval', 'base']);

function jobFromFlags(opts: Flags): TrainJob {
  if (!opts.train) throw new Error('--train is required (see ratchet train --help)');
  const text = textArchFromFlags(opts.arch, opts);
  if (text && opts.base) throw new Error(`--arch ${text.kind} builds a model from scratch; with --base drop --arch`);
  const hidden = (opts.hidden ?? '64,64').split(',').map((h) => positiveInt('--hidden', h.trim())!);
  const method = opts.method ?? 'full';
  parseMethod(method);
  const maxSteps = positiveInt('--max-steps', opts['max-steps']);
  const defaults = TRAINING_DEFAULTS[text?.kind ?? 'mlp'];
  const epochs = positiveInt('--epochs', opts.epochs) ?? (maxSteps === undefined ? defaults.epochs : undefined);
  const optimizer = oneOf('--optimizer', opts.optimizer, ['adamw', 'sgd'] as const) ?? 'adamw';
  const weightDecay = number('--weight-decay', opts['weight-decay'], (n) => n >= 0, 'a number >= 0');
  const smoothing = number('--label-smoothing', opts['label-smoothing'], (n) => n >= 0 && n < 1, 'in [0, 1)');
  const loss = oneOf('--loss', opts.loss, lossKinds) ?? 'cross-entropy';
  const config: TrainJob['config'] = {
    batchSize: positiveInt('--batch-size', opts['batch-size']) ?? 32,
    epochs,
    maxSteps,
    lr: number('--lr', opts.lr, (n) => n > 0, 'a number > 0') ?? defaults.lr,
    warmupSteps: nonNegativeInt('--warmup-steps', opts['warmup-steps']) ?? 0,
    decay: 'cosine',
    optimizer: optimizer === 'adamw' ? { kind: 'adamw', weightDecay } : { kind: 'sgd', weightDecay },
    loss: loss === 'cross-entropy' ? { kind: loss, smoothing } : { kind: loss },
    clipNorm: number('--clip-norm', opts['clip-norm'], (n) => n > 0, 'a number > 0'),
    accumulation: positiveInt('--accumulation', opts.accumulation) ?? 1,
    seed: nonNegativeInt('--seed', opts.seed) ?? 0,
    evalEvery: positiveInt('--eval-every', opts['eval-every']),
    patience: positiveInt('--patience', opts.patience),
    checkpointEvery: positiveInt('--checkpoint-every', opts['checkpoint-every']),
    threads: positiveInt('--threads', opts.threads) ?? 2,
  };
  return {
    train: resolve(opts.train),
    eval: opts.eval && resolve(opts.eval),
    base: opts.base && resolve(opts.base),
    hidden,
    method,
    ...(text ? { text } : {}),
    config: JSON.parse(JSON.stringify(config)), // drops undefined, as the checkpoint's JSON will
  };
}

export function run(args: string[]): Promise<number> {
  return runCommand('train', USAGE, args, async () => {
    const opts = parseOptions(args, flags);
    if (!opts.out) throw new Error('--out is required (see ratchet train --help)');
    const ep = oneOf('--ep', opts.ep, ['cpu', 'cuda', 'auto'] as const) ?? 'cpu';
    const resume = opts.resume ? await loadCheckpoint(opts.resume) : undefined;
    if (resume) {
      const given = Object.keys(opts).filter((k) => !resumeFlags.has(k));
      if (given.length > 0) {
        throw new Error(`--resume continues the checkpoint's run with its settings; drop --${given.join(', --')}`);
      }
    }
    const job = resume ? resumedJob(resume, opts) : jobFromFlags(opts);

    const controller = new AbortController();
    const interrupt = () => controller.abort();
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    const bar = progressBar(process.stderr);
    const result = await runTrainJob(job, {
      out: opts.out,
      ep,
      resume,
      signal: controller.signal,
      onProgress: bar.update,
    }).finally(() => {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
      bar.done();
    });
    console.error(`ratchet train: ran on the ${result.ep} execution provider`);
    if (!result.metrics) {
      console.error(`ratchet train: interrupted at step ${result.step}; resume with --resume ${result.lastCheckpoint}`);
      return 130;
    }
    console.log(JSON.stringify({ ...result.metrics, ep: result.ep }));
    return 0;
  });
}
