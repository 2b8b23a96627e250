import type { FindingCode } from './dataset/findings.ts';
import type { ValidationReport } from './dataset/validate.ts';
import type { Comparison } from '../engine/metrics/compare.ts';
import type { EvaluationMetrics } from '../engine/metrics/evaluate.ts';
import type { LatencyReport } from '../engine/metrics/latency.ts';
import type { GatePolicy } from './gate-policy.ts';

// The policy gate: one verdict per rule the policy sets, each with the figure it judged and the bound it held it
// to, so the model card and the approver see why, not only whether. Pure: same inputs, same result.

/** What the gate reads of an evaluation (engine/metrics' `evaluate` and `measureLatency` outputs). */
export type ModelEvaluation = {
  metrics: Pick<EvaluationMetrics, 'accuracy' | 'macro_f1' | 'ece' | 'ood_auroc'>;
  latency?: Pick<LatencyReport, 'p95_ms'>;
  /** Accuracy under each perturbation of the eval rows, by name. */
  robustness?: Record<string, number>;
};

export type GateRuleName =
  | 'dataset_validation'
  | 'min_accuracy'
  | 'max_ece'
  | 'min_ood_auroc'
  | 'max_p95_latency_ms'
  | 'max_regression_accuracy'
  | 'max_regression_macro_f1'
  | 'max_broken_share'
  | 'no_significant_regression'
  | 'min_gain_lower_bound_accuracy'
  | 'min_gain_lower_bound_macro_f1'
  | 'max_slice_regression'
  | 'max_robustness_drop'
  | 'allowed_licences'
  | 'pii';

export type GateRule = {
  rule: GateRuleName;
  passed: boolean;
  /** The figure judged; null when there was nothing to judge (e.g. no production model yet). */
  actual: number | string | null;
  threshold: number | string | string[] | boolean;
  message: string;
};

export type GateResult = { passed: boolean; rules: GateRule[] };

/** Metric differences are differences of floats: 0.92 - 0.91 is 0.010000000000000009, which must pass a 0.01 bound. */
const TOLERANCE = 1e-9;

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(4));

/** What the gate reads of the row-by-row comparison with production (engine/metrics' `compareModels`). */
export type ModelComparison = Pick<Comparison, 'churn' | 'uncertainty' | 'slices'>;

/** `minSliceRows` when the policy does not set it. */
export const DEFAULT_MIN_SLICE_ROWS = 30;

/**
 * `comparison` is the candidate against production row by row; a policy rule that reads it fails when there is a
 * production model but no comparison (an evaluation made before these figures existed).
 */
export function gate(
  policy: GatePolicy,
  candidate: ModelEvaluation,
  production: ModelEvaluation | undefined,
  validation: Pick<ValidationReport, 'passed' | 'findings' | 'manifest'>,
  comparison?: ModelComparison,
): GateResult {
  const rules: GateRule[] = [];
  const { metrics } = candidate;

  rules.push({
    rule: 'dataset_validation',
    passed: validation.passed,
    actual: validation.passed ? 'passed' : 'failed',
    threshold: 'passed',
    message: validation.passed ? 'the dataset passed validation' : 'the dataset has blocking validation findings',
  });

  if (policy.minAccuracy !== undefined) {
    rules.push(atLeast('min_accuracy', 'accuracy', metrics.accuracy, policy.minAccuracy));
  }
  if (policy.maxEce !== undefined) rules.push(atMost('max_ece', 'ECE', metrics.ece, policy.maxEce));
  if (policy.minOodAuroc !== undefined) {
    const missing = 'OOD AUROC was not evaluated (the job has no OOD file), so it cannot be shown to meet the bound';
    rules.push(measured(atLeast, 'min_ood_auroc', 'OOD AUROC', metrics.ood_auroc, policy.minOodAuroc, missing));
  }
  if (policy.maxP95LatencyMs !== undefined) {
    const p95 = candidate.latency?.p95_ms;
    const missing = 'p95 latency was not measured, so it cannot be shown to be within the bound';
    rules.push(measured(atMost, 'max_p95_latency_ms', 'p95 latency (ms)', p95, policy.maxP95LatencyMs, missing));
  }
  if (policy.maxRegression !== undefined) {
    for (const metric of ['accuracy', 'macro_f1'] as const) {
      rules.push(regression(metric, candidate, production, policy.maxRegression));
    }
  }
  if (policy.maxBrokenShare !== undefined) {
    const bound = policy.maxBrokenShare;
    rules.push(
      paired('max_broken_share', 'churn', bound, production, comparison, ({ churn }) => {
        const rule = atMost('max_broken_share', 'broken share', churn.broken_share, bound);
        const counts = `${churn.broken} of ${churn.rows} rows production got right are now wrong; ${churn.fixed} fixed, ${churn.changed} changed in all`;
        return { ...rule, message: `${rule.message} (${counts})` };
      }),
    );
  }
  if (policy.regressionAlpha !== undefined) {
    const alpha = policy.regressionAlpha;
    const rule = 'no_significant_regression';
    rules.push(paired(rule, 'McNemar', alpha, production, comparison, (c) => significance(c, alpha)));
  }
  if (policy.minGainLowerBound !== undefined) {
    const bound = policy.minGainLowerBound;
    for (const metric of ['accuracy', 'macro_f1'] as const) {
      const rule = `min_gain_lower_bound_${metric}` as const;
      rules.push(paired(rule, 'the gain interval', bound, production, comparison, (c) => gain(c, metric, bound)));
    }
  }
  if (policy.maxSliceRegression !== undefined) {
    const [bound, minRows] = [policy.maxSliceRegression, policy.minSliceRows ?? DEFAULT_MIN_SLICE_ROWS];
    rules.push(
      paired('max_slice_regression', 'accuracy by slice', bound, production, comparison, (c) =>
        worstSlice(c, bound, minRows),
      ),
    );
  }
  if (policy.maxRobustnessDrop !== undefined) rules.push(robustness(candidate, policy.maxRobustnessDrop));
  if (policy.allowedLicences) rules.push(licence(validation.manifest?.licence, policy.allowedLicences));
  rules.push(pii(validation.findings, policy.blockOnPii));

  return { passed: rules.every((r) => r.passed), rules };
}

