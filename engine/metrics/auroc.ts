// Area under the ROC curve, computed exactly as the Mann–Whitney U statistic: the probability that a random
// positive scores above a random negative, with ties counting one half (midranks).
import { checkScores, rowMax } from './rows.ts';

export function auroc(scores: ArrayLike<number>, positive: ArrayLike<boolean | number>): number {
  if (scores.length !== positive.length) {
    throw new RangeError(`AUROC: ${scores.length} scores for ${positive.length} labels`);
  }
  const order = Array.from({ length: scores.length }, (_, i) => i);
  for (const i of order) {
    if (!Number.isFinite(scores[i])) throw new RangeError(`AUROC: score ${scores[i]} at row ${i} is not finite`);
  }
  order.sort((a, b) => scores[a] - scores[b]);

  let positives = 0;
  let positiveRankSum = 0;
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end < order.length && scores[order[end]] === scores[order[start]]) end++;
    const midrank = (start + 1 + end) / 2; // ranks are 1-based: the tie group spans ranks start+1 .. end
    for (let i = start; i < end; i++) {
      if (positive[order[i]]) {
        positives++;
        positiveRankSum += midrank;
      }
    }
    start = end;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) {
    throw new RangeError(`AUROC needs positives and negatives, got ${positives} and ${negatives}`);
  }
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** The largest probability of each row: the maximum-softmax-probability score (Hendrycks & Gimpel, 2017). */
export function maxProbability(probs: ArrayLike<number>, classes: number): Float64Array {
  checkScores(probs, classes, 'max probability');
  const rows = probs.length / classes;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) out[r] = rowMax(probs, r * classes, classes);
  return out;
}

/**
 * How well the maximum softmax probability tells in-distribution rows (the positives) from out-of-distribution
 * ones: 1 separates them perfectly, 0.5 is chance.
 */
export function oodAuroc(inDistProbs: ArrayLike<number>, oodProbs: ArrayLike<number>, classes: number): number {
  const inScores = maxProbability(inDistProbs, classes);
  const oodScores = maxProbability(oodProbs, classes);
  const scores = new Float64Array(inScores.length + oodScores.length);
  scores.set(inScores);
  scores.set(oodScores, inScores.length);
  const isInDist = new Uint8Array(scores.length).fill(1, 0, inScores.length);
  return auroc(scores, isInDist);
}
