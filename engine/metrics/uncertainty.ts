// How sure the comparison of two models on one eval set is: a paired bootstrap gives intervals for each model's
// accuracy and macro-F1 and for their differences (the rows resampled together, so what the models share
// cancels), and McNemar's test asks whether the rows one model fixed and the other broke differ by more than chance.
import { Rng } from '../data/rng.ts';
import { macroF1 } from './classification.ts';
import { checkPaired } from './paired.ts';
import { checkLabels } from './rows.ts';

/** An estimate on the whole set and its interval. */
export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

/** Intervals for the candidate, production and candidate − production of one metric. */
export interface PairedIntervals {
  candidate: Interval;
  production: Interval;
  difference: Interval;
}

export interface BootstrapReport {
  method: 'paired percentile bootstrap';
  resamples: number;
  /** The intervals' nominal coverage, e.g. 0.95. */
  confidence: number;
  seed: number;
  accuracy: PairedIntervals;
  macro_f1: PairedIntervals;
}

export interface BootstrapOptions {
  resamples?: number;
  confidence?: number;
  seed?: number;
}

export const BOOTSTRAP_DEFAULTS = { resamples: 1000, confidence: 0.95, seed: 0 } as const;

/**
 * Percentile intervals from `resamples` resamples of the rows with replacement, the same rows for both models.
 * `labels` are class indices in [0, classes); a prediction outside that range (a class one model's label map lacks)
 * counts as wrong. Deterministic for a seed.
 */
export function pairedBootstrap(
  labels: ArrayLike<number>,
  candidate: ArrayLike<number>,
  production: ArrayLike<number>,
  classes: number,
  options: BootstrapOptions = {},
): BootstrapReport {
  const { resamples, confidence, seed } = { ...BOOTSTRAP_DEFAULTS, ...options };
  checkPaired(labels, candidate, production, 'pairedBootstrap');
  checkLabels(labels, classes, 'pairedBootstrap');
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new RangeError(`pairedBootstrap: resamples must be a positive integer, got ${resamples}`);
  }
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`pairedBootstrap: confidence must be between 0 and 1, got ${confidence}`);
  }
  const n = labels.length;
  // A prediction outside the label map goes to an extra column: wrong, and counted as sklearn counts a stray label.
  const width = classes + 1;
  const cell = (y: number, p: number) => y * width + (Number.isInteger(p) && p >= 0 && p < classes ? p : classes);
  const cells = (predicted: ArrayLike<number>) => Int32Array.from(labels, (y, i) => cell(y, predicted[i]));
  const [cCells, pCells] = [cells(candidate), cells(production)];

  const scores = (weights: (i: number) => number) => {
    const [cm, pm] = [new Float64Array(width * width), new Float64Array(width * width)];
    for (let i = 0; i < n; i++) {
      const w = weights(i);
      if (w === 0) continue;
      cm[cCells[i]] += w;
      pm[pCells[i]] += w;
    }
    const [c, p] = [summarise(cm, width), summarise(pm, width)];
    return { accuracy: [c.accuracy, p.accuracy], macro_f1: [c.macroF1, p.macroF1] };
  };

  const rng = Rng.fromSeed(seed);
  const counts = new Int32Array(n);
  const draws = { accuracy: [[], [], []] as number[][], macro_f1: [[], [], []] as number[][] };
  for (let r = 0; r < resamples; r++) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[rng.nextInt(n)]++;
    const s = scores((i) => counts[i]);
    for (const metric of ['accuracy', 'macro_f1'] as const) {
      const [c, p] = s[metric];
      draws[metric][0].push(c);
      draws[metric][1].push(p);
      draws[metric][2].push(c - p);
    }
  }
  const whole = scores(() => 1);
  const interval = (estimate: number, values: number[]): Interval => {
    const sorted = values.sort((a, b) => a - b);
    const tail = (1 - confidence) / 2;
    return { estimate, low: quantile(sorted, tail), high: quantile(sorted, 1 - tail) };
  };
  const intervals = (metric: 'accuracy' | 'macro_f1'): PairedIntervals => {
    const [c, p] = whole[metric];
    const [dc, dp, dd] = draws[metric];
    return { candidate: interval(c, dc), production: interval(p, dp), difference: interval(c - p, dd) };
  };
  return {
    method: 'paired percentile bootstrap',
    resamples,
    confidence,
    seed,
    accuracy: intervals('accuracy'),
    macro_f1: intervals('macro_f1'),
  };
}

