import * as ort from 'onnxruntime-node';
import { Rng, batches, type RngState } from '../data/index.ts';
import { InvalidInput } from '../invalid-input.ts';
import { elementCount, type Model, type TensorData } from '../ir/index.ts';
import { TEACHER_LOGITS, type LossSpec } from '../losses/index.ts';
import { LOGITS } from '../models/layout.ts';
import { learningRate, type Decay, type OptimizerConfig } from '../optim/index.ts';
import { createSession, fromOrt, toOrt, type ExecutionProvider } from '../runtime/index.ts';
import { CHECKPOINT_FORMAT, type Checkpoint, type RunPosition } from './checkpoint.ts';
import { compileTraining, type CompiledTraining } from './compile.ts';
import { batchOf, type Examples } from './examples.ts';
import { LOSS, LR, PARAMS, STEP, TARGETS, gradSumOf, next, slotOf } from './names.ts';
import { pack, unpack } from './packed.ts';

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
  elapsedMs: number;
  eval?: EvalResult;
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
}

const EVAL_BATCH = 1024;

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
  if (!(config.lr > 0 && Number.isFinite(config.lr))) {
    throw new InvalidInput(`learning rate must be > 0, got ${config.lr}`);
  }
  if (config.epochs === undefined && config.maxSteps === undefined) throw new InvalidInput('give epochs or max steps');
}

/** Model weights written back: `tensors` (by name) replace the model's initializers of the same name. */
export function withWeights(model: Model, tensors: Map<string, TensorData>): Model {
  const initializers = new Map(model.graph.initializers);
  for (const [name, t] of tensors) if (initializers.has(name)) initializers.set(name, t);
  return { ...model, graph: { ...model.graph, initializers } };
}

function targetsTensor(loss: LossSpec, labels: Int32Array, classes: number): ort.Tensor {
  if (loss.kind === 'cross-entropy' || loss.kind === 'distill')
    return new ort.Tensor('int64', BigInt64Array.from(labels, BigInt), [labels.length]);
  const oneHot = new Float32Array(labels.length * classes);
  labels.forEach((label, i) => (oneHot[i * classes + label] = 1));
  return new ort.Tensor('float32', oneHot, [labels.length, classes]);
}

/** The teacher's logits of the given rows, in their order. */
function teacherRows(all: Float32Array, indices: Int32Array, classes: number): ort.Tensor {
  const rows = new Float32Array(indices.length * classes);
  indices.forEach((r, i) => rows.set(all.subarray(r * classes, (r + 1) * classes), i * classes));
  return new ort.Tensor('float32', rows, [indices.length, classes]);
}

const scalarTensor = (v: number) => new ort.Tensor('float32', Float32Array.of(v), []);

/** A copy of where a checkpointed run stood, without the checkpoint's other fields. */
function positionOf(p: RunPosition): RunPosition {
  const { step, epoch, batchInEpoch, epochRng, bestLoss, evalsSinceBest } = structuredClone(p);
  return { step, epoch, batchInEpoch, epochRng, bestLoss, evalsSinceBest };
}

/**
 * The shuffled row order of one epoch and the RNG state the next epoch draws from. Exported so that a parity test
 * can feed another trainer (PyTorch's) the very batches this one trains on.
 */
export function epochOrder(rows: number, state: RngState): { order: Int32Array; nextRng: RngState } {
  const rng = Rng.fromState(state);
  const order = rng.permutation(rows);
  return { order, nextRng: rng.state() };
}

