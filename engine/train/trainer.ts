import * as ort from 'onnxruntime-node';
import { InvalidInput } from '../invalid-input.ts';
import type { Model, TensorData } from '../ir/index.ts';
import type { LossSpec } from '../losses/index.ts';
import { LOGITS } from '../models/layout.ts';
import { learningRate, type Decay, type OptimizerConfig, type Schedule } from '../optim/index.ts';
import { nativeRunner, type EngineSession, type ExecutionProvider } from '../runtime/index.ts';
import { CHECKPOINT_FORMAT, type Checkpoint, type RunPosition } from './checkpoint.ts';
import { compileTraining, type CompiledTraining, type Precision } from './compile.ts';
import { advanceLossScale, initialLossScale, type LossScale } from './loss-scale.ts';
import { DROPOUT_KEY, dropoutKey } from './dropout.ts';
import type { Examples } from './examples.ts';
import { GRADS_FINITE, LOSS, LOSS_SCALE, LR, STEP, next } from './names.ts';
import { checkpointTensors, initialState, paramsOf, startPosition, trainedWeights, type StepState } from './state.ts';
import { CHUNK_LOSSES, CHUNK_STEPS, stacked, stackedDims } from './chunk.ts';
import { StateBuffers } from './state-buffers.ts';
import {
  evaluate,
  microBatches,
  openSessions,
  releaseSessions,
  scalarTensor,
  stackFeeds,
  stackedBytes,
  zeroGradSums,
  type MicroBatches,
  type Sessions,
} from './steps.ts';

export interface TrainConfig {
  batchSize: number;
  /** Passes over the training data; `maxSteps` (optimiser updates) wins when both are given. */
  epochs?: number;
  maxSteps?: number;
  lr: number;
  warmupSteps?: number;
  decay?: Decay;
  minLr?: number;
  optimizer: OptimizerConfig;
  loss: LossSpec;
  clipNorm?: number;
  accumulation?: number;
  seed: number;
  /** Steps between evaluations on the eval set (default: once per epoch). */
  evalEvery?: number;
  /** Stop after this many evaluations without a lower eval loss. */
  patience?: number;
  checkpointEvery?: number;
  ep?: ExecutionProvider | 'auto';
  threads?: number;
  /**
   * 'fp16': mixed precision — float16 compute, float32 master weights and optimiser, dynamic loss scaling
   * (engine/train/autocast.ts, loss-scale.ts). Default 'fp32'.
   */
  precision?: Precision;
  /** Mixed precision: the loss scale to start from (default 2^16) and the finite updates after which it doubles (2000). */
  lossScale?: number;
  lossScaleGrowth?: number;
}

export interface EvalResult {
  step: number;
  epoch: number;
  loss: number;
  /** rows × classes, row-major, in the eval set's order. */
  logits: Float32Array;
}

export interface Progress {
  step: number;
  totalSteps: number;
  epoch: number;
  /** Mean training loss over this update's micro-batches. */
  loss: number;
  lr: number;
  /** Since the run began, when this update ended (a chunk's updates, engine/train/chunk.ts, spaced evenly over its run). */
  elapsedMs: number;
  eval?: EvalResult;
  /** Mixed precision: whether this update was skipped for overflowing gradients, and the loss scale after it. */
  skipped?: boolean;
  lossScale?: number;
}

export interface TrainOptions {
  /** A classifier (`features`, or a text model's inputs) → `logits`; its trainable initializers are the starting weights. */
  model: Model;
  trainable: string[];
  train: Examples;
  eval?: Examples;
  config: TrainConfig;
  /** What the caller needs to rebuild the run (stored in each checkpoint), and where each checkpoint goes (awaited). */
  checkpoints?: { run: Record<string, unknown>; save: (checkpoint: Checkpoint) => void | Promise<void> };
  resume?: Checkpoint;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** With the distillation loss: the teacher's logits for every training row (rows × classes, row-major). */
  teacherLogits?: Float32Array;
  /**
   * At most this many updates in one ONNX Runtime run (default MAX_CHUNK; 1 runs the plain step graph, as before
   * chunks). The result does not depend on it; benches and tests compare the two.
   */
  stepsPerRun?: number;
}

export interface TrainResult {
  /** The input model with the trained weights in its initializers. */
  model: Model;
  /** The execution provider the steps ran on. */
  ep: ExecutionProvider;
  step: number;
  epoch: number;
  stopped: 'completed' | 'early-stopped' | 'aborted';
  evals: EvalResult[];
  /** Mixed precision: the loss scale where the run ended. */
  lossScale?: LossScale;
}

