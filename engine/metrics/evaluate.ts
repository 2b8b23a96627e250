// The evaluation report of a classifier on a labelled set: what `ratchet eval` prints and the policy gate reads.
import { auroc, oodAuroc } from './auroc.ts';
import { brierScore, expectedCalibrationError, negativeLogLikelihood } from './calibration.ts';
import { accuracy, confusionMatrix, macroF1, perClassScores, type ClassScores } from './classification.ts';
import { checkLabels, checkScores } from './rows.ts';
import { argmaxRows, softmax } from './softmax.ts';

export interface EvaluationMetrics {
  accuracy: number;
  macro_f1: number;
  per_class: Record<string, ClassScores>;
  /** The order of `confusion_matrix`'s rows (true class) and columns (predicted class). */
  labels: string[];
  confusion_matrix: number[][];
  /** Top-label ECE over 15 equal-width confidence bins. */
  ece: number;
  brier: number;
  nll: number;
  /** Binary tasks only: AUROC of p(labels[1]) with labels[1] as the positive class. */
  auroc?: number;
  /** When OOD rows are given: AUROC of the max softmax probability, in-distribution as positive. */
  ood_auroc?: number;
}

/**
 * Scores `logits` (rows × labelNames.length, row-major) against class indices `labels`.
 * `oodLogits`, when given, are the model's logits on out-of-distribution rows.
 */
export function evaluate(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  labelNames: readonly string[],
  options: { oodLogits?: ArrayLike<number> } = {},
): EvaluationMetrics {
  const classes = labelNames.length;
  if (new Set(labelNames).size !== classes) throw new RangeError(`evaluate: duplicate label names in ${labelNames}`);
  checkLabels(labels, classes, 'evaluate');
  checkScores(logits, classes, 'evaluate', labels.length);

  const probs = softmax(logits, classes);
  const predicted = argmaxRows(logits, classes);
  const confusion = confusionMatrix(labels, predicted, classes);
  const perClass = perClassScores(confusion);

  const metrics: EvaluationMetrics = {
    accuracy: accuracy(predicted, labels),
    macro_f1: macroF1(confusion),
    per_class: Object.fromEntries(labelNames.map((name, k) => [name, perClass[k]])),
    labels: [...labelNames],
    confusion_matrix: confusion,
    ece: expectedCalibrationError(probs, labels, classes),
    brier: brierScore(probs, labels, classes),
    nll: negativeLogLikelihood(logits, labels, classes),
  };
  if (classes === 2) {
    const positiveProb = probs.filter((_, i) => i % 2 === 1);
    const isPositive = Array.from(labels, (y) => y === 1);
    // A set holding one class has no ROC curve; the key is left out rather than made up.
    if (isPositive.includes(true) && isPositive.includes(false)) metrics.auroc = auroc(positiveProb, isPositive);
  }
  if (options.oodLogits) metrics.ood_auroc = oodAuroc(probs, softmax(options.oodLogits, classes), classes);
  return metrics;
}