/**
 * Trains `trainable` of `model` on `train` with the compiled train-step graph, feeding each step's updated
 * parameters and optimiser state (ORT tensors) straight back as the next step's inputs.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { model, trainable, config, train: data } = opts;
  validate(config);
  const classes = Number(model.graph.outputs.find((o) => o.name === LOGITS)?.shape[1]);
  if (!Number.isInteger(classes)) throw new Error(`the model's '${LOGITS}' output needs a fixed class dimension`);
  const accumulation = config.accumulation ?? 1;
  const teacher = opts.teacherLogits;
  if (config.loss.kind === 'distill' && teacher?.length !== data.rows * classes) {
    throw new Error(
      `the distillation loss needs the teacher's logits for each of the ${data.rows} training rows × ${classes} ` +
        `classes, got ${teacher === undefined ? 'none' : `${teacher.length} values`}`,
    );
  }
  const compiled = compileTraining(model, {
    trainable,
    classes,
    loss: config.loss,
    optimizer: config.optimizer,
    clipNorm: config.clipNorm,
    accumulation,
  });
  const threads = config.threads ?? 2;
  const { session: stepSession, ep } = await createSession(compiled.step, { ep: config.ep, threads }).catch(
    (e: Error) => {
      if (config.ep !== 'cuda') throw e;
      throw new Error(
        `the CUDA execution provider is unavailable (${e.message.split('\n')[0]}); use 'auto' to fall back to CPU`,
      );
    },
  );
  const accumulateSession = compiled.accumulate && (await createSession(compiled.accumulate, { ep, threads })).session;
  const evalSession = opts.eval && (await createSession(compiled.eval, { ep, threads })).session;
  // Sessions hold native memory (their arenas) until released: a worker trains many jobs in one process.
  try {
    // The trainees and their optimiser slots by graph-input name: fed in each step, replaced by its `next:` outputs.
    const state = new Map<string, ort.Tensor>();
    for (const [name, initial] of compiled.initial) {
      state.set(name, toOrt(opts.resume ? fromCheckpoint(compiled, name, opts.resume) : initial));
    }
    const zeroGrads = () =>
      new Map<string, ort.Tensor>(
        compiled.trainees.map((t) => [
          gradSumOf(t.input),
          new ort.Tensor('float32', new Float32Array(elementCount(t.dims)), t.dims),
        ]),
      );

    const position: RunPosition = opts.resume
      ? positionOf(opts.resume.state)
      : {
          step: 0,
          epoch: 0,
          batchInEpoch: 0,
          epochRng: Rng.fromSeed(config.seed).state(),
          bestLoss: null,
          evalsSinceBest: 0,
        };
    const total = totalSteps(config, data.rows);
    const evalEvery =
      config.evalEvery ?? Math.max(1, totalSteps({ ...config, epochs: 1, maxSteps: undefined }, data.rows));
    const schedule = {
      lr: config.lr,
      totalSteps: total,
      warmupSteps: config.warmupSteps,
      decay: config.decay,
      minLr: config.minLr,
    };
    let epochPlan = epochOrder(data.rows, position.epochRng);
    const evals: EvalResult[] = [];
    let stopped: TrainResult['stopped'] = 'completed';
    const started = performance.now();

    const batchesPerEpoch = Math.ceil(data.rows / config.batchSize);
    const nextMicroBatch = () => {
      const start = position.batchInEpoch * config.batchSize;
      // The last batch of an epoch holds what is left, so every row is seen once per epoch.
      const indices = epochPlan.order.subarray(start, Math.min(start + config.batchSize, data.rows));
      position.batchInEpoch++;
      if (position.batchInEpoch === batchesPerEpoch) {
        position.epoch++;
        position.batchInEpoch = 0;
        position.epochRng = epochPlan.nextRng;
        epochPlan = epochOrder(data.rows, position.epochRng);
      }
      const rows = batchOf(data, indices);
      return {
        ...rows.inputs,
        [TARGETS]: targetsTensor(config.loss, rows.labels, classes),
        ...(config.loss.kind === 'distill' ? { [TEACHER_LOGITS]: teacherRows(teacher!, indices, classes) } : {}),
      };
    };
    const params = () => Object.fromEntries(compiled.trainees.map((t) => [t.input, state.get(t.input)!]));

    // An abort right after a periodic checkpoint must not write that step again: rewriting the directory would pull
    // it from under a reader of the first one (the train activity uploads each checkpoint as it lands).
    let checkpointedStep: number | undefined;
    const checkpoint = async () => {
      if (!opts.checkpoints || checkpointedStep === position.step) return;
      checkpointedStep = position.step;
      const tensors = checkpointTensors(compiled, state);
      await opts.checkpoints.save({
        tensors,
        state: { format: CHECKPOINT_FORMAT, ...structuredClone(position), run: opts.checkpoints.run },
      });
    };

    while (position.step < total) {
      if (opts.signal?.aborted) {
        stopped = 'aborted';
        break;
      }
      let lossSum = 0;
      let sums = accumulation > 1 ? zeroGrads() : undefined;
      for (let micro = 0; micro < accumulation - 1; micro++) {
        const out = await accumulateSession!.run({ ...nextMicroBatch(), ...params(), ...Object.fromEntries(sums!) });
        lossSum += (out[LOSS].data as Float32Array)[0];
        sums = new Map([...sums!.keys()].map((name) => [name, out[next(name)]]));
      }
      const lr = learningRate(position.step, schedule);
      const feeds: Record<string, ort.Tensor> = {
        ...nextMicroBatch(),
        ...Object.fromEntries(state),
        ...(sums ? Object.fromEntries(sums) : {}),
        [STEP]: scalarTensor(position.step + 1),
        [LR]: scalarTensor(lr),
      };
      const out = await stepSession.run(feeds);
      lossSum += (out[LOSS].data as Float32Array)[0];
      for (const name of state.keys()) state.set(name, out[next(name)]);
      position.step++;

      let evaluated: EvalResult | undefined;
      if (evalSession && (position.step % evalEvery === 0 || position.step === total)) {
        const result = await evaluate(evalSession, opts.eval!, params(), config.loss, classes);
        evaluated = { ...result, step: position.step, epoch: position.epoch };
        evals.push(evaluated);
        if (position.bestLoss === null || result.loss < position.bestLoss) {
          position.bestLoss = result.loss;
          position.evalsSinceBest = 0;
        } else {
          position.evalsSinceBest++;
        }
      }
      opts.onProgress?.({
        step: position.step,
        totalSteps: total,
        epoch: position.epoch,
        loss: lossSum / accumulation,
        lr,
        elapsedMs: performance.now() - started,
        eval: evaluated,
      });
      if (config.checkpointEvery && position.step % config.checkpointEvery === 0) await checkpoint();
      if (config.patience !== undefined && position.evalsSinceBest >= config.patience) {
        stopped = 'early-stopped';
        break;
      }
    }
    if (stopped === 'aborted') await checkpoint();

    const trained = new Map<string, TensorData>();
    for (const t of compiled.trainees) {
      const value = state.get(t.input)!;
      if (t.input !== PARAMS) trained.set(t.input, fromOrt(value));
      else for (const [p, v] of unpack(compiled.layout, (value.data as Float32Array).slice())) trained.set(p, v);
    }
    return { model: withWeights(model, trained), ep, step: position.step, epoch: position.epoch, stopped, evals };
  } finally {
    await Promise.all([stepSession, accumulateSession, evalSession].map((s) => s?.release()));
  }
}

/** For a state input over the packed vector, each parameter's name in a checkpoint (`P`, or `slot:P` for a slot). */
function packedKey(compiled: CompiledTraining, input: string): ((param: string) => string) | undefined {
  if (input === PARAMS) return (p) => p;
  const slot = compiled.slots.find((s) => slotOf(s, PARAMS) === input);
  return slot === undefined ? undefined : (p) => slotOf(slot, p);
}

