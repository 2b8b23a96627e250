// Out-of-fold predicted probabilities: the rows are cut into K stratified folds, a quick model (a small MLP for
// features, a small fastText for text) is trained on K-1 of them and predicts the one left out, so every row gets
// probabilities from a model that never saw its label. Confident learning (engine/metrics/label-issues.ts) reads
// label errors from them. Sized to take seconds, not minutes, on ~2,000 rows on two cores.
import { Rng, type TabularDataset } from '../data/index.ts';
import { InvalidInput } from '../invalid-input.ts';
import { softmax } from '../metrics/softmax.ts';
import { trainableParams } from '../models/methods.ts';
import { buildMlp } from '../models/mlp.ts';
import { DEFAULT_ARCH, newTextModel, type FastTextArch } from '../models/text.ts';
import { withSession } from '../runtime/index.ts';
import { encodeDataset, type TextDataset } from '../text/dataset.ts';
import { textEncoder } from '../text/encode.ts';
import { batchOf, subsetOf, type Examples } from './examples.ts';
import { sessionLogits } from './score.ts';
import { train, type TrainConfig } from './trainer.ts';

export type OutOfFoldData = { kind: 'features'; data: TabularDataset } | { kind: 'text'; data: TextDataset };

export interface OutOfFoldOptions {
  folds?: number;
  seed?: number;
  /** Passes over each fold's training rows (default: 20 for an MLP, 5 for fastText). */
  epochs?: number;
  /** Intra-op threads (default QUICK_THREADS). */
  threads?: number;
  signal?: AbortSignal;
  /** Called after each training step (a caller's heartbeat). */
  onProgress?: () => void;
}

/** The quick models' sizes: a one-hidden-layer MLP; fastText with a small table and word unigrams and bigrams. */
export const QUICK_MLP_HIDDEN = [32];
export const QUICK_FASTTEXT: FastTextArch = {
  ...DEFAULT_ARCH.fasttext,
  buckets: 1 << 14,
  dim: 16,
  charNgrams: [0, 0],
  maxLength: 1024,
};
/**
 * The quick models' kernels (16-wide embeddings, a 32-unit layer) are too small to gain from a second thread: one
 * thread trained the fastText in 0.4x, the MLP in 0.6-0.9x the time of two (bench/out-of-fold-threads.ts), to the
 * same probabilities.
 */
export const QUICK_THREADS = 1;
/**
 * Held-out rows the quick model predicts in one run. One run over a fold's 1,000 texts of up to 1,024 n-grams
 * gathers a [1000, 1024, 16] float tensor (65 MB); runs of 128 rows of the same tensors give the same logits.
 */
const QUICK_RUN_ROWS = 128;
/**
 * Updates a quick model makes in one run. Each run hands the weights back through fresh buffers, so chunks make the
 * check faster; four hold a quarter of the batches sixteen would (24 MB of 1,000-n-gram texts in batches of 128).
 */
const QUICK_STEPS_PER_RUN = 4;
const QUICK = { mlp: { lr: 1e-2, epochs: 20, batchSize: 32 }, fasttext: { lr: 5e-2, epochs: 6, batchSize: 128 } };

/**
 * Fold of each row (0..folds-1): each class's rows are shuffled (seeded) and dealt round-robin, so every fold keeps
 * the class balance.
 */
export function stratifiedFolds(labels: ArrayLike<number>, folds: number, seed: number): Int32Array {
  if (!Number.isInteger(folds) || folds < 2) throw new InvalidInput(`folds must be an integer ≥ 2, got ${folds}`);
  const rowsOfClass = new Map<number, number[]>();
  for (let r = 0; r < labels.length; r++) {
    const rows = rowsOfClass.get(labels[r]);
    if (rows) rows.push(r);
    else rowsOfClass.set(labels[r], [r]);
  }
  const rng = Rng.fromSeed(seed);
  const fold = new Int32Array(labels.length);
  let next = 0;
  for (const label of [...rowsOfClass.keys()].sort((a, b) => a - b)) {
    for (const row of rng.shuffle(rowsOfClass.get(label)!)) fold[row] = next++ % folds;
  }
  return fold;
}

