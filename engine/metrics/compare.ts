// The candidate against production on the same eval rows, row by row: the paired figures the gate and the model
// card read beside each model's own metrics.
import { churn, type Churn } from './paired.ts';

export interface Comparison {
  /** Eval rows both models were scored on. */
  rows: number;
  /** Rows whose prediction changed from production's, and which of them were fixed or broken. */
  churn: Churn;
}

export interface PairedPredictions {
  /** Class index of each eval row. */
  labels: ArrayLike<number>;
  candidate: ArrayLike<number>;
  production: ArrayLike<number>;
}

export function compareModels({ labels, candidate, production }: PairedPredictions): Comparison {
  return { rows: labels.length, churn: churn(labels, candidate, production) };
}