/** The run's parameters and optimiser state as named tensors (views into the packed vectors), as checkpoints keep them. */
function checkpointTensors(compiled: CompiledTraining, state: Map<string, ort.Tensor>): Map<string, TensorData> {
  const tensors = new Map<string, TensorData>();
  for (const [input, t] of state) {
    const key = packedKey(compiled, input);
    if (!key) tensors.set(input, fromOrt(t));
    else for (const [p, v] of unpack(compiled.layout, t.data as Float32Array)) tensors.set(key(p), v);
  }
  return tensors;
}

/** A state input's value rebuilt from a checkpoint's named tensors, each checked against the model's shapes. */
function fromCheckpoint(compiled: CompiledTraining, input: string, checkpoint: Checkpoint): TensorData {
  const checked = (name: string, dims: number[]) => {
    const t = checkpoint.tensors.get(name);
    if (!t) throw new InvalidInput(`the checkpoint has no tensor '${name}'`);
    if (t.dims.join() !== dims.join()) {
      throw new InvalidInput(`the checkpoint's '${name}' has shape [${t.dims}], the model needs [${dims}]`);
    }
    return t;
  };
  const initial = compiled.initial.get(input)!;
  const key = packedKey(compiled, input);
  if (!key) return checked(input, initial.dims);
  const { layout } = compiled;
  return { ...initial, data: pack(layout, (p) => checked(key(p), layout.dims[layout.names.indexOf(p)])) };
}

/** Logits and mean loss over a whole dataset, in batches of the eval graph. */
async function evaluate(
  session: ort.InferenceSession,
  data: Examples,
  params: Record<string, ort.Tensor>,
  loss: LossSpec,
  classes: number,
): Promise<Omit<EvalResult, 'step' | 'epoch'>> {
  const logits = new Float32Array(data.rows * classes);
  let lossSum = 0;
  const all = Int32Array.from({ length: data.rows }, (_, i) => i);
  for (const indices of batches(all, EVAL_BATCH)) {
    const rows = batchOf(data, indices);
    const out = await session.run({
      ...rows.inputs,
      [TARGETS]: targetsTensor(loss, rows.labels, classes),
      ...params,
    });
    logits.set(out[LOGITS].data as Float32Array, indices[0] * classes);
    lossSum += (out[LOSS].data as Float32Array)[0] * indices.length;
  }
  return { loss: lossSum / data.rows, logits };
}
