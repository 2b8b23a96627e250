// What train() runs the compiled graphs with: their sessions, the feeds of each micro-batch, and the evaluation pass.
import * as ort from 'onnxruntime-node';
import { Rng, batches, type RngState } from '../data/index.ts';
import { elementCount } from '../ir/index.ts';
import { TEACHER_LOGITS, type LossSpec } from '../losses/index.ts';
import { LOGITS } from '../models/layout.ts';
import { createSession, type ExecutionProvider, type EngineSession } from '../runtime/index.ts';
import type { RunPosition } from './checkpoint.ts';
import type { CompiledTraining } from './compile.ts';
import { batchOf, inferenceRows, type Examples } from './examples.ts';
import { LOSS, TARGETS, gradSumOf } from './names.ts';

export interface Sessions {
  /** The step graph's session, or the chunk graph's when `chunked`. */
  step: EngineSession;
  /** Whether `step` runs the chunk graph (engine/train/chunk.ts): several updates a run. */
  chunked: boolean;
  /** Only with accumulation > 1. */
  accumulate?: EngineSession;
  /** Only with an eval set. */
  eval?: EngineSession;
  /** The execution provider the step session got; the others run on the same. */
  ep: ExecutionProvider;
}

/**
 * Sessions of the step graph (its chunk graph when `chunked` and there is one), the accumulate graph if there is one,
 * and the eval graph when `withEval`.
 */
export async function openSessions(
  compiled: CompiledTraining,
  opts: { ep?: ExecutionProvider | 'auto'; threads: number; chunked: boolean; withEval: boolean },
): Promise<Sessions> {
  const { threads, withEval } = opts;
  const chunked = opts.chunked && compiled.chunk !== undefined;
  const stepGraph = chunked ? compiled.chunk! : compiled.step;
  const { session: step, ep } = await createSession(stepGraph, opts).catch((e: Error) => {
    if (opts.ep !== 'cuda') throw e;
    throw new Error(
      `the CUDA execution provider is unavailable (${e.message.split('\n')[0]}); use 'auto' to fall back to CPU`,
    );
  });
  const accumulate = compiled.accumulate && (await createSession(compiled.accumulate, { ep, threads })).session;
  const evalSession = withEval ? (await createSession(compiled.eval, { ep, threads })).session : undefined;
  return { step, chunked, accumulate, eval: evalSession, ep };
}

/** Sessions hold native memory (their arenas) until released: a worker trains many jobs in one process. */
export async function releaseSessions(sessions: Sessions): Promise<void> {
  await Promise.all([sessions.step, sessions.accumulate, sessions.eval].map((s) => s?.release()));
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

/** What a training batch's feeds hold besides its rows' inputs. */
export interface BatchTargets {
  loss: LossSpec;
  classes: number;
  /** With the distillation loss: the teacher's logits for every training row (rows × classes, row-major). */
  teacher?: Float32Array;
}

/** The training micro-batches in order: `next` takes one, `peek` shows the one `next` would take without taking it. */
export interface MicroBatches {
  next(): Record<string, ort.Tensor>;
  peek(): Record<string, ort.Tensor>;
}

/**
 * The feeds of each next micro-batch of `batchSize` rows, in each epoch's shuffled order from where `position`
 * stands; `next` advances `position` past the batch it returns.
 */
export function microBatches(
  data: Examples,
  batchSize: number,
  targets: BatchTargets,
  position: RunPosition,
): MicroBatches {
  const { loss, classes, teacher } = targets;
  const batchesPerEpoch = Math.ceil(data.rows / batchSize);
  let epochPlan = epochOrder(data.rows, position.epochRng);
  let ahead: { feeds: Record<string, ort.Tensor>; advance: () => void } | undefined;
  const build = () => {
    const start = position.batchInEpoch * batchSize;
    // The last batch of an epoch holds what is left, so every row is seen once per epoch.
    const indices = epochPlan.order.subarray(start, Math.min(start + batchSize, data.rows));
    const rows = batchOf(data, indices);
    const feeds = {
      ...rows.inputs,
      [TARGETS]: targetsTensor(loss, rows.labels, classes),
      ...(loss.kind === 'distill' ? { [TEACHER_LOGITS]: teacherRows(teacher!, indices, classes) } : {}),
    };
    const advance = () => {
      position.batchInEpoch++;
      if (position.batchInEpoch === batchesPerEpoch) {
        position.epoch++;
        position.batchInEpoch = 0;
        position.epochRng = epochPlan.nextRng;
        epochPlan = epochOrder(data.rows, position.epochRng);
      }
    };
    return { feeds, advance };
  };
  return {
    peek: () => (ahead ??= build()).feeds,
    next: () => {
      const batch = ahead ?? build();
      ahead = undefined;
      batch.advance();
      return batch.feeds;
    },
  };
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

type TypedArray = ort.Tensor['data'] & { set(a: ArrayLike<unknown>, at: number): void };

/**
 * Each input of `feeds` (one record per step, the same names) stacked along a new first axis as `stacked(input)`,
 * padded to the largest of the steps' shapes, and beside an input of rank >= 1 each step's own dims as
 * `dims(input)` (int64 [steps, rank]): the chunk graph slices every step back to them (engine/train/chunk.ts).
 */
export function stackFeeds(
  feeds: Record<string, ort.Tensor>[],
  stacked: (input: string) => string,
  dims: (input: string) => string,
): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [input, first] of Object.entries(feeds[0])) {
    const largest = largestDims(feeds, input);
    const size = largest.reduce((n, d) => n * d, 1);
    const data = new (first.data.constructor as new (n: number) => TypedArray)(size * feeds.length);
    feeds.forEach((f, i) => copyPadded(f[input], data, i * size, largest));
    out[stacked(input)] = new ort.Tensor(first.type, data as never, [feeds.length, ...largest]);
    if (first.dims.length > 0) {
      out[dims(input)] = new ort.Tensor(
        'int64',
        BigInt64Array.from(
          feeds.flatMap((f) => f[input].dims),
          BigInt,
        ),
        [feeds.length, first.dims.length],
      );
    }
  }
  return out;
}

