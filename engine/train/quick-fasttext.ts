// The out-of-fold check's quick fastText (out-of-fold.ts), trained on the host instead of through ONNX Runtime. Its
// kernels are a 16-wide embedding bag and a 16 × classes head: in a session each run handed the table and its two
// AdamW moments back in fresh buffers (3 MB a run, waiting for the collector), and loading ORT cost the validating
// process 29 MiB before the first step. Here the state stays in one WebAssembly memory, updated in place by three
// SIMD kernels (quick-kernels.wat: the bag, its gradient's scatter, AdamW), and dataset validation, which runs the
// check, never loads ORT (docs/VALIDATION.md, "The quick fastText on the host").
// It is the engine's fastText (models/fasttext.ts) trained as train() trains it: the same initial weights, epoch
// order, batches, mean cross-entropy, cosine schedule and AdamW (optim/adamw.ts, its float32 operations in its
// order), equal to float32 rounding (test/engine/quick-fasttext.test.ts compares the two). One thread, a fixed order
// of sums: bit-reproducible.
import { readFileSync } from 'node:fs';
import { Rng } from '../data/index.ts';
import { InvalidInput } from '../invalid-input.ts';
import { fastTextInit } from '../models/init.ts';
import { ADAMW_DEFAULTS } from '../optim/adamw.ts';
import { learningRate } from '../optim/schedule.ts';
import type { RaggedRows } from '../text/ragged.ts';

/** A text's hashed n-grams (bucket ids) and their weights (count / the text's n-gram count), row by row. */
export interface NgramBags {
  ids: RaggedRows;
  weights: RaggedRows;
}

export interface QuickFastTextSpec {
  buckets: number;
  /** A multiple of 4: the kernels take four columns at a time. */
  dim: number;
  classes: number;
}

export interface QuickTraining {
  epochs: number;
  lr: number;
  /** Called after each update (a caller's heartbeat). */
  onProgress?: () => void;
  signal?: AbortSignal;
}

interface Kernels {
  memory: WebAssembly.Memory;
  bags(table: number, dim: number, ids: number, weights: number, ends: number, n: number, out: number): void;
  scatter(
    grad: number,
    dim: number,
    ids: number,
    weights: number,
    ends: number,
    n: number,
    dBag: number,
    touched: number,
  ): void;
  adamw(
    p: number,
    g: number,
    m: number,
    v: number,
    rows: number,
    width: number,
    touched: number,
    stepSize: number,
    eps: number,
    beta1: number,
    beta2: number,
  ): void;
}

let compiled: WebAssembly.Module | undefined;
/** The kernels' module, compiled once a process (gen/quick-kernels.wasm, `npm run gen:quick-kernels`). */
function kernelsModule(): WebAssembly.Module {
  return (compiled ??= new WebAssembly.Module(readFileSync(new URL('./gen/quick-kernels.wasm', import.meta.url))));
}

const round4 = (n: number) => Math.ceil(n / 4) * 4;

/**
 * A quick fastText over one dataset's n-gram bags: `train` (again for each fold) from a seed's initial weights, then
 * `logits`. The weights, their gradients and moments, and one batch's n-grams live in its WebAssembly memory,
 * allocated once.
 */
export class QuickFastText {
  private readonly kernels: Kernels;
  /** Each region's byte offset and length in the memory. */
  private readonly at: Record<string, number> = {};
  private readonly bytes: Record<string, number> = {};
  private readonly batchSize: number;

