// How far one data set moved from another, without a model: the population stability index of each feature of
// tabular rows (bins cut at the reference's quantiles), and the Jensen–Shannon divergence between two text
// corpora's word frequencies with the words whose share moved most. The reference is production's training data;
// the other is the new training data. Pure and deterministic.
import type { FeatureRows } from '../data/index.ts';
import { words } from '../text/words.ts';
import { quantile } from './uncertainty.ts';

/** Bins per feature: deciles of the reference, as PSI is usually computed. */
export const PSI_BINS = 10;
/** A bin's share is floored at this, so an empty bin gives a large but finite term instead of ln(0). */
export const PSI_EPSILON = 1e-4;
/** The usual reading of PSI: below 0.1 no real change, 0.1 to 0.25 moderate, from 0.25 a major shift. */
export const PSI_MODERATE = 0.1;
export const PSI_MAJOR = 0.25;
/** Words listed as moved most. */
export const MOVED_TOKENS = 10;

export type DriftLevel = 'none' | 'moderate' | 'major';

export const psiLevel = (psi: number): DriftLevel =>
  psi >= PSI_MAJOR ? 'major' : psi >= PSI_MODERATE ? 'moderate' : 'none';

export interface PsiOptions {
  bins?: number;
  epsilon?: number;
}

/**
 * The interior cut points of `bins` equal-frequency bins of `reference` (its quantiles, interpolated as numpy
 * does), without repeats: a value heavy in ties gives fewer, wider bins rather than empty ones.
 */
export function quantileEdges(reference: ArrayLike<number>, bins = PSI_BINS): number[] {
  if (!Number.isInteger(bins) || bins < 2) throw new RangeError(`PSI: bins must be an integer ≥ 2, got ${bins}`);
  if (reference.length === 0) throw new RangeError('PSI: the reference has no values');
  const sorted = Array.from(reference).sort((a, b) => a - b);
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const edge = quantile(sorted, i / bins);
    if (edges.length === 0 || edge > edges.at(-1)!) edges.push(edge);
  }
  return edges;
}

/** Each value's share of the bins (-∞, e0], (e0, e1], …, (e_last, ∞). */
function binShares(values: ArrayLike<number>, edges: readonly number[]): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw new RangeError(`PSI: value ${v} at row ${i} is not finite`);
    // The first edge ≥ v, by binary search.
    let [lo, hi] = [0, edges.length];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (edges[mid] >= v) hi = mid;
      else lo = mid + 1;
    }
    counts[lo] += 1;
  }
  return counts.map((c) => c / values.length);
}

/**
 * Population stability index of `current` against `reference`: Σ (a − e) · ln(a / e) over bins cut at the
 * reference's quantiles, e and a the bins' shares (floored at epsilon). 0 for the same distribution; symmetric in
 * the shares, always ≥ 0.
 */
export function psi(reference: ArrayLike<number>, current: ArrayLike<number>, options: PsiOptions = {}): number {
  const { bins = PSI_BINS, epsilon = PSI_EPSILON } = options;
  if (current.length === 0) throw new RangeError('PSI: the current data has no values');
  const edges = quantileEdges(reference, bins);
  const [expected, actual] = [binShares(reference, edges), binShares(current, edges)];
  let sum = 0;
  for (let b = 0; b < expected.length; b++) {
    const [e, a] = [Math.max(expected[b], epsilon), Math.max(actual[b], epsilon)];
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

export interface FeatureShift {
  /** 0-based column index. */
  feature: number;
  psi: number;
  level: DriftLevel;
  reference_mean: number;
  current_mean: number;
}

export interface FeatureDrift {
  method: 'population stability index';
  bins: number;
  epsilon: number;
  /** Every feature, the largest PSI first (ties by column). */
  features: FeatureShift[];
  max_psi: number;
  /** Features at or above PSI_MAJOR. */
  major: number;
}

function column({ rows, width, features }: FeatureRows, c: number): Float64Array {
  return Float64Array.from({ length: rows }, (_, r) => features[r * width + c]);
}

const mean = (values: Float64Array) => values.reduce((s, v) => s + v, 0) / values.length;

/** PSI of each feature of `current` against the same column of `reference`, ranked. */
export function featureDrift(reference: FeatureRows, current: FeatureRows, options: PsiOptions = {}): FeatureDrift {
  if (reference.width !== current.width) {
    throw new RangeError(`feature drift: ${current.width} features against the reference's ${reference.width}`);
  }
  const { bins = PSI_BINS, epsilon = PSI_EPSILON } = options;
  const features = Array.from({ length: reference.width }, (_, c): FeatureShift => {
    const [ref, cur] = [column(reference, c), column(current, c)];
    const value = psi(ref, cur, { bins, epsilon });
    return { feature: c, psi: value, level: psiLevel(value), reference_mean: mean(ref), current_mean: mean(cur) };
  }).sort((a, b) => b.psi - a.psi || a.feature - b.feature);
  return {
    method: 'population stability index',
    bins,
    epsilon,
    features,
    max_psi: features[0]?.psi ?? 0,
    major: features.filter((f) => f.level === 'major').length,
  };
}

export interface TokenShift {
  token: string;
  reference_share: number;
  current_share: number;
  /** current_share − reference_share. */
  change: number;
}

export interface TokenDrift {
  method: 'Jensen–Shannon divergence of word frequencies';
  /** In bits: 0 for the same frequencies, 1 for corpora with no word in common. */
  js_divergence: number;
  tokens: { reference: number; current: number };
  /** Distinct words in either corpus. */
  vocabulary: number;
  /** The words whose share moved most, by absolute change (ties by word). */
  moved: TokenShift[];
}

/** Word counts of a corpus: engine/text's normalised words, letters or digits only (punctuation is left out). */
function wordCounts(texts: readonly string[]): { counts: Map<string, number>; total: number } {
  const counts = new Map<string, number>();
  let total = 0;
  for (const text of texts) {
    for (const word of words(text)) {
      if (!/[\p{L}\p{N}]/u.test(word)) continue;
      counts.set(word, (counts.get(word) ?? 0) + 1);
      total += 1;
    }
  }
  return { counts, total };
}

/** Jensen–Shannon divergence (base 2) of the two corpora's word distributions, and the words that moved most. */
export function tokenDrift(reference: readonly string[], current: readonly string[], top = MOVED_TOKENS): TokenDrift {
  const [ref, cur] = [wordCounts(reference), wordCounts(current)];
  if (ref.total === 0 || cur.total === 0) throw new RangeError('token drift: a corpus has no words');
  const vocabulary = new Set([...ref.counts.keys(), ...cur.counts.keys()]);
  let divergence = 0;
  const shifts: TokenShift[] = [];
  for (const token of vocabulary) {
    const p = (ref.counts.get(token) ?? 0) / ref.total;
    const q = (cur.counts.get(token) ?? 0) / cur.total;
    const m = (p + q) / 2;
    if (p > 0) divergence += 0.5 * p * Math.log2(p / m);
    if (q > 0) divergence += 0.5 * q * Math.log2(q / m);
    shifts.push({ token, reference_share: p, current_share: q, change: q - p });
  }
  shifts.sort((a, b) => Math.abs(b.change) - Math.abs(a.change) || (a.token < b.token ? -1 : 1));
  return {
    method: 'Jensen–Shannon divergence of word frequencies',
    // Rounding can leave a tiny negative sum for identical corpora.
    js_divergence: Math.max(0, divergence),
    tokens: { reference: ref.total, current: cur.total },
    vocabulary: vocabulary.size,
    moved: shifts.slice(0, top),
  };
}
