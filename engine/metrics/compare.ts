// The candidate against production on the same eval rows, row by row: the paired figures the gate and the model
// card read beside each model's own metrics.
import { churn, type Churn } from './paired.ts';
import { sliceScores, type SliceScore } from './slices.ts';
import { mcnemar, pairedBootstrap, type BootstrapOptions, type BootstrapReport, type McNemar } from './uncertainty.ts';

export interface Comparison {
  /** Eval rows both models were scored on. */
  rows: number;
  /** Rows whose prediction changed from production's, and which of them were fixed or broken. */
  churn: Churn;
  /** How sure the differences are: bootstrap intervals, and McNemar's test on the fixed and broken rows. */
  uncertainty: { bootstrap: BootstrapReport; mcnemar: McNemar };
  /** Accuracy of both models per true class and per declared slice, the worst change first. */
  slices: SliceScore[];
}

export interface PairedPredictions {
  /** Class index of each eval row. */
  labels: ArrayLike<number>;
  candidate: ArrayLike<number>;
  production: ArrayLike<number>;
  /** The classes the labels index; a prediction outside them counts as wrong. */
  labelNames: readonly string[];
  /** Each row's declared slice, null for none (engine/data's `parseSlicesJsonl`). */
  slices?: readonly (string | null)[];
}

export function compareModels(
  { labels, candidate, production, labelNames, slices }: PairedPredictions,
  options: { bootstrap?: BootstrapOptions } = {},
): Comparison {
  const changes = churn(labels, candidate, production);
  return {
    rows: labels.length,
    churn: changes,
    uncertainty: {
      bootstrap: pairedBootstrap(labels, candidate, production, labelNames.length, options.bootstrap),
      mcnemar: mcnemar(changes.fixed, changes.broken),
    },
    slices: sliceScores(labels, candidate, production, labelNames, slices),
  };
}