  constructor(
    private readonly bags: NgramBags,
    private readonly spec: QuickFastTextSpec,
    batchSize: number,
  ) {
    const { buckets, dim, classes } = spec;
    if (!Number.isInteger(dim) || dim < 4 || dim % 4 !== 0)
      throw new InvalidInput(`quick fastText dim must be a multiple of 4, got ${dim}`);
    this.batchSize = batchSize;
    const maxNgrams = longestBatch(bags.ids, batchSize);
    // Float32 regions, each 16-byte aligned; offset 0 stays unused (the kernels read 0 as "no touched flags").
    const sizes: [string, number][] = [
      ...['table', 'tableGrad', 'tableM', 'tableV'].map((name): [string, number] => [name, buckets * dim]),
      ...['head', 'headGrad', 'headM', 'headV'].map((name): [string, number] => [name, dim * classes]),
      ...['bias', 'biasGrad', 'biasM', 'biasV'].map((name): [string, number] => [name, round4(classes)]),
      ['touched', round4(buckets) / 4],
      ['ids', round4(maxNgrams)],
      ['weights', round4(maxNgrams)],
      ['ends', round4(batchSize)],
      ['bag', batchSize * dim],
      ['dBag', batchSize * dim],
    ];
    let bytes = 16;
    for (const [name, floats] of sizes) {
      [this.at[name], this.bytes[name]] = [bytes, floats * 4];
      bytes += floats * 4;
    }
    this.kernels = new WebAssembly.Instance(kernelsModule()).exports as unknown as Kernels;
    this.kernels.memory.grow(Math.ceil(bytes / 65536));
  }

