// A training job end to end, as `ratchet train` and the fine-tune activity run it: load the data and the starting
// model, settle the label map, train with checkpoints, export OUT/model.onnx, score it and write OUT/metrics.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stratifiedSplit } from '../data/index.ts';
import type { Model } from '../ir/index.ts';
import { ENGINE_VERSION, exportInference, sha256, type Lineage } from '../export/inference.ts';
import { fitLabels, importClassifier, loadClassifier, type Classifier } from '../models/base.ts';
import { mergeLora } from '../models/lora.ts';
import { modelForMethod, parseMethod, trainableParams } from '../models/methods.ts';
import { buildMlp } from '../models/mlp.ts';
import { newTextModel, type TextArch } from '../models/text.ts';
import { encodeDataset, pickTexts } from '../text/dataset.ts';
import { textEncoder, type TextEncoding } from '../text/encode.ts';
import { withSession, type ExecutionProvider } from '../runtime/index.ts';
import type { Checkpoint } from './checkpoint.ts';
import { subsetOf, type Examples } from './examples.ts';
import { checkWidth, loadData, loadTexts, readInput } from './files.ts';
import { scoreSession, type Scores } from './score.ts';
import { totalSteps, train, type Progress, type TrainConfig } from './trainer.ts';
import { InvalidInput } from '../invalid-input.ts';

/** What defines a job; stored in every checkpoint so that a new process rebuilds the identical run. */
export interface TrainJob {
  /** Absolute paths of the JSONL data and the optional base model. Without `eval`, 20 % of each class is held out. */
  train: string;
  eval?: string;
  base?: string;
  /** The files' sha256, filled in when the job starts; a resumed job refuses files that differ. */
  sha256?: { train: string; eval?: string; base?: string };
  /** Hidden widths of the MLP trained from scratch (ignored with a base model). */
  hidden: number[];
  /** full | head | bitfit | freeze:PATTERN */
  method: string;
  /** A text model trained from scratch on `{"text", "label"}` data (without it and without a text base: an MLP). */
  text?: TextArch;
  /** The text encoding (tokeniser vocabulary or n-gram hashing), fixed when the job starts so a resume reuses it. */
  textEncoding?: TextEncoding;
  labelNames?: string[];
  /** `checkpointEvery` defaults to once per epoch. */
  config: Omit<TrainConfig, 'ep'>;
}

export interface JobOptions {
  /** Gets model.onnx, metrics.json and checkpoints/. */
  out: string;
  ep?: ExecutionProvider | 'auto';
  resume?: Checkpoint;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  onCheckpoint?: (dir: string, step: number) => void;
}

export interface JobResult {
  stopped: 'completed' | 'early-stopped' | 'aborted';
  step: number;
  ep: ExecutionProvider;
  lastCheckpoint?: string;
  /** The exported model's eval metrics; absent when the job was aborted (nothing is exported then). */
  metrics?: Scores;
}

const HELD_OUT = 0.2;

/** The job a checkpoint belongs to, with its files at new paths where given. */
export function resumedJob(
  checkpoint: Checkpoint,
  moved: { train?: string; eval?: string; base?: string } = {},
): TrainJob {
  const job = checkpoint.state.run as unknown as TrainJob;
  return {
    ...job,
    train: moved.train ? resolve(moved.train) : job.train,
    eval: moved.eval ? resolve(moved.eval) : job.eval,
    base: moved.base ? resolve(moved.base) : job.base,
  };
}

/** Checks a file against the hash a checkpoint recorded, so a resumed run cannot silently train on other data. */
function checkSame(what: string, expected: string | undefined, actual: string | undefined): void {
  if (expected !== undefined && expected !== actual) {
    throw new InvalidInput(
      `the ${what} file changed since the checkpoint was written (sha256 ${actual}, expected ${expected})`,
    );
  }
}

interface Loaded<D> {
  data: D;
  sha256: string;
}

/**
 * The train and eval files read with the label map the starting model settled, checked against the hashes a
 * resumed job recorded; without an eval file, 20 % of each class of the training data is held out.
 */
async function trainAndEval<D extends { labels: Int32Array }>(
  spec: TrainJob,
  load: (path: string, what: string, labelNames?: string[]) => Promise<Loaded<D>>,
  first: Loaded<D> & { data: { labelNames: string[] } },
  labelNames: string[],
  baseSha: string | undefined,
  pick: (data: D, rows: Int32Array) => D,
) {
  const sameOrder = labelNames.join('\n') === first.data.labelNames.join('\n');
  const trainData = sameOrder ? first : await load(spec.train, 'train', labelNames);
  const evalData = spec.eval ? await load(spec.eval, 'eval', labelNames) : undefined;
  checkSame('train', spec.sha256?.train, trainData.sha256);
  checkSame('eval', spec.sha256?.eval, evalData?.sha256);
  checkSame('base model', spec.sha256?.base, baseSha);
  let trainSet = trainData.data;
  let evalSet = evalData?.data;
  if (!evalSet) {
    const split = stratifiedSplit(trainSet.labels, HELD_OUT, spec.config.seed);
    evalSet = pick(trainSet, split.heldOut);
    trainSet = pick(trainSet, split.train);
  }
  return { trainSet, evalSet, sha256: { train: trainData.sha256, eval: evalData?.sha256, base: baseSha } };
}

