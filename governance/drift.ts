import type { DataDrift } from '../engine/train/data-drift.ts';
import type { FeatureDrift, TokenDrift } from '../engine/metrics/drift.ts';
import { num, signed, table } from './markdown.ts';

// The drift of a job's training data from the production model's, as the evaluation reports it and the model card
// shows it: so an approver sees why a retrain behaves differently. A report, not a gate rule.

/** Production's training file as its lineage records it: the reference the new training data is measured against. */
export type DriftReference = { version: number; train_key?: string; train_sha256?: string };

/** The drift report, or why it could not be measured (no recorded key, a changed file, data of another kind). */
export type Drift = { production: DriftReference } & (
  ({ measured: true } & DataDrift) | { measured: false; reason: string }
);

/** How many features or words the markdown lists; card.json holds every feature and the report's words. */
export const CARD_DRIFT_ROWS = 5;

/** The card's drift section; nothing without a production model. */
export function driftLines(drift: Drift | undefined): string[] {
  if (!drift) return [];
  const heading = `### Drift from production's training data (version ${drift.production.version})`;
  if (!drift.measured) return [heading, '', `Not measured: ${drift.reason}.`, ''];
  return [
    heading,
    '',
    `${drift.rows.current} new training rows (${drift.rows.shared} of them also in production's) against ` +
      `production's ${drift.rows.reference}.`,
    '',
    ...(drift.kind === 'features' ? featureLines(drift.features) : tokenLines(drift.tokens)),
    twoSampleLine(drift.two_sample),
    '',
  ];
}

function featureLines(drift: FeatureDrift): string[] {
  const shown = drift.features.slice(0, CARD_DRIFT_ROWS);
  return [
    `Population stability index per feature (${drift.bins} bins at production's quantiles; 0.1 moderate, 0.25 major), ` +
      `largest first: ${drift.major} of ${drift.features.length} features shifted majorly.`,
    '',
    table(
      ['Feature', 'PSI', 'Shift', 'Production mean', 'New mean'],
      shown.map((f) => [f.feature, num(f.psi), f.level, num(f.reference_mean), num(f.current_mean)]),
    ),
    '',
  ];
}

function tokenLines(drift: TokenDrift): string[] {
  return [
    `Jensen–Shannon divergence of word frequencies: ${num(drift.js_divergence)} bits (0 same, 1 disjoint), over ` +
      `${drift.vocabulary} distinct words. The words whose share moved most:`,
    '',
    table(
      ['Word', 'Production share', 'New share', 'Change'],
      drift.moved
        .slice(0, CARD_DRIFT_ROWS)
        .map((t) => [t.token, num(t.reference_share), num(t.current_share), signed(t.change)]),
    ),
    '',
  ];
}

function twoSampleLine(test: DataDrift['two_sample']): string {
  if ('skipped' in test) return `No classifier two-sample test: ${test.skipped}.`;
  return (
    `Classifier two-sample test of production's rows against the rows new to it (${test.model}, ${test.folds}-fold, ` +
    `seed ${test.seed}, ${test.rows.reference} + ${test.rows.current} rows): held-out AUC ${num(test.auc)}, accuracy ${num(test.accuracy)} against ` +
    `${num(test.chance_accuracy)} by chance; one-sided p = ${pValue(test.p_value)} (an AUC this high if the two sets ` +
    'were alike).'
  );
}

const pValue = (p: number) => (p < 1e-4 ? '< 0.0001' : num(p));