/** The number of optimiser updates a run makes. */
export function totalSteps(config: TrainConfig, rows: number): number {
  const perEpoch = Math.ceil(Math.ceil(rows / config.batchSize) / (config.accumulation ?? 1));
  if (config.maxSteps !== undefined) return config.maxSteps;
  if (config.epochs !== undefined) return config.epochs * perEpoch;
  throw new InvalidInput('give epochs or maxSteps');
}

function validate(config: TrainConfig): void {
  const positiveInt = (name: string, v: number | undefined, optional = true) => {
    if (v === undefined && optional) return;
    if (!Number.isInteger(v) || v! < 1) throw new InvalidInput(`${name} must be a positive integer, got ${v}`);
  };
  positiveInt('batch size', config.batchSize, false);
  positiveInt('epochs', config.epochs);
  positiveInt('max steps', config.maxSteps);
  positiveInt('eval every', config.evalEvery);
  positiveInt('patience', config.patience);
  positiveInt('checkpoint every', config.checkpointEvery);
  positiveInt('loss scale growth', config.lossScaleGrowth);
  if (config.precision !== undefined && config.precision !== 'fp32' && config.precision !== 'fp16') {
    throw new InvalidInput(`precision must be fp32 or fp16, got ${config.precision}`);
  }
  if (config.lossScale !== undefined && !(config.lossScale > 0 && Number.isFinite(Math.fround(config.lossScale)))) {
    throw new InvalidInput(`loss scale must be a positive float32, got ${config.lossScale}`);
  }
  if (!(config.lr > 0 && Number.isFinite(config.lr))) {
    throw new InvalidInput(`learning rate must be > 0, got ${config.lr}`);
  }
  if (config.epochs === undefined && config.maxSteps === undefined) throw new InvalidInput('give epochs or max steps');
  if (config.optimizer.kind === 'adamw') {
    // A β of 1 never forgets and a moment's sum (engine/optim/adamw.ts) would grow without bound.
    for (const [name, beta] of [
      ['beta1', config.optimizer.beta1],
      ['beta2', config.optimizer.beta2],
    ] as const) {
      if (beta !== undefined && !(beta >= 0 && beta < 1))
        throw new InvalidInput(`AdamW ${name} must be in [0, 1), got ${beta}`);
    }
  }
}

/** Model weights written back: `tensors` (by name) replace the model's initializers of the same name. */
export function withWeights(model: Model, tensors: Map<string, TensorData>): Model {
  const initializers = new Map(model.graph.initializers);
  for (const [name, t] of tensors) if (initializers.has(name)) initializers.set(name, t);
  return { ...model, graph: { ...model.graph, initializers } };
}

/**
 * Trains `trainable` of `model` on `train` with the compiled train-step graph, feeding each step's updated
 * parameters and optimiser state (ORT tensors) straight back as the next step's inputs.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  validate(opts.config);
  const { stepsPerRun } = opts;
  if (stepsPerRun !== undefined && !(Number.isInteger(stepsPerRun) && stepsPerRun >= 1)) {
    throw new InvalidInput(`steps per run must be a positive integer, got ${stepsPerRun}`);
  }
  const classes = classesOf(opts.model);
  checkTeacher(opts, classes);
  const threads = opts.config.threads ?? 2;
  // The engine's own kernels run in the native runner's CPU sessions; CUDA, or `auto` that may pick it, keeps ONNX ops.
  const ownKernels = (opts.config.ep ?? 'cpu') === 'cpu' && (await nativeRunner()) !== undefined;
  const compiled = compileSteps(opts, classes, threads, ownKernels);
  const chunked = (opts.stepsPerRun ?? defaultStepsPerRun(compiled)) > 1;
  const sessions = await openSessions(compiled, { ep: opts.config.ep, threads, chunked, withEval: Boolean(opts.eval) });
  // Sessions hold native memory (their arenas) until released: a worker trains many jobs in one process.
  try {
    const run = startRun(opts, compiled, classes);
    const { stopped, evals } = await runSteps(run, sessions);
    const model = withWeights(opts.model, trainedWeights(compiled, run.state));
    const { step, epoch, lossScale } = run.position;
    return { model, ep: sessions.ep, step, epoch, stopped, evals, ...(lossScale ? { lossScale } : {}) };
  } finally {
    await releaseSessions(sessions);
  }
}

/** The number of classes the model's logits output has. */
function classesOf(model: Model): number {
  const classes = Number(model.graph.outputs.find((o) => o.name === LOGITS)?.shape[1]);
  if (!Number.isInteger(classes)) throw new Error(`the model's '${LOGITS}' output needs a fixed class dimension`);
  return classes;
}

