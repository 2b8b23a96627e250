import type { EvaluateResult, Evaluation } from '../core/jobs/stages.ts';
import type { Drift } from '../governance/drift.ts';

// The details of a job's `model.evaluated` ledger entry: each model's headline figures and, against production, what
// an auditor needs without the card: how many predictions changed (fixed, broken), the accuracy difference with its
// interval and McNemar's p, and how far the training data drifted. Absent parts stay out of the entry, so the
// entries of jobs without a production model read as before.

export function evaluatedDetails({ candidate, production, comparison, drift }: EvaluateResult) {
  return {
    candidate: headline(candidate),
    production: production ? { version: production.version, ...headline(production.evaluation) } : null,
    ...(comparison
      ? {
          churn: {
            changed_share: comparison.churn.changed_share,
            fixed: comparison.churn.fixed,
            broken: comparison.churn.broken,
          },
          accuracy_difference: {
            ...comparison.uncertainty.bootstrap.accuracy.difference,
            confidence: comparison.uncertainty.bootstrap.confidence,
          },
          mcnemar_p: comparison.uncertainty.mcnemar.p_value,
        }
      : {}),
    ...(drift ? { drift: driftHeadline(drift) } : {}),
  };
}

const headline = ({ metrics, latency }: Evaluation) => ({
  accuracy: metrics.accuracy,
  macro_f1: metrics.macro_f1,
  ece: metrics.ece,
  p95_ms: latency.p95_ms,
});

/** The drift report's one-line form: the most-moved feature or the word divergence, and the two-sample test. */
function driftHeadline(drift: Drift) {
  if (!drift.measured) return { measured: false, reason: drift.reason };
  const t = drift.two_sample;
  const test = 'skipped' in t ? { two_sample_skipped: t.skipped } : { two_sample_auc: t.auc, two_sample_p: t.p_value };
  if (drift.kind === 'text')
    return { measured: true, kind: drift.kind, js_divergence: drift.tokens.js_divergence, ...test };
  const top = drift.features.features[0];
  return { measured: true, kind: drift.kind, top_feature: top?.feature, max_psi: drift.features.max_psi, ...test };
}
