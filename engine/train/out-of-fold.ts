// Out-of-fold predicted probabilities: the rows are cut into K stratified folds, a quick model (a small MLP for
// features, a small fastText for text) is trained on K-1 of them and predicts the one left out, so every row gets
// probabilities from a model that never saw its label. Confident learning (engine/metrics/label-issues.ts) reads
// label errors from them. Sized to take seconds, not minutes, on ~2,000 rows on two cores.
// The fastText trains on the host (quick-fasttext.ts); the MLP through ONNX Runtime (quick-mlp.ts), which this
// module loads only for feature rows, so that validating a text dataset never loads ORT.
import { Rng, type TabularDataset } from '../data/index.ts';
import { InvalidInput } from '../invalid-input.ts';
import { softmax } from '../metrics/softmax.ts';
import type { FastTextArch } from '../models/text.ts';
import { encodeDataset, type TextDataset } from '../text/dataset.ts';
import { NGRAM_IDS, NGRAM_WEIGHTS, textEncoder } from '../text/encode.ts';
import { distinctNgrams } from '../text/ngrams.ts';
import type { RaggedRows } from '../text/ragged.ts';
import { QuickFastText, type NgramBags } from './quick-fasttext.ts';

export type OutOfFoldData = { kind: 'features'; data: TabularDataset } | { kind: 'text'; data: TextDataset };

export interface OutOfFoldOptions {
  folds?: number;
  seed?: number;
  /** Passes over each fold's training rows (default: 20 for an MLP, 6 for fastText). */
  epochs?: number;
  /** The MLP's intra-op threads (default QUICK_THREADS); the fastText trains on the calling thread. */
  threads?: number;
  signal?: AbortSignal;
  /** Called after each training step (a caller's heartbeat). */
  onProgress?: () => void;
}

/** The logits (held rows × classes) of a quick model trained on `trainRows` with seed `seed`. */
export type FoldModel = (trainRows: Int32Array, heldRows: Int32Array, seed: number) => Promise<Float32Array>;

/** The quick fastText: a small table, word unigrams and bigrams; AdamW without weight decay, a cosine to 0. */
export const QUICK_FASTTEXT: FastTextArch = {
  kind: 'fasttext',
  buckets: 1 << 14,
  dim: 16,
  wordNgrams: 2,
  charNgrams: [0, 0],
  maxLength: 1024,
};
export const QUICK_FASTTEXT_TRAINING = { lr: 5e-2, epochs: 6, batchSize: 128 };

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
  const model =
    input.kind === 'text'
      ? fastTextFolds(input.data, options)
      : (await import('./quick-mlp.ts')).mlpFolds(standardised(input.data), options);
  for (let k = 0; k < folds; k++) {
    const trainRows = Int32Array.from({ length: rows }, (_, r) => r).filter((r) => fold[r] !== k);
    const heldRows = Int32Array.from({ length: rows }, (_, r) => r).filter((r) => fold[r] === k);
    if (heldRows.length === 0) continue;
    if (options.signal?.aborted) throw new Error('out-of-fold training was aborted');
    const p = softmax(await model(trainRows, heldRows, seed + k), classes);
    heldRows.forEach((row, i) => probs.set(p.subarray(i * classes, (i + 1) * classes), row * classes));
  }
  return probs;
}

/**
 * The quick fastText's folds. Hashed n-grams learn nothing from the texts, so the folds share one encoding of every
 * row: each text is hashed once, not once a fold.
 */
function fastTextFolds(data: TextDataset, options: OutOfFoldOptions): FoldModel {
  const classes = data.labelNames.length;
  const { inputs } = encodeDataset(data, textEncoder(distinctNgrams(QUICK_FASTTEXT)));
  const ngrams: NgramBags = { ids: inputs[NGRAM_IDS] as RaggedRows, weights: inputs[NGRAM_WEIGHTS] as RaggedRows };
  const { batchSize, lr, epochs } = QUICK_FASTTEXT_TRAINING;
  const model = new QuickFastText(
    ngrams,
    { buckets: QUICK_FASTTEXT.buckets, dim: QUICK_FASTTEXT.dim, classes },
    batchSize,
  );
  const { onProgress, signal } = options;
  return async (trainRows, heldRows, foldSeed) => {
    const training = { lr, epochs: options.epochs ?? epochs, onProgress, signal };
    model.train(
      trainRows,
      Int32Array.from(trainRows, (r) => data.labels[r]),
      foldSeed,
      training,
    );
    return model.logits(heldRows);
  };
}