/** The distillation loss needs a teacher logit for every training row and class. */
function checkTeacher({ config, train: data, teacherLogits: teacher }: TrainOptions, classes: number): void {
  if (config.loss.kind === 'distill' && teacher?.length !== data.rows * classes) {
    throw new Error(
      `the distillation loss needs the teacher's logits for each of the ${data.rows} training rows × ${classes} ` +
        `classes, got ${teacher === undefined ? 'none' : `${teacher.length} values`}`,
    );
  }
}

/** The step graph (with the optimiser), the accumulate graph when updates accumulate, and the eval graph. */
function compileSteps(
  { model, trainable, config }: TrainOptions,
  classes: number,
  threads: number,
  ownKernels: boolean,
): CompiledTraining {
  return compileTraining(model, {
    ownKernels,
    trainable,
    classes,
    loss: config.loss,
    optimizer: config.optimizer,
    clipNorm: config.clipNorm,
    accumulation: config.accumulation ?? 1,
    precision: config.precision,
    threads,
  });
}

/** A run in progress: what its steps read, and the state and position they advance. */
interface Run {
  opts: TrainOptions;
  compiled: CompiledTraining;
  classes: number;
  state: StepState;
  /** Where each run writes the state after it. */
  buffers: StateBuffers;
  /** Under gradient accumulation: where each micro-batch's run writes the gradient sums, and the zeros they start at. */
  sumBuffers: StateBuffers;
  zeroSums?: Map<string, ort.Tensor>;
  position: RunPosition;
  total: number;
  evalEvery: number;
  schedule: Schedule;
  microBatches: MicroBatches;
  /** The step last checkpointed (see `checkpoint`). */
  checkpointedStep?: number;
}

/** A run from its initial state, or from where `opts.resume` stood. */
function startRun(opts: TrainOptions, compiled: CompiledTraining, classes: number): Run {
  const { config, train: data } = opts;
  const state = initialState(compiled, opts.resume);
  const position = startPosition(config.seed, opts.resume);
  if (compiled.lossScaled) position.lossScale ??= initialLossScale(config.lossScale);
  const total = totalSteps(config, data.rows);
  const targets = { loss: config.loss, classes, teacher: opts.teacherLogits };
  return {
    opts,
    compiled,
    classes,
    state,
    buffers: new StateBuffers(),
    sumBuffers: new StateBuffers(),
    position,
    total,
    evalEvery: config.evalEvery ?? Math.max(1, totalSteps({ ...config, epochs: 1, maxSteps: undefined }, data.rows)),
    schedule: {
      lr: config.lr,
      totalSteps: total,
      warmupSteps: config.warmupSteps,
      decay: config.decay,
      minLr: config.minLr,
    },
    microBatches: microBatches(data, config.batchSize, targets, position),
  };
}

/** One optimiser update as reported: where the run stood after it, its mean loss and learning rate. */
interface Update {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  skipped: boolean;
}

/**
 * Optimiser updates, run one at a time or in chunks, each reported in order; after each run, the evaluation,
 * checkpoint and early stop that fall due, until the run ends or stops.
 */
async function runSteps(run: Run, sessions: Sessions): Promise<Pick<TrainResult, 'stopped' | 'evals'>> {
  const { opts, position } = run;
  const { config } = opts;
  const evals: EvalResult[] = [];
  const started = performance.now();
  const pace = { msPerStep: Infinity };
  while (position.step < run.total) {
    if (opts.signal?.aborted) {
      await checkpoint(run);
      return { stopped: 'aborted', evals };
    }
    const runStarted = performance.now();
    const updates = sessions.chunked
      ? await updateChunk(run, sessions.step, chunkLength(run, pace.msPerStep, Boolean(sessions.eval)))
      : [await update(run, sessions)];
    const runMs = performance.now() - runStarted;
    pace.msPerStep = runMs / updates.length;
    const evaluated = await evaluateIfDue(run, sessions.eval);
    if (evaluated) evals.push(evaluated);
    for (const [i, { step, epoch, loss, lr, skipped }] of updates.entries()) {
      const last = i === updates.length - 1;
      opts.onProgress?.({
        step,
        totalSteps: run.total,
        epoch,
        loss,
        lr,
        // A chunk's updates end inside one run, as far as the host can tell evenly spaced; the last, with the
        // evaluation after it, when it is reported.
        elapsedMs: last ? performance.now() - started : runStarted + (i + 1) * pace.msPerStep - started,
        eval: last ? evaluated : undefined,
        ...(position.lossScale ? { skipped, lossScale: position.lossScale.scale } : {}),
      });
    }
    if (config.checkpointEvery && position.step % config.checkpointEvery === 0) await checkpoint(run);
    if (config.patience !== undefined && position.evalsSinceBest >= config.patience) {
      return { stopped: 'early-stopped', evals };
    }
  }
  return { stopped: 'completed', evals };
}