/** Features scaled to zero mean and unit variance per column (over all rows: no labels are read). */
export function standardised(data: TabularDataset): TabularDataset {
  const { rows, width, features } = data;
  const out = new Float32Array(features.length);
  for (let c = 0; c < width; c++) {
    let sum = 0;
    let squares = 0;
    for (let r = 0; r < rows; r++) sum += features[r * width + c];
    const mean = sum / rows;
    for (let r = 0; r < rows; r++) squares += (features[r * width + c] - mean) ** 2;
    const std = Math.sqrt(squares / rows) || 1;
    for (let r = 0; r < rows; r++) out[r * width + c] = (features[r * width + c] - mean) / std;
  }
  return { ...data, features: out };
}

/** rows × classes out-of-fold probabilities (row-major), in the rows' order. */
export async function outOfFoldProbabilities(
  input: OutOfFoldData,
  options: OutOfFoldOptions = {},
): Promise<Float64Array> {
  const folds = options.folds ?? 5;
  const seed = options.seed ?? 1;
  const { labels, labelNames } = input.data;
  const classes = labelNames.length;
  const rows = labels.length;
  if (rows < folds) throw new InvalidInput(`${rows} rows cannot be cut into ${folds} folds`);
  const fold = stratifiedFolds(labels, folds, seed);
  const probs = new Float64Array(rows * classes);
  const tabular = input.kind === 'features' ? standardised(input.data) : undefined;
  const threads = options.threads ?? QUICK_THREADS;
  // Hashed n-grams learn nothing from the texts, so the folds share one encoding of every row: each text is hashed
  // once, not once a fold, and a fold reads its rows from it (subsetOf copies no inputs). A batch is cut to its own
  // longest row, so the folds train and predict on the same tensors as with an encoding of their own.
  const encoded = input.kind === 'text' ? encodedTexts(input.data, classes, seed) : undefined;

  for (let k = 0; k < folds; k++) {
    const trainRows = Int32Array.from({ length: rows }, (_, r) => r).filter((r) => fold[r] !== k);
    const heldRows = Int32Array.from({ length: rows }, (_, r) => r).filter((r) => fold[r] === k);
    if (heldRows.length === 0) continue;
    let model;
    let trainSet: Examples;
    let heldSet: Examples;
    let quick;
    if (tabular) {
      quick = QUICK.mlp;
      model = buildMlp({ inputs: tabular.width, hidden: QUICK_MLP_HIDDEN, classes, seed: seed + k });
      trainSet = subsetOf(tabular, trainRows);
      heldSet = subsetOf(tabular, heldRows);
    } else {
      quick = QUICK.fasttext;
      model = newTextModel(QUICK_FASTTEXT, [], classes, seed + k, encoded!.encoding).model;
      trainSet = subsetOf(encoded!.data, trainRows);
      heldSet = subsetOf(encoded!.data, heldRows);
    }
    const config: TrainConfig = {
      batchSize: quick.batchSize,
      epochs: options.epochs ?? quick.epochs,
      lr: quick.lr,
      decay: 'cosine',
      optimizer: { kind: 'adamw', weightDecay: 0 },
      loss: { kind: 'cross-entropy' },
      seed: seed + k,
      threads,
    };
    const result = await train({
      model,
      trainable: trainableParams(model.graph, { kind: 'full' }),
      train: trainSet,
      config,
      stepsPerRun: QUICK_STEPS_PER_RUN,
      signal: options.signal,
      onProgress: options.onProgress && (() => options.onProgress!()),
    });
    if (result.stopped === 'aborted') throw new Error('out-of-fold training was aborted');
    const logits = await withSession(result.model, { threads }, (session) =>
      sessionLogits(session, heldSet, classes, (ix) => batchOf(heldSet, ix).inputs, QUICK_RUN_ROWS),
    );
    const p = softmax(logits, classes);
    heldRows.forEach((row, i) => probs.set(p.subarray(i * classes, (i + 1) * classes), row * classes));
  }
  return probs;
}

/** Every text encoded for the quick fastText (whose hashed n-grams need no texts to learn from). */
function encodedTexts(data: TextDataset, classes: number, seed: number) {
  const { encoding } = newTextModel(QUICK_FASTTEXT, [], classes, seed);
  return { encoding, data: encodeDataset(data, textEncoder(encoding)) };
}
