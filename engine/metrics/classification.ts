// Scores of hard predictions. Definitions follow scikit-learn's, including its zero-division convention:
// a precision, recall or F1 whose denominator is zero counts as 0.
import { checkLabels } from './rows.ts';

export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  /** How many rows truly belong to the class. */
  support: number;
}

export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predicted.length !== labels.length) {
    throw new RangeError(`accuracy: ${predicted.length} predictions for ${labels.length} labels`);
  }
  if (labels.length === 0) throw new RangeError('accuracy: no rows to score');
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / labels.length;
}

/** counts[true class][predicted class]. */
export function confusionMatrix(labels: ArrayLike<number>, predicted: ArrayLike<number>, classes: number): number[][] {
  if (predicted.length !== labels.length) {
    throw new RangeError(`confusionMatrix: ${predicted.length} predictions for ${labels.length} labels`);
  }
  checkLabels(labels, classes, 'confusionMatrix');
  checkLabels(predicted, classes, 'confusionMatrix (predictions)');
  const counts = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) counts[labels[i]][predicted[i]]++;
  return counts;
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

export function perClassScores(confusion: number[][]): ClassScores[] {
  return confusion.map((row, k) => {
    const truePositives = row[k];
    const support = row.reduce((s, n) => s + n, 0);
    const predictedAsK = confusion.reduce((s, r) => s + r[k], 0);
    const precision = ratio(truePositives, predictedAsK);
    const recall = ratio(truePositives, support);
    return { precision, recall, f1: ratio(2 * precision * recall, precision + recall), support };
  });
}

/**
 * The unweighted mean F1 over the classes that occur in the labels or the predictions (scikit-learn's default):
 * a class absent from both says nothing about the model and would only drag the mean to zero.
 */
export function macroF1(confusion: number[][]): number {
  const scores = perClassScores(confusion);
  const present = scores.filter((s, k) => s.support > 0 || confusion.some((row) => row[k] > 0));
  return present.reduce((sum, s) => sum + s.f1, 0) / present.length;
}
