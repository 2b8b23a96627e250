// The out-of-fold check's quick fastText (out-of-fold.ts), trained on the host in plain JavaScript instead of
// through ONNX Runtime. Its kernels are a 16-wide embedding bag and a 16 × classes head: in a session each run
// handed the table and its two AdamW moments back in fresh buffers (3 MB a run, waiting for the collector), and
// loading ORT cost the validating process 29 MiB before the first step. Here the state is updated in place and
// dataset validation, which runs the check, never loads ORT (docs/VALIDATION.md, "The quick fastText on the host").
// It is the engine's fastText (models/fasttext.ts) trained as train() trains it: the same initial weights, epoch
// order, batches, mean cross-entropy, cosine schedule and AdamW (optim/adamw.ts), equal to float32 rounding
// (test/engine/quick-fasttext.test.ts compares the two). One thread, a fixed order of sums: bit-reproducible.
import { Rng } from '../data/index.ts';
import { fastTextInit } from '../models/fasttext.ts';
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
  dim: number;
  classes: number;
  seed: number;
}

export interface QuickTraining {
  epochs: number;
  batchSize: number;
  lr: number;
  /** Called after each update (a caller's heartbeat). */
  onProgress?: () => void;
  signal?: AbortSignal;
}

export class QuickFastText {
  private readonly table: Float32Array;
  private readonly head: Float32Array; // [dim, classes]
  private readonly bias: Float32Array;

  private constructor(private readonly spec: QuickFastTextSpec) {
    const initial = fastTextInit(spec);
    [this.table, this.head, this.bias] = [initial.table, initial.weight, initial.bias].map((t) =>
      Float32Array.from(t.data as Float32Array),
    );
  }