/** A chunk's wall time to aim for: progress, heartbeats and a cancellation's effect come once a run. */
const CHUNK_MS = 4000;
const MAX_CHUNK = 16;
/**
 * From this many bytes of state (trainees and optimiser slots) on, a run makes one update by default: a chunk's ONNX
 * `Loop` copies its carried state into its outputs when it ends (about 50 ms for MiniLM's 272 MB in full, at about
 * 5 GB/s), more than the runs it saves cost (a millisecond or so each, at most MAX_CHUNK - 1 of them a chunk).
 * MiniLM's full step, alternating in one process: 743 / 752 / 749 ms one update a run, 754 / 749 / 777 in chunks.
 */
const ONE_UPDATE_STATE_BYTES = 64 << 20;

function defaultStepsPerRun(compiled: CompiledTraining): number {
  let bytes = 0;
  for (const t of compiled.initial.values()) bytes += t.data.byteLength;
  return bytes >= ONE_UPDATE_STATE_BYTES ? 1 : MAX_CHUNK;
}

/**
 * At most this many bytes of batches stacked for one chunk (padded to the largest), held for its run: 15 of the MLP
 * bench's batches of 1024 × 512 floats (16 MiB cut its chunks to 8 and its step was 5-7 % slower).
 */
const MAX_CHUNK_BYTES = 32 << 20;

/**
 * How many updates the next chunk makes at most: about CHUNK_MS of them at the last run's pace (one while there is
 * none), and never past a step where an evaluation or checkpoint falls due or the run ends.
 */
function chunkLength(run: Run, msPerStep: number, evaluates: boolean): number {
  const { step } = run.position;
  const every = (n: number | undefined) => (n ? n - (step % n) : Infinity);
  const { stepsPerRun = MAX_CHUNK, config } = run.opts;
  const due = Math.min(run.total - step, evaluates ? every(run.evalEvery) : Infinity, every(config.checkpointEvery));
  return Math.max(1, Math.min(Math.floor(CHUNK_MS / msPerStep), stepsPerRun, due));
}

/**
 * Up to `steps` optimiser updates in one run of the chunk graph (engine/train/chunk.ts), whatever their batches'
 * shapes (an epoch's short last batch, text batches cut to their own longest text): each is stacked padded and
 * sliced back in the graph.
 */
async function updateChunk(run: Run, session: EngineSession, steps: number): Promise<Update[]> {
  const { state, position, microBatches: batches } = run;
  const first = position.step;
  const feeds: Record<string, ort.Tensor>[] = [];
  const updates: Omit<Update, 'loss'>[] = [];
  for (let step = first; step < first + steps; step++) {
    if (feeds.length > 0 && stackedBytes([...feeds, batches.peek()]) > MAX_CHUNK_BYTES) break;
    const lr = learningRate(step, run.schedule);
    const stepFeeds = { [STEP]: scalarTensor(step + 1), [LR]: scalarTensor(lr) };
    feeds.push({ ...batches.next(), ...dropoutFeed(run, step, 0), ...stepFeeds });
    updates.push({ step: step + 1, epoch: position.epoch, lr, skipped: false });
  }
  const out = await session.run(
    {
      ...stackFeeds(feeds, stacked, stackedDims),
      ...Object.fromEntries(state),
      [CHUNK_STEPS]: new ort.Tensor('int64', BigInt64Array.of(BigInt(feeds.length)), []),
    },
    undefined,
    run.buffers.outputsAfter(state),
  );
  for (const name of state.keys()) state.set(name, out[next(name)]);
  position.step += feeds.length;
  const losses = out[CHUNK_LOSSES].data as Float32Array;
  return updates.map((u, i) => ({ ...u, loss: losses[i] }));
}

