// `ratchet train`: trains an MLP from scratch or fine-tunes a base ONNX classifier on JSONL feature data, writing
// OUT/model.onnx, OUT/metrics.json and OUT/checkpoints/, and printing the final eval metrics as the last stdout line.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stratifiedSplit, takeRows, type TabularDataset } from '../data/index.ts';
import { ENGINE_VERSION, exportInference, sha256, type Lineage } from '../export/inference.ts';
import { lossKinds } from '../losses/index.ts';
import { fitLabels, importClassifier } from '../models/base.ts';
import { methodUsage, parseMethod, trainableParams } from '../models/methods.ts';
import { buildMlp } from '../models/mlp.ts';
import { createSession } from '../runtime/index.ts';
import { loadCheckpoint, type Checkpoint } from '../train/checkpoint.ts';
import { totalSteps, train, type TrainConfig } from '../train/trainer.ts';
import { nonNegativeInt, number, oneOf, parseOptions, positiveInt, runCommand } from './args.ts';
import { checkWidth, loadData, readInput } from './files.ts';
import { progressBar } from './progress.ts';
import { scoreSession } from './score.ts';

const USAGE =
  'usage: ratchet train --train FILE [--eval FILE] [--base MODEL.onnx] [--arch mlp] [--hidden 64,64] ' +
  `[--method ${methodUsage}] [--epochs N] [--max-steps N] [--batch-size N] [--lr X] [--seed N] [--ep cpu|cuda|auto] ` +
  '[--checkpoint-every N] [--resume CHECKPOINT_DIR] --out DIR';

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
} as const;
type Flags = ReturnType<typeof parseOptions<typeof flags>>;

// A resumed run takes everything from its checkpoint but where to write, where to run, and where its files now are.
const resumeFlags = new Set(['resume', 'out', 'ep', 'train', 'eval', 'base']);

/** What defines a run; stored in every checkpoint so a new process rebuilds the identical run. */
interface RunSpec {
  train: string;
  eval?: string;
  base?: string;
  sha256: { train: string; eval?: string; base?: string };
  hidden: number[];
  method: string;
  labelNames?: string[];
  config: Omit<TrainConfig, 'ep'>;
}

const HELD_OUT = 0.2;

function specFromFlags(opts: Flags): RunSpec {
  if (!opts.train) throw new Error(`--train is required; ${USAGE}`);
  if (opts.arch !== undefined && opts.arch !== 'mlp') throw new Error(`--arch must be mlp, got '${opts.arch}'`);
  const hidden = (opts.hidden ?? '64,64').split(',').map((h) => positiveInt('--hidden', h.trim())!);
  const method = opts.method ?? 'full';
  parseMethod(method);
  const maxSteps = positiveInt('--max-steps', opts['max-steps']);
  const epochs = positiveInt('--epochs', opts.epochs) ?? (maxSteps === undefined ? 10 : undefined);
  const optimizer = oneOf('--optimizer', opts.optimizer, ['adamw', 'sgd'] as const) ?? 'adamw';
  const weightDecay = number('--weight-decay', opts['weight-decay'], (n) => n >= 0, 'a number >= 0');
  const smoothing = number('--label-smoothing', opts['label-smoothing'], (n) => n >= 0 && n < 1, 'in [0, 1)');
  const loss = oneOf('--loss', opts.loss, lossKinds) ?? 'cross-entropy';
  const config: RunSpec['config'] = {
    batchSize: positiveInt('--batch-size', opts['batch-size']) ?? 32,
    epochs,
    maxSteps,
    lr: number('--lr', opts.lr, (n) => n > 0, 'a number > 0') ?? 1e-3,
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
    sha256: { train: '' },
    hidden,
    method,
    config: JSON.parse(JSON.stringify(config)), // drops undefined, as the checkpoint's JSON will
  };
}

function specFromCheckpoint(checkpoint: Checkpoint, opts: Flags): RunSpec {
  const given = Object.keys(opts).filter((k) => !resumeFlags.has(k));
  if (given.length > 0) {
    throw new Error(`--resume continues the checkpoint's run with its settings; drop --${given.join(', --')}`);
  }
  const spec = checkpoint.state.run as unknown as RunSpec;
  return {
    ...spec,
    train: opts.train ? resolve(opts.train) : spec.train,
    eval: opts.eval ? resolve(opts.eval) : spec.eval,
    base: opts.base ? resolve(opts.base) : spec.base,
  };
}

function subset(data: TabularDataset, rows: Int32Array): TabularDataset {
  const { features, labels } = takeRows(data, rows);
  return { ...data, rows: rows.length, features, labels };
}

/** Checks a file against the hash a checkpoint recorded, so a resumed run cannot silently train on other data. */
function checkSame(what: string, expected: string | undefined, actual: string | undefined): void {
  if (expected !== undefined && expected !== '' && expected !== actual) {
    throw new Error(
      `the ${what} file changed since the checkpoint was written (sha256 ${actual}, expected ${expected})`,
    );
  }
}

