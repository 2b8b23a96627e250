// A classifier two-sample test: if a model can tell rows of one data set from rows of another on rows it never
// saw, the two differ. The rows are labelled by the set they came from and the quick model of out-of-fold mislabel
// detection (engine/train/out-of-fold.ts) gives each a held-out probability of being from the second set. Its AUC
// is 0.5 when the sets are alike; the one-sided Mann–Whitney test says whether it is above chance.
import type { FeatureRows } from '../data/index.ts';
import { Rng } from '../data/rng.ts';
import { auroc } from '../metrics/auroc.ts';
import { erfc } from '../metrics/uncertainty.ts';
import { outOfFoldProbabilities } from './out-of-fold.ts';

/** Rows drawn from each set at most (seeded): enough to see a shift, and seconds of training on two cores. */
export const TWO_SAMPLE_MAX_ROWS = 1000;
/** Characters of a text the quick model reads, as for mislabel detection. */
export const TWO_SAMPLE_TEXT_CHARS = 4000;

export type TwoSampleData =
  | { kind: 'features'; reference: FeatureRows; current: FeatureRows }
  | { kind: 'text'; reference: readonly string[]; current: readonly string[] };

export interface TwoSampleOptions {
  folds?: number;
  seed?: number;
  maxRows?: number;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: () => void;
}

export interface TwoSampleTest {
  method: 'classifier two-sample test';
  model: 'mlp' | 'fasttext';
  folds: number;
  seed: number;
  /** Rows of each set the test used. */
  rows: { reference: number; current: number };
  /** Held-out AUC of the model's P(current): 0.5 is chance, 1 separates the sets. */
  auc: number;
  /** Held-out accuracy at P = 0.5, and what always guessing the larger set would score. */
  accuracy: number;
  chance_accuracy: number;
  /** One-sided p-value of AUC > 0.5 (Mann–Whitney U, normal approximation). */
  p_value: number;
}

/** Up to `max` of `count` row indices, seeded, in ascending order. */
function sampleRows(count: number, max: number, rng: Rng): number[] {
  const all = Array.from({ length: count }, (_, i) => i);
  return count <= max
    ? all
    : rng
        .shuffle(all)
        .slice(0, max)
        .sort((a, b) => a - b);
}

function pickRows({ width, features }: FeatureRows, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) =>
    out.set(
      Array.from({ length: width }, (_, c) => features[r * width + c]),
      i * width,
    ),
  );
  return out;
}

/** P(AUC ≥ observed) for two sets alike: U's null distribution is near normal, mean n₀n₁/2, var n₀n₁(n+1)/12. */
export function aucPValue(auc: number, reference: number, current: number): number {
  const sd = Math.sqrt((reference + current + 1) / (12 * reference * current));
  return 0.5 * erfc((auc - 0.5) / sd / Math.SQRT2);
}

export async function classifierTwoSampleTest(
  data: TwoSampleData,
  options: TwoSampleOptions = {},
): Promise<TwoSampleTest> {
  const { folds = 5, seed = 0, maxRows: max = TWO_SAMPLE_MAX_ROWS } = options;
  const rng = Rng.fromSeed(seed);
  const sizes =
    data.kind === 'features' ? [data.reference.rows, data.current.rows] : [data.reference.length, data.current.length];
  const [refRows, curRows] = sizes.map((n) => sampleRows(n, max, rng));
  if (Math.min(refRows.length, curRows.length) < folds) {
    throw new RangeError(`two-sample test: ${Math.min(...sizes)} rows in a set, fewer than the ${folds} folds`);
  }
  const labels = Int32Array.from([...refRows.map(() => 0), ...curRows.map(() => 1)]);
  const labelNames = ['reference', 'current'];
  const run = { folds, seed, threads: options.threads, signal: options.signal, onProgress: options.onProgress };
  let probs: Float64Array;
  if (data.kind === 'features') {
    const { width } = data.reference;
    const features = new Float32Array(labels.length * width);
    features.set(pickRows(data.reference, refRows));
    features.set(pickRows(data.current, curRows), refRows.length * width);
    probs = await outOfFoldProbabilities(
      { kind: 'features', data: { rows: labels.length, width, features, labels, labelNames } },
      run,
    );
  } else {
    const cut = (texts: readonly string[], rows: number[]) => rows.map((r) => texts[r].slice(0, TWO_SAMPLE_TEXT_CHARS));
    const texts = [...cut(data.reference, refRows), ...cut(data.current, curRows)];
    probs = await outOfFoldProbabilities({ kind: 'text', data: { texts, labels, labelNames } }, run);
  }
  const pCurrent = Float64Array.from(labels, (_, r) => probs[r * 2 + 1]);
  const auc = auroc(pCurrent, labels);
  const right = pCurrent.reduce((n, p, r) => n + Number((p > 0.5 ? 1 : 0) === labels[r]), 0);
  return {
    method: 'classifier two-sample test',
    model: data.kind === 'features' ? 'mlp' : 'fasttext',
    folds,
    seed,
    rows: { reference: refRows.length, current: curRows.length },
    auc,
    accuracy: right / labels.length,
    chance_accuracy: Math.max(refRows.length, curRows.length) / labels.length,
    p_value: aucPValue(auc, refRows.length, curRows.length),
  };
}