/** The bytes stackFeeds makes of `feeds` (an input that some record lacks is counted at the others' shapes). */
export function stackedBytes(feeds: Record<string, ort.Tensor>[]): number {
  let bytes = 0;
  for (const [input, first] of Object.entries(feeds[0])) {
    const perElement = (first.data as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    bytes += feeds.length * largestDims(feeds, input).reduce((n, d) => n * d, 1) * perElement;
  }
  return bytes;
}

/** The largest of `input`'s dims over the records that have it, axis by axis. */
function largestDims(feeds: Record<string, ort.Tensor>[], input: string): number[] {
  const shapes = feeds.flatMap((f) => (f[input] ? [f[input].dims] : []));
  return shapes[0].map((_, axis) => Math.max(...shapes.map((s) => s[axis])));
}

/** `t` written into `into` at `offset` as the leading corner of a row-major block of dims `block`. */
function copyPadded(t: ort.Tensor, into: TypedArray, offset: number, block: readonly number[]): void {
  const src = t.data as TypedArray;
  if (t.dims.every((d, axis) => d === block[axis])) return into.set(src as ArrayLike<unknown>, offset);
  const rank = t.dims.length;
  const row = t.dims[rank - 1];
  const rows = src.length / row;
  const index = new Array<number>(rank - 1).fill(0); // the row's index over the leading axes
  for (let r = 0; r < rows; r++) {
    let at = 0;
    for (let axis = 0; axis < rank - 1; axis++) at = at * block[axis] + index[axis];
    into.set(
      (src as Float32Array).subarray(r * row, (r + 1) * row) as ArrayLike<unknown>,
      offset + at * block[rank - 1],
    );
    for (let axis = rank - 2; axis >= 0 && ++index[axis] === t.dims[axis]; axis--) index[axis] = 0;
  }
}

export const scalarTensor = (v: number) => new ort.Tensor('float32', Float32Array.of(v), []);

/** The gradient sums an accumulating update starts from, by graph-input name: zeros shaped like each trainee. */
export function zeroGradSums(compiled: CompiledTraining): Map<string, ort.Tensor> {
  return new Map<string, ort.Tensor>(
    compiled.trainees.map((t) => [
      gradSumOf(t.input),
      new ort.Tensor('float32', new Float32Array(elementCount(t.dims)), t.dims),
    ]),
  );
}

/** Logits and mean loss over a whole dataset, in batches of the eval graph. */
export async function evaluate(
  session: EngineSession,
  data: Examples,
  params: Record<string, ort.Tensor>,
  loss: LossSpec,
  classes: number,
): Promise<{ loss: number; logits: Float32Array }> {
  const logits = new Float32Array(data.rows * classes);
  let lossSum = 0;
  const all = Int32Array.from({ length: data.rows }, (_, i) => i);
  for (const indices of batches(all, inferenceRows(data))) {
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