/** Loads data and model, settles the label map, and picks the trainable parameters. */
async function prepare(spec: RunSpec) {
  const method = parseMethod(spec.method);
  const { config } = spec;
  const first = await loadData(spec.train, 'train');
  let start;
  let baseSha: string | undefined;
  if (spec.base) {
    const bytes = await readInput(spec.base, 'base model');
    baseSha = sha256(bytes);
    start = fitLabels(importClassifier(bytes, spec.base), first.data.labelNames, method, config.seed);
  } else {
    const classes = first.data.labelNames.length;
    start = {
      model: buildMlp({ inputs: first.data.width, hidden: spec.hidden, classes, seed: config.seed }),
      labelNames: first.data.labelNames,
    };
  }
  const { labelNames } = start;
  const sameOrder = labelNames.join('\n') === first.data.labelNames.join('\n');
  const trainData = sameOrder ? first : await loadData(spec.train, 'train', labelNames);
  const evalData = spec.eval ? await loadData(spec.eval, 'eval', labelNames) : undefined;
  checkSame('train', spec.sha256.train, trainData.sha256);
  checkSame('eval', spec.sha256.eval, evalData?.sha256);
  checkSame('base model', spec.sha256.base, baseSha);
  const inputs = start.model.graph.inputs[0].shape[1] as number;
  checkWidth(trainData.data, inputs, 'train');
  if (evalData) checkWidth(evalData.data, inputs, 'eval');

  let trainSet = trainData.data;
  let evalSet = evalData?.data;
  if (!evalSet) {
    const split = stratifiedSplit(trainSet.labels, HELD_OUT, config.seed);
    evalSet = subset(trainSet, split.heldOut);
    trainSet = subset(trainSet, split.train);
  }
  const resolved: RunSpec = {
    ...spec,
    labelNames,
    sha256: { train: trainData.sha256, eval: evalData?.sha256, base: baseSha },
  };
  return {
    spec: resolved,
    model: start.model,
    labelNames,
    trainable: trainableParams(start.model.graph, method),
    trainSet,
    evalSet,
  };
}

export function run(args: string[]): Promise<number> {
  return runCommand('train', async () => {
    const opts = parseOptions(args, flags);
    if (!opts.out) throw new Error(`--out is required; ${USAGE}`);
    const ep = oneOf('--ep', opts.ep, ['cpu', 'cuda', 'auto'] as const) ?? 'cpu';
    const resume = opts.resume ? await loadCheckpoint(opts.resume) : undefined;
    const prepared = await prepare(resume ? specFromCheckpoint(resume, opts) : specFromFlags(opts));
    const { spec, trainSet, evalSet, labelNames } = prepared;
    const perEpoch = totalSteps({ ...spec.config, epochs: 1, maxSteps: undefined }, trainSet.rows);
    const config: TrainConfig = { ...spec.config, ep, checkpointEvery: spec.config.checkpointEvery ?? perEpoch };

    const out = resolve(opts.out);
    await mkdir(join(out, 'checkpoints'), { recursive: true });
    const controller = new AbortController();
    const interrupt = () => controller.abort();
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    const bar = progressBar(process.stderr);
    const trainLoss: { step: number; loss: number }[] = [];
    let lastCheckpoint: string | undefined;
    const result = await train({
      model: prepared.model,
      trainable: prepared.trainable,
      train: trainSet,
      eval: evalSet,
      config,
      checkpoints: { dir: join(out, 'checkpoints'), run: spec as unknown as Record<string, unknown> },
      resume,
      signal: controller.signal,
      onProgress: (p) => {
        trainLoss.push({ step: p.step, loss: p.loss });
        bar.update(p);
      },
      onCheckpoint: (dir) => (lastCheckpoint = dir),
    }).finally(() => {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
      bar.done();
    });
    console.error(`ratchet train: ran on the ${result.ep} execution provider`);
    if (result.stopped === 'aborted') {
      console.error(`ratchet train: interrupted at step ${result.step}; resume with --resume ${lastCheckpoint}`);
      return 130;
    }

    const lineage: Lineage = {
      ...(spec.sha256.base ? { base_model_sha256: spec.sha256.base } : {}),
      data_sha256: { train: spec.sha256.train, ...(spec.sha256.eval ? { eval: spec.sha256.eval } : {}) },
      hyperparameters: {
        arch: spec.base ? 'base' : 'mlp',
        hidden: spec.base ? undefined : spec.hidden,
        ...spec.config,
      },
      seed: spec.config.seed,
      method: spec.method,
      engine_version: ENGINE_VERSION,
    };
    const bytes = exportInference(result.model, labelNames, lineage);
    await writeFile(join(out, 'model.onnx'), bytes);
    // Scored through a fresh session on the exported bytes: the figures describe the file that was written.
    const exported = importClassifier(bytes, join(out, 'model.onnx'));
    const scores = await scoreSession((await createSession(exported.model, { ep: result.ep })).session, evalSet);
    const report = {
      ...scores,
      ep: result.ep,
      steps: result.step,
      epochs: result.epoch,
      stopped: result.stopped,
      eval_loss: result.evals.map((e) => ({ step: e.step, loss: e.loss })),
      train_loss: trainLoss,
    };
    await writeFile(join(out, 'metrics.json'), JSON.stringify(report, null, 2) + '\n');
    console.log(JSON.stringify({ ...scores, ep: result.ep }));
    return 0;
  });
}