function atLeast(rule: GateRuleName, what: string, actual: number, min: number): GateRule {
  const passed = actual >= min;
  return { rule, passed, actual, threshold: min, message: `${what} ${fmt(actual)} ${passed ? '>=' : '<'} ${fmt(min)}` };
}

function atMost(rule: GateRuleName, what: string, actual: number, max: number): GateRule {
  const passed = actual <= max;
  return { rule, passed, actual, threshold: max, message: `${what} ${fmt(actual)} ${passed ? '<=' : '>'} ${fmt(max)}` };
}

/** `judge` applied to a figure the job may not have measured: without it the rule fails, as it cannot be shown to hold. */
function measured(
  judge: typeof atLeast | typeof atMost,
  rule: GateRuleName,
  what: string,
  actual: number | undefined,
  bound: number,
  missing: string,
): GateRule {
  if (actual === undefined) return { rule, passed: false, actual: null, threshold: bound, message: missing };
  return judge(rule, what, actual, bound);
}

function regression(
  metric: 'accuracy' | 'macro_f1',
  candidate: ModelEvaluation,
  production: ModelEvaluation | undefined,
  maxDrop: number,
): GateRule {
  const rule = `max_regression_${metric}` as const;
  if (!production) {
    return { rule, passed: true, actual: null, threshold: maxDrop, message: 'no production model to compare with' };
  }
  return dropRule(rule, metric, candidate.metrics[metric], production.metrics[metric], maxDrop);
}

/** A figure against production's: production − candidate may be at most `maxDrop`. */
function dropRule(rule: GateRuleName, what: string, candidate: number, production: number, maxDrop: number): GateRule {
  const drop = production - candidate;
  const passed = drop <= maxDrop + TOLERANCE;
  const change = drop > 0 ? `drops by ${fmt(drop)}` : `improves by ${fmt(-drop)}`;
  return {
    rule,
    passed,
    actual: drop,
    threshold: maxDrop,
    message: `${what} ${fmt(candidate)} vs production ${fmt(production)}: ${change}${passed ? '' : `, more than the ${fmt(maxDrop)} allowed`}`,
  };
}

/**
 * A rule on the row-by-row comparison with production: passes with nothing to judge when there is no production
 * model, fails when there is one but `what` was not measured, otherwise `judge` decides.
 */
function paired(
  rule: GateRuleName,
  what: string,
  threshold: number,
  production: ModelEvaluation | undefined,
  comparison: ModelComparison | undefined,
  judge: (comparison: ModelComparison) => GateRule,
): GateRule {
  if (!production) {
    return { rule, passed: true, actual: null, threshold, message: 'no production model to compare with' };
  }
  if (!comparison) {
    const message = `${what} against production was not measured, so it cannot be shown to meet the bound`;
    return { rule, passed: false, actual: null, threshold, message };
  }
  return judge(comparison);
}