/** Loads data and model, settles the label map, and picks the trainable parameters. */
async function prepare(spec: TrainJob) {
  const base = spec.base ? loadClassifier(spec.base) : undefined;
  if (spec.text || base?.text) return prepareText(spec, base);
  const method = parseMethod(spec.method);
  const { config } = spec;
  const first = await loadData(spec.train, 'train');
  let start;
  let baseSha: string | undefined;
  if (spec.base) {
    const bytes = await readInput(spec.base, 'base model');
    baseSha = sha256(bytes);
    start = fitLabels(base!, first.data.labelNames, method, config.seed);
  } else {
    const classes = first.data.labelNames.length;
    start = {
      model: buildMlp({ inputs: first.data.width, hidden: spec.hidden, classes, seed: config.seed }),
      labelNames: first.data.labelNames,
    };
  }
  const { labelNames } = start;
  const data = await trainAndEval(spec, loadData, first, labelNames, baseSha, subsetOf);
  const inputs = start.model.graph.inputs[0].shape[1] as number;
  checkWidth(data.trainSet, inputs, 'train');
  checkWidth(data.evalSet, inputs, 'eval');
  const model = modelForMethod(start.model, method, config.seed);
  return {
    spec: { ...spec, labelNames, sha256: data.sha256 },
    model,
    labelNames,
    trainable: trainableParams(model.graph, method),
    trainSet: data.trainSet as Examples,
    evalSet: data.evalSet as Examples,
    text: undefined as TextEncoding | undefined,
  };
}

/**
 * `prepare` for text data. The held-out split comes before the tokeniser, which learns from the training texts
 * alone (a text base model brings its own, a resumed job reuses its checkpoint's); the texts are encoded once, here.
 */
async function prepareText(spec: TrainJob, base: Classifier | undefined) {
  const method = parseMethod(spec.method);
  const { config } = spec;
  const first = await loadTexts(spec.train, 'train');
  let baseSha: string | undefined;
  let start: { model?: Model; labelNames: string[] } = { labelNames: first.data.labelNames };
  if (base) {
    if (!base.text) throw new InvalidInput(`the base model ${spec.base} takes features, not text; drop --arch`);
    baseSha = sha256(await readInput(spec.base!, 'base model'));
    start = fitLabels(base, first.data.labelNames, method, config.seed);
  }
  const { labelNames } = start;
  const data = await trainAndEval(spec, loadTexts, first, labelNames, baseSha, pickTexts);
  const fresh = start.model
    ? { model: start.model, encoding: base!.text! }
    : newTextModel(spec.text!, data.trainSet.texts, labelNames.length, config.seed, spec.textEncoding);
  const encoder = textEncoder(fresh.encoding);
  const model = modelForMethod(fresh.model, method, config.seed);
  return {
    spec: { ...spec, labelNames, textEncoding: fresh.encoding, sha256: data.sha256 },
    model,
    labelNames,
    trainable: trainableParams(model.graph, method),
    trainSet: encodeDataset(data.trainSet, encoder) as Examples,
    evalSet: encodeDataset(data.evalSet, encoder) as Examples,
    text: fresh.encoding as TextEncoding | undefined,
  };
}

export async function runTrainJob(job: TrainJob, opts: JobOptions): Promise<JobResult> {
  const prepared = await prepare(job);
  const { spec, trainSet, evalSet, labelNames } = prepared;
  const perEpoch = totalSteps({ ...spec.config, epochs: 1, maxSteps: undefined }, trainSet.rows);
  const config: TrainConfig = { ...spec.config, ep: opts.ep, checkpointEvery: spec.config.checkpointEvery ?? perEpoch };
  const out = resolve(opts.out);
  await mkdir(join(out, 'checkpoints'), { recursive: true });
  const trainLoss: { step: number; loss: number }[] = [];
  let lastCheckpoint: string | undefined;
  const result = await train({
    model: prepared.model,
    trainable: prepared.trainable,
    train: trainSet,
    eval: evalSet,
    config,
    checkpoints: { dir: join(out, 'checkpoints'), run: spec as unknown as Record<string, unknown> },
    resume: opts.resume,
    signal: opts.signal,
    onProgress: (p) => {
      trainLoss.push({ step: p.step, loss: p.loss });
      opts.onProgress?.(p);
    },
    onCheckpoint: (dir, step) => {
      lastCheckpoint = dir;
      opts.onCheckpoint?.(dir, step);
    },
  });
  const { stopped, step, ep } = result;
  if (stopped === 'aborted') return { stopped, step, ep, lastCheckpoint };

  const sha = spec.sha256!;
  const lineage: Lineage = {
    ...(sha.base ? { base_model_sha256: sha.base } : {}),
    data_sha256: { train: sha.train, ...(sha.eval ? { eval: sha.eval } : {}) },
    hyperparameters: {
      arch: spec.base ? 'base' : (spec.text?.kind ?? 'mlp'),
      ...(spec.base ? {} : spec.text ? { text: spec.text } : { hidden: spec.hidden }),
      ...spec.config,
    },
    seed: spec.config.seed,
    method: spec.method,
    engine_version: ENGINE_VERSION,
  };
  // LoRA adapters are folded into their weights: the exported model has the base model's layout.
  const bytes = exportInference(mergeLora(result.model), labelNames, lineage, prepared.text);
  await writeFile(join(out, 'model.onnx'), bytes);
  // Scored through a fresh session on the exported bytes: the figures describe the file that was written.
  const exported = importClassifier(bytes, join(out, 'model.onnx'));
  const metrics = await withSession(exported.model, { ep }, (session) => scoreSession(session, evalSet));
  const report = {
    ...metrics,
    ep,
    steps: step,
    epochs: result.epoch,
    stopped,
    eval_loss: result.evals.map((e) => ({ step: e.step, loss: e.loss })),
    train_loss: trainLoss,
  };
  await writeFile(join(out, 'metrics.json'), JSON.stringify(report, null, 2) + '\n');
  return { stopped, step, ep, lastCheckpoint, metrics };
}
