// How far the model's probabilities can be trusted as probabilities.
import { checkLabels, checkScores } from './rows.ts';
import { logSoftmax } from './softmax.ts';

export const ECE_BINS = 15;

/**
 * Expected calibration error of the top label (Guo et al., 2017): rows are binned by confidence (the largest
 * probability) into `bins` equal-width bins, bin i holding (i/bins, (i+1)/bins]; ECE is the row-weighted mean of
 * |accuracy − mean confidence| over the bins.
 */
export function expectedCalibrationError(
  probs: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
  bins = ECE_BINS,
): number {
  checkLabels(labels, classes, 'ECE');
  checkScores(probs, classes, 'ECE', labels.length);
  const count = new Float64Array(bins);
  const confidence = new Float64Array(bins);
  const correct = new Float64Array(bins);
  for (let r = 0; r < labels.length; r++) {
    let top = 0;
    for (let k = 1; k < classes; k++) if (probs[r * classes + k] > probs[r * classes + top]) top = k;
    const p = probs[r * classes + top];
    const bin = Math.min(bins - 1, Math.max(0, Math.ceil(p * bins) - 1));
    count[bin]++;
    confidence[bin] += p;
    if (top === labels[r]) correct[bin]++;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    if (count[b] > 0) ece += Math.abs(correct[b] - confidence[b]) / labels.length;
  }
  return ece;
}

/** Multiclass Brier score: the mean over rows of Σ_k (p_k − [k = label])², in [0, 2]. */
export function brierScore(probs: ArrayLike<number>, labels: ArrayLike<number>, classes: number): number {
  checkLabels(labels, classes, 'Brier score');
  checkScores(probs, classes, 'Brier score', labels.length);
  let sum = 0;
  for (let r = 0; r < labels.length; r++) {
    for (let k = 0; k < classes; k++) sum += (probs[r * classes + k] - (k === labels[r] ? 1 : 0)) ** 2;
  }
  return sum / labels.length;
}

/**
 * Mean negative log-likelihood of the true labels (cross-entropy), computed from logits so that a confidently
 * wrong row costs its true, large value rather than a clipped log(ε).
 */
export function negativeLogLikelihood(logits: ArrayLike<number>, labels: ArrayLike<number>, classes: number): number {
  checkLabels(labels, classes, 'NLL');
  checkScores(logits, classes, 'NLL', labels.length);
  const logProbs = logSoftmax(logits, classes);
  let sum = 0;
  for (let r = 0; r < labels.length; r++) sum -= logProbs[r * classes + labels[r]];
  return sum / labels.length;
}