  /**
   * A model trained on rows `rows` of `bags` with class `labels[i]` for rows[i]: AdamW without weight decay, the
   * learning rate on a cosine from `lr` to 0, each epoch in a fresh seeded order (the trainer's epochOrder).
   */
  static trained(
    bags: NgramBags,
    rows: Int32Array,
    labels: Int32Array,
    spec: QuickFastTextSpec,
    training: QuickTraining,
  ): QuickFastText {
    const model = new QuickFastText(spec);
    const { epochs, batchSize, lr } = training;
    const perEpoch = Math.ceil(rows.length / batchSize);
    const schedule = { lr, totalSteps: epochs * perEpoch, decay: 'cosine' as const };
    const tableRows = new TouchedRows(spec.buckets);
    const optimiser = new AdamW([
      { param: model.table, rows: tableRows, width: spec.dim },
      { param: model.head },
      { param: model.bias },
    ]);
    const grads = [model.table, model.head, model.bias].map((p) => new Float32Array(p.length)); // filled afresh each update
    const rng = Rng.fromSeed(spec.seed);
    let step = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = rng.permutation(rows.length);
      for (let start = 0; start < rows.length; start += batchSize) {
        if (training.signal?.aborted) throw new Error('out-of-fold training was aborted');
        const batchRows = Int32Array.from(
          order.subarray(start, Math.min(start + batchSize, rows.length)),
          (i) => rows[i],
        );
        const batchLabels = Int32Array.from(order.subarray(start, start + batchRows.length), (i) => labels[i]);
        tableRows.addNgramsOf(bags.ids, batchRows);
        model.gradients(bags, batchRows, batchLabels, grads);
        optimiser.update(grads, learningRate(step, schedule), ++step);
        training.onProgress?.();
      }
    }
    return model;
  }

  /** Logits of rows `rows` of `bags` (rows × classes, row-major). */
  logits(bags: NgramBags, rows: ArrayLike<number>): Float32Array {
    return this.logitsOf(this.bags(bags, rows), rows.length);
  }

  /** The head applied to `n` bags. */
  private logitsOf(bag: Float32Array, n: number): Float32Array {
    const { dim, classes } = this.spec;
    const logits = new Float32Array(n * classes);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < classes; c++) {
        let sum = 0;
        for (let d = 0; d < dim; d++) sum += bag[i * dim + d] * this.head[d * classes + c];
        logits[i * classes + c] = sum + this.bias[c];
      }
    }
    return logits;
  }

  /** Each row's bag: the weighted sum of its n-grams' embeddings (rows × dim). */
  private bags(bags: NgramBags, rows: ArrayLike<number>): Float32Array {
    const { dim } = this.spec;
    const out = new Float32Array(rows.length * dim);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const start = r === 0 ? 0 : bags.ids.ends[r - 1];
      for (let d = 0; d < dim; d += 8) {
        bagQuad(this.table, dim, d, bags.ids.values, bags.weights.values, start, bags.ids.ends[r], out, i * dim + d);
      }
    }
    return out;
  }

  /**
   * Into `grads` (table, head, bias), the gradients of the mean cross-entropy of rows `rows` of `bags` with classes
   * `labels`: with p the softmax of a row's logits, dlogits = (p - onehot) / n; the head's from the bags, each bag's
   * from the head, and each n-gram's embedding row gets its weight times its text's bag gradient.
   */
  private gradients(bags: NgramBags, rows: Int32Array, labels: Int32Array, grads: Float32Array[]): void {
    const { dim, classes } = this.spec;
    const [table, head, bias] = grads;
    for (const g of grads) g.fill(0);
    const n = rows.length;
    const bag = this.bags(bags, rows);
    const logits = this.logitsOf(bag, n);
    const dBag = new Float64Array(dim);
    const { ends, values: ids } = bags.ids;
    const weights = bags.weights.values;
    for (let i = 0; i < n; i++) {
      const row = logits.subarray(i * classes, (i + 1) * classes);
      const max = row.reduce((a, b) => Math.max(a, b), -Infinity);
      let total = 0;
      for (let c = 0; c < classes; c++) total += Math.exp(row[c] - max);
      dBag.fill(0);
      for (let c = 0; c < classes; c++) {
        const g = (Math.exp(row[c] - max) / total - (c === labels[i] ? 1 : 0)) / n;
        bias[c] += g;
        for (let d = 0; d < dim; d++) {
          head[d * classes + c] += bag[i * dim + d] * g;
          dBag[d] += g * this.head[d * classes + c];
        }
      }
      const r = rows[i];
      for (let d = 0; d < dim; d += 8)
        scatterQuad(table, dim, d, ids, weights, r === 0 ? 0 : ends[r - 1], ends[r], dBag);
    }
  }
}

/**
 * Four columns (d..d+3) of a bag: the weighted sum of the embedding rows of n-grams start..end-1, written at `at`.
 * Four at a time, in locals: the sums stay in registers (a loop over the 16 columns kept them in memory, 3x slower).
 */
function bagQuad(
  table: Float32Array,
  dim: number,
  d: number,
  ids: Int32Array | Float32Array,
  weights: Int32Array | Float32Array,
  start: number,
  end: number,
  out: Float32Array,
  at: number,
): void {
  let [s0, s1, s2, s3, s4, s5, s6, s7] = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let j = start; j < end; j++) {
    const row = ids[j] * dim + d;
    const w = weights[j];
    s0 += w * table[row];
    s1 += w * table[row + 1];
    s2 += w * table[row + 2];
    s3 += w * table[row + 3];
    s4 += w * table[row + 4];
    s5 += w * table[row + 5];
    s6 += w * table[row + 6];
    s7 += w * table[row + 7];
  }
  [out[at], out[at + 1], out[at + 2], out[at + 3]] = [s0, s1, s2, s3];
  [out[at + 4], out[at + 5], out[at + 6], out[at + 7]] = [s4, s5, s6, s7];
}