/** Accuracy and macro-F1 of a flat (width × width) confusion matrix of weights; the last column holds strays. */
function summarise(flat: Float64Array, width: number): { accuracy: number; macroF1: number } {
  const matrix = Array.from({ length: width }, (_, y) => Array.from(flat.subarray(y * width, (y + 1) * width)));
  let correct = 0;
  let total = 0;
  for (let y = 0; y < width; y++) {
    correct += matrix[y][y];
    for (const n of matrix[y]) total += n;
  }
  return { accuracy: correct / total, macroF1: macroF1(matrix) };
}

/** The q-quantile of ascending `sorted`, interpolating linearly between order statistics (numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  const at = q * (sorted.length - 1);
  const below = Math.floor(at);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (at - below) * (sorted[above] - sorted[below]);
}

export interface McNemar {
  /** Discordant rows the candidate gets right and production wrong. */
  fixed: number;
  /** Discordant rows production gets right and the candidate wrong. */
  broken: number;
  method: 'exact binomial' | 'chi-square, continuity-corrected';
  /** The chi-square statistic; for the exact test, the smaller discordant count. */
  statistic: number;
  /** Two-sided. */
  p_value: number;
}

/** Below this many discordant rows the exact binomial test is used; the chi-square approximation from there on. */
export const MCNEMAR_EXACT_BELOW = 25;

/**
 * McNemar's test of paired correctness: under the null hypothesis that both models are equally accurate, each
 * discordant row is as likely to be fixed as broken. Exact (two-sided binomial, p = 1/2) for few discordant rows,
 * chi-square with one degree of freedom and continuity correction otherwise.
 */
export function mcnemar(fixed: number, broken: number): McNemar {
  for (const n of [fixed, broken]) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`mcnemar: counts must be whole numbers, got ${n}`);
  }
  const n = fixed + broken;
  if (n < MCNEMAR_EXACT_BELOW) {
    // 2 · P(X <= k) for X ~ Binomial(n, 1/2): whole binomial coefficients (exact below 2^53), one division.
    const k = Math.min(fixed, broken);
    let [choose, tail] = [1, 0];
    for (let i = 0; i <= k; i++) {
      tail += choose;
      choose = (choose * (n - i)) / (i + 1);
    }
    return { fixed, broken, method: 'exact binomial', statistic: k, p_value: Math.min(1, (2 * tail) / 2 ** n) };
  }
  const statistic = (Math.abs(fixed - broken) - 1) ** 2 / n;
  return {
    fixed,
    broken,
    method: 'chi-square, continuity-corrected',
    statistic,
    // P(chi-square with 1 degree of freedom > x) = erfc(sqrt(x / 2)).
    p_value: erfc(Math.sqrt(statistic / 2)),
  };
}

/** Numerical Recipes' Chebyshev coefficients for erfc, lowest power first. */
const ERFC_COEFFICIENTS = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223,
  0.17087277,
];

/** The complementary error function (Numerical Recipes' erfcc, relative error below 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + z / 2);
  let poly = 0;
  for (let k = ERFC_COEFFICIENTS.length - 1; k >= 0; k--) poly = poly * t + ERFC_COEFFICIENTS[k];
  const r = t * Math.exp(-z * z + poly);
  return x >= 0 ? r : 2 - r;
}