  /**
   * Trains from the initial weights of `seed` on rows `rows` of the bags with class `labels[i]` for rows[i], in
   * batches of `batchSize` rows: AdamW without weight decay, the learning rate on a cosine from `lr` to 0, each epoch
   * in a fresh seeded order (the trainer's epochOrder).
   */
  train(rows: Int32Array, labels: Int32Array, seed: number, training: QuickTraining): void {
    this.reset(seed);
    const { epochs, lr } = training;
    const { batchSize } = this;
    const perEpoch = Math.ceil(rows.length / batchSize);
    const schedule = { lr, totalSteps: epochs * perEpoch, decay: 'cosine' as const };
    const rng = Rng.fromSeed(seed);
    let step = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = rng.permutation(rows.length);
      for (let start = 0; start < rows.length; start += batchSize) {
        if (training.signal?.aborted) throw new Error('out-of-fold training was aborted');
        const batch = order.subarray(start, Math.min(start + batchSize, rows.length));
        this.gradients(
          Int32Array.from(batch, (i) => rows[i]),
          Int32Array.from(batch, (i) => labels[i]),
        );
        this.update(learningRate(step, schedule), ++step);
        training.onProgress?.();
      }
    }
  }

  /** Logits of rows `rows` of the bags (rows × classes, row-major). */
  logits(rows: Int32Array): Float32Array {
    const { classes } = this.spec;
    const logits = new Float32Array(rows.length * classes);
    for (let start = 0; start < rows.length; start += this.batchSize) {
      const batch = rows.subarray(start, start + this.batchSize);
      logits.set(this.logitsOf(this.bagsOf(batch), batch.length), start * classes);
    }
    return logits;
  }

  /** A float32 view of region `name` (made afresh: views of a memory that grew are detached). */
  private view(name: string, floats: number): Float32Array {
    return new Float32Array(this.kernels.memory.buffer, this.at[name], floats);
  }

  /** The initial weights of `seed`, zero moments, no gradients, no row touched. */
  private reset(seed: number): void {
    const { buckets, dim, classes } = this.spec;
    const initial = fastTextInit({ ...this.spec, seed });
    this.view('table', buckets * dim).set(initial.table.data as Float32Array);
    this.view('head', dim * classes).set(initial.weight.data as Float32Array);
    this.view('bias', classes).set(initial.bias.data as Float32Array);
    const memory = new Uint8Array(this.kernels.memory.buffer);
    for (const name of ['tableGrad', 'tableM', 'tableV', 'headGrad', 'headM', 'headV', 'biasGrad', 'biasM', 'biasV']) {
      memory.fill(0, this.at[name], this.at[name] + this.bytes[name]);
    }
    memory.fill(0, this.at.touched, this.at.touched + this.bytes.touched);
  }

  /** Copies the n-grams of rows `rows` back to back into the batch's regions and returns their bags (n × dim). */
  private bagsOf(rows: Int32Array): Float32Array {
    const { dim } = this.spec;
    const { ends, values: ids } = this.bags.ids;
    const weights = this.bags.weights.values;
    const memory = this.kernels.memory.buffer;
    const [batchIds, batchWeights] = [new Int32Array(memory, this.at.ids), new Float32Array(memory, this.at.weights)];
    const batchEnds = new Int32Array(memory, this.at.ends, rows.length);
    let used = 0;
    rows.forEach((r, i) => {
      const start = r === 0 ? 0 : ends[r - 1];
      batchIds.set(ids.subarray(start, ends[r]), used);
      batchWeights.set(weights.subarray(start, ends[r]), used);
      used += ends[r] - start;
      batchEnds[i] = used;
    });
    const { at } = this;
    this.kernels.bags(at.table, dim, at.ids, at.weights, at.ends, rows.length, at.bag);
    return this.view('bag', rows.length * dim);
  }

  /** The head applied to `n` bags. */
  private logitsOf(bag: Float32Array, n: number): Float32Array {
    const { dim, classes } = this.spec;
    const [head, bias] = [this.view('head', dim * classes), this.view('bias', classes)];
    const logits = new Float32Array(n * classes);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < classes; c++) {
        let sum = 0;
        for (let d = 0; d < dim; d++) sum += bag[i * dim + d] * head[d * classes + c];
        logits[i * classes + c] = sum + bias[c];
      }
    }
    return logits;
  }

  /**
   * The gradients of the mean cross-entropy of rows `rows` with classes `labels`, added into the gradient regions
   * (which AdamW clears): with p the softmax of a row's logits, dlogits = (p - onehot) / n; the head's from the
   * bags, each bag's from the head, and each n-gram's embedding row gets its weight times its text's bag gradient.
   */
  private gradients(rows: Int32Array, labels: Int32Array): void {
    const { dim, classes } = this.spec;
    const n = rows.length;
    const bag = this.bagsOf(rows);
    const logits = this.logitsOf(bag, n);
    const [head, headGrad] = [this.view('head', dim * classes), this.view('headGrad', dim * classes)];
    const [biasGrad, dBag] = [this.view('biasGrad', classes), this.view('dBag', n * dim)];
    dBag.fill(0);
    for (let i = 0; i < n; i++) {
      const row = logits.subarray(i * classes, (i + 1) * classes);
      const max = row.reduce((a, b) => Math.max(a, b), -Infinity);
      let total = 0;
      for (let c = 0; c < classes; c++) total += Math.exp(row[c] - max);
      for (let c = 0; c < classes; c++) {
        const g = (Math.exp(row[c] - max) / total - (c === labels[i] ? 1 : 0)) / n;
        biasGrad[c] += g;
        for (let d = 0; d < dim; d++) {
          headGrad[d * classes + c] += bag[i * dim + d] * g;
          dBag[i * dim + d] += g * head[d * classes + c];
        }
      }
    }
    const { at } = this;
    this.kernels.scatter(at.tableGrad, dim, at.ids, at.weights, at.ends, n, at.dBag, at.touched);
  }

  /**
   * AdamW's update `t` (1-based) at learning rate `lr`, its bias corrections folded into two scalars as
   * optim/adamw.ts folds them; the table's rows that have had no gradient yet are skipped (their update is zero).
   */
  private update(lr: number, t: number): void {
    const { beta1, beta2, eps } = ADAMW_DEFAULTS;
    const root = Math.sqrt((1 - beta2 ** t) / (1 - beta2));
    const stepSize = (lr * root * (1 - beta1)) / (1 - beta1 ** t);
    const scalars = [stepSize, eps * root, beta1, beta2] as const;
    const { buckets, dim, classes } = this.spec;
    const { at, kernels } = this;
    kernels.adamw(at.table, at.tableGrad, at.tableM, at.tableV, buckets, dim, at.touched, ...scalars);
    kernels.adamw(at.head, at.headGrad, at.headM, at.headV, 1, dim * classes, 0, ...scalars);
    kernels.adamw(at.bias, at.biasGrad, at.biasM, at.biasV, 1, round4(classes), 0, ...scalars);
  }
}

/** The most n-grams any `batchSize` texts hold together: the sum of the longest texts' counts. */
function longestBatch(ids: RaggedRows, batchSize: number): number {
  const lengths = Int32Array.from(ids.ends, (end, r) => end - (r === 0 ? 0 : ids.ends[r - 1]));
  return lengths
    .sort()
    .subarray(Math.max(0, lengths.length - batchSize))
    .reduce((a, b) => a + b, 0);
}