/**
 * One optimiser update: the accumulate graph sums the gradients of all but the last micro-batch, the step graph
 * adds the last one's and updates. Returns the mean loss over the micro-batches and the learning rate used. In mixed
 * precision an update whose gradients overflowed is skipped: the state stays as it was, and the loss scale halves.
 */
async function update(run: Run, sessions: Sessions): Promise<Update> {
  const { compiled, state, position, microBatches: batches } = run;
  const accumulation = run.opts.config.accumulation ?? 1;
  const { lossScale } = position;
  const scaleFeed: Record<string, ort.Tensor> = lossScale ? { [LOSS_SCALE]: scalarTensor(lossScale.scale) } : {};
  let lossSum = 0;
  // The zeros are read, never written: the sums go to the run's own buffers.
  let sums = accumulation > 1 ? (run.zeroSums ??= zeroGradSums(compiled)) : undefined;
  for (let micro = 0; micro < accumulation - 1; micro++) {
    const feeds = {
      ...batches.next(),
      ...dropoutFeed(run, position.step, micro),
      ...paramsOf(compiled, state),
      ...Object.fromEntries(sums!),
      ...scaleFeed,
    };
    const out = await sessions.accumulate!.run(feeds, undefined, run.sumBuffers.outputsAfter(sums!));
    lossSum += (out[LOSS].data as Float32Array)[0];
    sums = new Map([...sums!.keys()].map((name) => [name, out[next(name)]]));
  }
  const lr = learningRate(position.step, run.schedule);
  const feeds: Record<string, ort.Tensor> = {
    ...batches.next(),
    ...dropoutFeed(run, position.step, accumulation - 1),
    ...Object.fromEntries(state),
    ...(sums ? Object.fromEntries(sums) : {}),
    ...scaleFeed,
    // The optimiser's own count (Adam's bias correction) leaves out the updates skipped for overflow.
    [STEP]: scalarTensor(position.step + 1 - (lossScale?.skipped ?? 0)),
    [LR]: scalarTensor(lr),
  };
  // Written into the run's own buffers even when the update is skipped for overflow: the state keeps its own.
  const out = await sessions.step.run(feeds, undefined, run.buffers.outputsAfter(state));
  lossSum += (out[LOSS].data as Float32Array)[0];
  const finite = !lossScale || (out[GRADS_FINITE].data as Uint8Array)[0] !== 0;
  if (finite) for (const name of state.keys()) state.set(name, out[next(name)]);
  if (lossScale) advanceLossScale(lossScale, finite, run.opts.config.lossScaleGrowth);
  position.step++;
  return { step: position.step, epoch: position.epoch, loss: lossSum / accumulation, lr, skipped: !finite };
}

/** The dropout key of micro-batch `micro` of the update after `step`, for graphs that drop out. */
function dropoutFeed(run: Run, step: number, micro: number): Record<string, ort.Tensor> {
  if (!run.compiled.dropout) return {};
  const key = dropoutKey(run.opts.config.seed, step, micro);
  return { [DROPOUT_KEY]: new ort.Tensor('int64', BigInt64Array.of(key), []) };
}

/** With an eval set, every `evalEvery` steps and at the last: the eval result, also tracked for early stopping. */
async function evaluateIfDue(run: Run, session: EngineSession | undefined): Promise<EvalResult | undefined> {
  const { position } = run;
  const due = position.step % run.evalEvery === 0 || position.step === run.total;
  if (!session || !due) return undefined;
  const { eval: data, config } = run.opts;
  const result = await evaluate(session, data!, paramsOf(run.compiled, run.state), config.loss, run.classes);
  if (position.bestLoss === null || result.loss < position.bestLoss) {
    position.bestLoss = result.loss;
    position.evalsSinceBest = 0;
  } else {
    position.evalsSinceBest++;
  }
  return { ...result, step: position.step, epoch: position.epoch };
}

/**
 * Hands the run's state to the checkpoint sink, if the run has one. An abort right after a periodic checkpoint must
 * not save that step again: rewriting it would pull it from under a reader of the first one (the train activity
 * uploads each checkpoint as it lands).
 */
async function checkpoint(run: Run): Promise<void> {
  const { opts, position } = run;
  if (!opts.checkpoints || run.checkpointedStep === position.step) return;
  run.checkpointedStep = position.step;
  run.buffers.handOut(run.state);
  await opts.checkpoints.save({
    tensors: checkpointTensors(run.compiled, run.state),
    state: { format: CHECKPOINT_FORMAT, ...structuredClone(position), run: opts.checkpoints.run },
  });
}