/** Fails only a regression shown to be more than chance: more rows broken than fixed, and McNemar's p below alpha. */
function significance({ uncertainty: { mcnemar } }: ModelComparison, alpha: number): GateRule {
  const { fixed, broken, p_value: p } = mcnemar;
  const significant = p < alpha;
  const passed = !(broken > fixed && significant);
  const verdict =
    broken > fixed
      ? significant
        ? 'a significant regression'
        : 'not a significant regression'
      : 'no regression (it fixes at least as many as it breaks)';
  return {
    rule: 'no_significant_regression',
    passed,
    actual: p,
    threshold: alpha,
    message: `McNemar (${mcnemar.method}) p = ${fmt(p)} ${significant ? '<' : '>='} ${fmt(alpha)}, ${broken} broken vs ${fixed} fixed: ${verdict}`,
  };
}

/** The lower end of the bootstrap interval of candidate − production must reach the bound. */
function gain(
  { uncertainty: { bootstrap } }: ModelComparison,
  metric: 'accuracy' | 'macro_f1',
  bound: number,
): GateRule {
  const { estimate, low, high } = bootstrap[metric].difference;
  const passed = low >= bound - TOLERANCE;
  const level = `${Math.round(bootstrap.confidence * 1000) / 10} %`;
  return {
    rule: `min_gain_lower_bound_${metric}`,
    passed,
    actual: low,
    threshold: bound,
    message: `${metric} gain ${fmt(estimate)}, ${level} interval [${fmt(low)}, ${fmt(high)}]: lower bound ${passed ? '>=' : '<'} ${fmt(bound)}`,
  };
}

/** The worst accuracy drop over the classes and declared slices with at least `minRows` rows. */
function worstSlice({ slices }: ModelComparison, bound: number, minRows: number): GateRule {
  const judged = slices.filter((s) => s.rows >= minRows);
  const rule = 'max_slice_regression';
  if (judged.length === 0) {
    const message = `no class or slice has ${minRows} rows or more: nothing to judge`;
    return { rule, passed: true, actual: null, threshold: bound, message };
  }
  // Not relying on the report's order: a comparison read back from JSON is judged the same way.
  const worst = judged.reduce((a, b) => (b.change < a.change ? b : a));
  const judgedDrop = dropRule(rule, 'accuracy', worst.candidate_accuracy, worst.production_accuracy, bound);
  const subgroup = `${worst.kind} ${JSON.stringify(worst.name)} (${worst.rows} rows)`;
  return {
    ...judgedDrop,
    message: `worst of ${judged.length} subgroups with ${minRows}+ rows: ${subgroup}, ${judgedDrop.message}`,
  };
}

/** The largest clean − perturbed accuracy drop over the perturbation suite; unmeasured, the rule fails. */
function robustness({ metrics, robustness: suite }: ModelEvaluation, bound: number): GateRule {
  const rule = 'max_robustness_drop';
  const drops = Object.entries(suite ?? {}).map(([name, accuracy]) => ({
    name,
    accuracy,
    drop: metrics.accuracy - accuracy,
  }));
  if (drops.length === 0) {
    const message = 'accuracy under perturbation was not measured, so it cannot be shown to be within the bound';
    return { rule, passed: false, actual: null, threshold: bound, message };
  }
  const worst = drops.reduce((a, b) => (b.drop > a.drop ? b : a));
  const passed = worst.drop <= bound + TOLERANCE;
  return {
    rule,
    passed,
    actual: worst.drop,
    threshold: bound,
    message: `largest accuracy drop under perturbation: ${fmt(worst.drop)} (${worst.name}, ${fmt(worst.accuracy)} vs ${fmt(metrics.accuracy)} clean) ${passed ? '<=' : '>'} ${fmt(bound)}`,
  };
}

function licence(declared: string | undefined, allowed: string[]): GateRule {
  const passed = declared !== undefined && allowed.some((a) => a.toLowerCase() === declared.toLowerCase());
  const message =
    declared === undefined
      ? 'the dataset declares no licence: upload the training file again with a licence form field (an SPDX id)'
      : `licence ${declared} is ${passed ? '' : 'not '}on the allow-list`;
  return { rule: 'allowed_licences', passed, actual: declared ?? null, threshold: allowed, message };
}

const PII_CODES: readonly FindingCode[] = ['pii_email', 'pii_phone', 'pii_card'];

function pii(findings: ValidationReport['findings'], block: boolean): GateRule {
  const count = findings.filter((f) => PII_CODES.includes(f.code)).reduce((n, f) => n + f.count, 0);
  const passed = !block || count === 0;
  const message =
    count === 0
      ? 'no PII found in the data'
      : `${count} PII finding(s) in the data${block ? '; the policy blocks on PII' : '; the policy does not block on PII'}`;
  return { rule: 'pii', passed, actual: count, threshold: block, message };
}