/** The transpose of bagQuad: each n-gram's embedding row gets its weight times the bag's gradient, columns d..d+3. */
function scatterQuad(
  table: Float32Array,
  dim: number,
  d: number,
  ids: Int32Array | Float32Array,
  weights: Int32Array | Float32Array,
  start: number,
  end: number,
  dBag: Float64Array,
): void {
  const [g0, g1, g2, g3] = [dBag[d], dBag[d + 1], dBag[d + 2], dBag[d + 3]];
  const [g4, g5, g6, g7] = [dBag[d + 4], dBag[d + 5], dBag[d + 6], dBag[d + 7]];
  for (let j = start; j < end; j++) {
    const row = ids[j] * dim + d;
    const w = weights[j];
    table[row] += w * g0;
    table[row + 1] += w * g1;
    table[row + 2] += w * g2;
    table[row + 3] += w * g3;
    table[row + 4] += w * g4;
    table[row + 5] += w * g5;
    table[row + 6] += w * g6;
    table[row + 7] += w * g7;
  }
}

/**
 * The embedding rows that have had a gradient so far. The others' moments are still zero, and AdamW leaves such a
 * row exactly as it is (M = 0, so the step is 0 / (0 + eps) · stepSize = 0): the update skips them, the same
 * numbers for a fraction of the work while the fold's texts have not yet used most of the table's rows.
 */
class TouchedRows {
  readonly touched: Uint8Array;

  constructor(rows: number) {
    this.touched = new Uint8Array(rows);
  }

  /** Marks the n-gram rows of texts `rows` of `ids`. */
  addNgramsOf(ids: RaggedRows, rows: Int32Array): void {
    const { ends, values } = ids;
    for (const r of rows) {
      for (let j = r === 0 ? 0 : ends[r - 1]; j < ends[r]; j++) this.touched[values[j]] = 1;
    }
  }
}

/** A parameter AdamW updates: whole, or only its `rows` (each `width` long) that have had a gradient. */
type Updated = { param: Float32Array; rows?: TouchedRows; width?: number };

/**
 * AdamW as optim/adamw.ts builds it, without weight decay: the moments' discounted sums M ← β1·M + g and
 * V ← β2·V + g², and p ← p - stepSize · M / (sqrt(V) + eps·s), the bias corrections folded into the two scalars.
 */
class AdamW {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];

  constructor(private readonly updated: Updated[]) {
    this.m = updated.map(({ param }) => new Float32Array(param.length));
    this.v = updated.map(({ param }) => new Float32Array(param.length));
  }

  /** The update `t` (1-based) at learning rate `lr`. */
  update(grads: Float32Array[], lr: number, t: number): void {
    const { beta1, beta2, eps } = ADAMW_DEFAULTS;
    const root = Math.sqrt((1 - beta2 ** t) / (1 - beta2));
    const stepSize = (lr * root * (1 - beta1)) / (1 - beta1 ** t);
    const epsilon = eps * root;
    for (let k = 0; k < this.updated.length; k++) {
      const { param, rows, width } = this.updated[k];
      adamwRows(param, grads[k], this.m[k], this.v[k], stepSize, epsilon, width ?? param.length, rows?.touched);
    }
  }
}

/**
 * The rows (each `width` elements) of one parameter, all or those `touched`, in order: a pass in address order, which
 * the prefetcher follows (a list of rows in the order first touched was 5 % slower). Plain loops over
 * typed arrays in one function: V8 compiles them to tight code (a closure, or a call a row, were slower still).
 */
function adamwRows(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  stepSize: number,
  eps: number,
  width: number,
  touched?: Uint8Array,
) {
  const { beta1, beta2 } = ADAMW_DEFAULTS;
  for (let from = 0; from < p.length; from += width) {
    if (touched && touched[from / width] === 0) continue;
    for (let i = from; i < from + width; i++) {
      const gi = g[i];
      const mi = (m[i] = m[i] * beta1 + gi);
      const vi = (v[i] = v[i] * beta2 + gi * gi);
      p[i] -= (mi / (Math.sqrt(vi) + eps)) * stepSize;
    }
  }
}
