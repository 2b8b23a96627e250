// The policy gate, one rule at a time, on reports from the real validator and real metric values.
import { describe, expect, it } from 'vitest';
import { validateDataset, type ValidationReport } from '../../governance/dataset/validate.ts';
import { compareModels } from '../../engine/metrics/compare.ts';
import { gate, type ModelEvaluation } from '../../governance/gate.ts';
import { durationMs, parseGatePolicy, type GatePolicyInput } from '../../governance/gate-policy.ts';

const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
const records = (extra: string[] = []) =>
  Array.from({ length: 40 }, (_, i) => ({
    text: `note ${words[i % 8]} ${words[Math.floor(i / 8) % 8]} on the release ${extra[i] ?? ''}`.trim(),
    label: i % 2 ? 'spam' : 'ham',
  }));

async function validate(rows: unknown[], licence?: string): Promise<ValidationReport> {
  const text = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  return validateDataset(
    {
      train: (async function* () {
        yield new TextEncoder().encode(text);
      })(),
    },
    { manifest: licence ? { licence } : {} },
  );
}

const clean = await validate(records(), 'CC-BY-4.0');
const withEmails = await validate(records(['write to a@example.com', 'or b@example.org']), 'CC-BY-4.0');

const evaluation = (accuracy: number, macro_f1 = accuracy, ece = 0.05, p95?: number): ModelEvaluation => ({
  metrics: { accuracy, macro_f1, ece },
  ...(p95 !== undefined ? { latency: { p95_ms: p95 } } : {}),
});

/** Two models compared on `rows` rows of two classes, each right where its predicate says. */
function compared(rows: number, candidateRight: (i: number) => boolean, productionRight: (i: number) => boolean) {
  const labels = Array.from({ length: rows }, (_, i) => i % 2);
  const predict = (right: (i: number) => boolean) => labels.map((y, i) => (right(i) ? y : 1 - y));
  return compareModels({
    labels,
    candidate: predict(candidateRight),
    production: predict(productionRight),
    labelNames: ['no', 'yes'],
  });
}

const policy = (fields: Partial<GatePolicyInput> = {}) => parseGatePolicy({ approvalTimeout: '72h', ...fields });
const ruleOf = (result: ReturnType<typeof gate>, name: string) => result.rules.find((r) => r.rule === name);

describe('policy parsing', () => {
  it('needs approvalTimeout and defaults blockOnPii to true', () => {
    expect(() => parseGatePolicy({})).toThrow(/approvalTimeout: required/);
    expect(policy()).toEqual({ approvalTimeout: '72h', blockOnPii: true });
  });

  it('names the field and the problem', () => {
    expect(() => policy({ minAccuracy: 1.5 })).toThrow(
      'invalid policy: minAccuracy: expected a number between 0 and 1',
    );
    expect(() => policy({ maxEce: -0.1 })).toThrow(/maxEce: expected a number between 0 and 1/);
    expect(() => policy({ minOodAuroc: 1.2 })).toThrow(/minOodAuroc: expected a number between 0 and 1/);
    expect(() => policy({ maxP95LatencyMs: 0 })).toThrow(/maxP95LatencyMs: expected a positive number/);
    expect(() => policy({ maxRegression: Number.NaN })).toThrow(/maxRegression:/);
    expect(() => policy({ regressionAlpha: 0 })).toThrow(/regressionAlpha: expected a number between 0 and 1/);
    expect(() => policy({ minGainLowerBound: -2 })).toThrow(/minGainLowerBound: expected a number between -1 and 1/);
    expect(() => policy({ allowedLicences: [] })).toThrow(/allowedLicences: list at least one licence/);
    expect(() => policy({ approvalTimeout: '3 days' })).toThrow(/approvalTimeout: expected a number and a unit/);
    expect(() => policy({ approvalTimeout: '31d' })).toThrow(/between 1 minute and 30 days/);
    expect(() => policy({ minAccuracy: '0.9' as unknown as number })).toThrow(/minAccuracy: expected a number/);
    expect(() => parseGatePolicy({ approvalTimeout: '1h', minAcc: 0.9 })).toThrow(/minAcc/);
    expect(() => parseGatePolicy('strict')).toThrow(/invalid policy/);
  });

  it('reads durations in seconds, minutes, hours and days', () => {
    expect([durationMs('90s'), durationMs('30m'), durationMs('72h'), durationMs('7d')]).toEqual([
      90_000, 1_800_000, 259_200_000, 604_800_000,
    ]);
  });
});

describe('gate', () => {
  it('with only the defaults checks validation and PII, and passes clean data', () => {
    const result = gate(policy(), evaluation(0.5), undefined, clean);
    expect(result.passed).toBe(true);
    expect(result.rules.map((r) => r.rule)).toEqual(['dataset_validation', 'pii']);
  });

  it('min_accuracy: at the bound passes, below fails, with actual and threshold', () => {
    expect(ruleOf(gate(policy({ minAccuracy: 0.9 }), evaluation(0.9), undefined, clean), 'min_accuracy')).toEqual({
      rule: 'min_accuracy',
      passed: true,
      actual: 0.9,
      threshold: 0.9,
      message: 'accuracy 0.9000 >= 0.9000',
    });
    const failed = gate(policy({ minAccuracy: 0.9 }), evaluation(0.85), undefined, clean);
    expect(failed.passed).toBe(false);
    expect(ruleOf(failed, 'min_accuracy')).toMatchObject({
      passed: false,
      actual: 0.85,
      message: 'accuracy 0.8500 < 0.9000',
    });
  });

  it('max_ece', () => {
    expect(ruleOf(gate(policy({ maxEce: 0.1 }), evaluation(0.9, 0.9, 0.08), undefined, clean), 'max_ece')?.passed).toBe(
      true,
    );
    expect(
      ruleOf(gate(policy({ maxEce: 0.1 }), evaluation(0.9, 0.9, 0.12), undefined, clean), 'max_ece'),
    ).toMatchObject({
      passed: false,
      actual: 0.12,
      threshold: 0.1,
    });
  });

  it('max_p95_latency_ms fails when latency was not measured', () => {
    const p = policy({ maxP95LatencyMs: 5 });
    expect(ruleOf(gate(p, evaluation(0.9, 0.9, 0.05, 4.2), undefined, clean), 'max_p95_latency_ms')?.passed).toBe(true);
    expect(ruleOf(gate(p, evaluation(0.9, 0.9, 0.05, 5.5), undefined, clean), 'max_p95_latency_ms')?.passed).toBe(
      false,
    );
    expect(ruleOf(gate(p, evaluation(0.9), undefined, clean), 'max_p95_latency_ms')).toMatchObject({
      passed: false,
      actual: null,
      message: expect.stringMatching(/not measured/),
    });
  });

  it('min_ood_auroc: at the bound passes, below fails, and without an OOD file fails as not evaluated', () => {
    const p = policy({ minOodAuroc: 0.8 });
    const withOod = (oodAuroc: number): ModelEvaluation => ({
      metrics: { accuracy: 0.9, macro_f1: 0.9, ece: 0.05, ood_auroc: oodAuroc },
    });
    expect(ruleOf(gate(p, withOod(0.8), undefined, clean), 'min_ood_auroc')).toEqual({
      rule: 'min_ood_auroc',
      passed: true,
      actual: 0.8,
      threshold: 0.8,
      message: 'OOD AUROC 0.8000 >= 0.8000',
    });
    const below = gate(p, withOod(0.62), undefined, clean);
    expect(below.passed).toBe(false);
    expect(ruleOf(below, 'min_ood_auroc')).toMatchObject({
      passed: false,
      actual: 0.62,
      message: 'OOD AUROC 0.6200 < 0.8000',
    });
    const notEvaluated = gate(p, evaluation(0.9), undefined, clean);
    expect(notEvaluated.passed).toBe(false);
    expect(ruleOf(notEvaluated, 'min_ood_auroc')).toMatchObject({
      passed: false,
      actual: null,
      threshold: 0.8,
      message: expect.stringMatching(/not evaluated \(the job has no OOD file\)/),
    });
    // A policy without the rule does not judge OOD AUROC, whether or not one was measured.
    expect(ruleOf(gate(policy(), withOod(0.1), undefined, clean), 'min_ood_auroc')).toBeUndefined();
  });

  it('max_regression: judges accuracy and macro-F1 against production, allowing exactly the bound', () => {
    const p = policy({ maxRegression: 0.01 });
    // 0.92 - 0.91 is 0.010000000000000009 in floating point: still a drop of one point, which is allowed.
    const atBound = gate(p, evaluation(0.91, 0.91), evaluation(0.92, 0.92), clean);
    expect(ruleOf(atBound, 'max_regression_accuracy')?.passed).toBe(true);
    expect(ruleOf(atBound, 'max_regression_macro_f1')?.passed).toBe(true);

    const f1Drop = gate(p, evaluation(0.93, 0.85), evaluation(0.92, 0.9), clean);
    expect(ruleOf(f1Drop, 'max_regression_accuracy')).toMatchObject({
      passed: true,
      message: expect.stringMatching(/improves by 0.0100/),
    });
    expect(ruleOf(f1Drop, 'max_regression_macro_f1')).toMatchObject({ passed: false, threshold: 0.01 });
    expect(ruleOf(f1Drop, 'max_regression_macro_f1')?.actual).toBeCloseTo(0.05, 12);
    expect(f1Drop.passed).toBe(false);

    const never = gate(policy({ maxRegression: 0 }), evaluation(0.899), evaluation(0.9), clean);
    expect(never.passed).toBe(false);
  });

  it('max_regression passes with no production model, saying why', () => {
    const result = gate(policy({ maxRegression: 0 }), evaluation(0.5), undefined, clean);
    expect(ruleOf(result, 'max_regression_accuracy')).toMatchObject({
      passed: true,
      actual: null,
      message: 'no production model to compare with',
    });
  });

  it('max_broken_share: equal accuracy with many flipped rows is stopped; without production it passes', () => {
    const p = policy({ maxBrokenShare: 0.05 });
    // Production right on rows 0–79, the candidate on rows 20–99: 0.8 each.
    const flipped = compared(
      100,
      (i) => i >= 20,
      (i) => i < 80,
    );
    const result = gate(
      policy({ maxBrokenShare: 0.05, maxRegression: 0 }),
      evaluation(0.8),
      evaluation(0.8),
      clean,
      flipped,
    );
    expect(ruleOf(result, 'max_regression_accuracy')?.passed).toBe(true);
    expect(ruleOf(result, 'max_broken_share')).toEqual({
      rule: 'max_broken_share',
      passed: false,
      actual: 0.2,
      threshold: 0.05,
      message:
        'broken share 0.2000 > 0.0500 (20 of 100 rows production got right are now wrong; 20 fixed, 40 changed in all)',
    });
    expect(result.passed).toBe(false);
    const same = compared(
      100,
      () => true,
      () => true,
    );
    expect(ruleOf(gate(p, evaluation(1), evaluation(1), clean, same), 'max_broken_share')?.passed).toBe(true);
    expect(ruleOf(gate(p, evaluation(0.8), undefined, clean), 'max_broken_share')).toMatchObject({
      passed: true,
      actual: null,
      message: 'no production model to compare with',
    });
    // A production model but no comparison (an evaluation from before churn was measured): not shown, so it fails.
    expect(ruleOf(gate(p, evaluation(0.8), evaluation(0.8), clean), 'max_broken_share')).toMatchObject({
      passed: false,
      actual: null,
      message: expect.stringMatching(/not measured/),
    });
  });

  it('no_significant_regression: McNemar stops a regression beyond chance, not a small or no regression', () => {
    const p = policy({ regressionAlpha: 0.05 });
    // Production right on rows 0–79, the candidate on rows 30–89: 30 broken, 10 fixed; chi-square p = 0.0027.
    const worse = gate(
      p,
      evaluation(0.6),
      evaluation(0.8),
      clean,
      compared(
        100,
        (i) => i >= 30 && i < 90,
        (i) => i < 80,
      ),
    );
    expect(ruleOf(worse, 'no_significant_regression')).toMatchObject({ passed: false, threshold: 0.05 });
    expect(ruleOf(worse, 'no_significant_regression')?.actual).toBeCloseTo(0.0026631, 6);
    expect(ruleOf(worse, 'no_significant_regression')?.message).toBe(
      'McNemar (chi-square, continuity-corrected) p = 0.0027 < 0.0500, 30 broken vs 10 fixed: a significant regression',
    );
    // 6 broken, 2 fixed: exact p = 2 · (1 + 8 + 28) / 256 = 0.2891, a regression chance explains.
    const slight = compared(
      100,
      (i) => i >= 6 && i < 82,
      (i) => i < 80,
    );
    const rule = ruleOf(gate(p, evaluation(0.76), evaluation(0.8), clean, slight), 'no_significant_regression');
    expect(rule).toMatchObject({ passed: true, actual: 74 / 256 });
    expect(rule?.message).toMatch(/not a significant regression$/);
    // A significant improvement passes, as does a job without production.
    const better = compared(
      100,
      (i) => i < 80,
      (i) => i >= 30 && i < 90,
    );
    expect(ruleOf(gate(p, evaluation(0.8), evaluation(0.6), clean, better), 'no_significant_regression')).toMatchObject(
      { passed: true, message: expect.stringMatching(/no regression/) },
    );
    expect(ruleOf(gate(p, evaluation(0.8), undefined, clean), 'no_significant_regression')?.passed).toBe(true);
  });

  it('min_gain_lower_bound: the bootstrap interval of the gain must clear the bound, for accuracy and macro-F1', () => {
    // 1000 rows: the candidate right on 90 %, production on 70 %, nested: a gain of 0.2 with a narrow interval.
    const gained = compared(
      1000,
      (i) => i % 10 < 9,
      (i) => i % 10 < 7,
    );
    const { low, high } = gained.uncertainty.bootstrap.accuracy.difference;
    expect(low).toBeGreaterThan(0.15);
    expect(high).toBeLessThan(0.25);
    const shown = gate(policy({ minGainLowerBound: 0.1 }), evaluation(0.9), evaluation(0.7), clean, gained);
    expect(ruleOf(shown, 'min_gain_lower_bound_accuracy')).toMatchObject({ passed: true, actual: low, threshold: 0.1 });
    expect(ruleOf(shown, 'min_gain_lower_bound_accuracy')?.message).toMatch(
      /^accuracy gain 0\.2000, 95 % interval \[0\.\d{4}, 0\.\d{4}\]: lower bound >= 0\.1000$/,
    );
    expect(ruleOf(shown, 'min_gain_lower_bound_macro_f1')?.passed).toBe(true);
    const unproven = gate(policy({ minGainLowerBound: 0.19 }), evaluation(0.9), evaluation(0.7), clean, gained);
    expect(ruleOf(unproven, 'min_gain_lower_bound_accuracy')?.passed).toBe(false);
    expect(unproven.passed).toBe(false);
    // A negative bound rules out only a loss larger than it: equal models pass -0.01, fail 0.01.
    const same = compared(
      1000,
      (i) => i % 10 < 8,
      (i) => i % 10 < 8,
    );
    expect(gate(policy({ minGainLowerBound: -0.01 }), evaluation(0.8), evaluation(0.8), clean, same).passed).toBe(true);
    expect(gate(policy({ minGainLowerBound: 0.01 }), evaluation(0.8), evaluation(0.8), clean, same).passed).toBe(false);
  });

  it('max_slice_regression: a candidate that wins overall but loses a slice is stopped; small slices are not judged', () => {
    // 200 rows, slice "eu" rows 0–39: production wrong on rows 100–159 (0.7 overall), the candidate on rows 0–19
    // (0.9 overall) — all of its errors in "eu", where production made none.
    const labels = Array.from({ length: 200 }, (_, i) => i % 2);
    const slices = labels.map((_, i) => (i < 40 ? 'eu' : 'us'));
    const comparison = compareModels({
      labels,
      candidate: labels.map((y, i) => (i < 20 ? 1 - y : y)),
      production: labels.map((y, i) => (i >= 100 && i < 160 ? 1 - y : y)),
      labelNames: ['no', 'yes'],
      slices,
    });
    const p = policy({ maxRegression: 0, maxSliceRegression: 0.05 });
    const result = gate(p, evaluation(0.9), evaluation(0.7), clean, comparison);
    expect(ruleOf(result, 'max_regression_accuracy')?.passed).toBe(true);
    expect(ruleOf(result, 'max_slice_regression')).toEqual({
      rule: 'max_slice_regression',
      passed: false,
      actual: 0.5,
      threshold: 0.05,
      message:
        'worst of 4 subgroups with 30+ rows: slice "eu" (40 rows), accuracy 0.5000 vs production 1: drops by 0.5000, more than the 0.0500 allowed',
    });
    expect(result.passed).toBe(false);
    // With 50 rows needed, "eu" is reported but not judged: the worst judged subgroup improves.
    const lenient = gate(
      policy({ maxSliceRegression: 0.05, minSliceRows: 50 }),
      evaluation(0.9),
      evaluation(0.7),
      clean,
      comparison,
    );
    expect(ruleOf(lenient, 'max_slice_regression')).toMatchObject({
      passed: true,
      message: expect.stringMatching(/^worst of 3 subgroups with 50\+ rows: class "no"/),
    });
    const none = gate(
      policy({ maxSliceRegression: 0.05, minSliceRows: 500 }),
      evaluation(0.9),
      evaluation(0.7),
      clean,
      comparison,
    );
    expect(ruleOf(none, 'max_slice_regression')).toMatchObject({
      passed: true,
      actual: null,
      message: 'no class or slice has 500 rows or more: nothing to judge',
    });
    expect(() => policy({ minSliceRows: 2.5 })).toThrow(/minSliceRows: expected a whole number of rows/);
  });

  it('max_robustness_drop: the largest clean − perturbed accuracy drop; unmeasured fails', () => {
    const p = policy({ maxRobustnessDrop: 0.05 });
    const robust = (robustness: Record<string, number>): ModelEvaluation => ({ ...evaluation(0.9), robustness });
    const fragile = gate(p, robust({ typos: 0.88, word_drop: 0.8, case: 0.9 }), undefined, clean);
    expect(ruleOf(fragile, 'max_robustness_drop')).toMatchObject({ passed: false, threshold: 0.05 });
    expect(ruleOf(fragile, 'max_robustness_drop')?.actual).toBeCloseTo(0.1, 12);
    expect(ruleOf(fragile, 'max_robustness_drop')?.message).toBe(
      'largest accuracy drop under perturbation: 0.1000 (word_drop, 0.8000 vs 0.9000 clean) > 0.0500',
    );
    expect(ruleOf(gate(p, robust({ typos: 0.86, case: 0.91 }), undefined, clean), 'max_robustness_drop')?.passed).toBe(
      true,
    );
    expect(ruleOf(gate(p, evaluation(0.9), undefined, clean), 'max_robustness_drop')).toMatchObject({
      passed: false,
      actual: null,
      message: expect.stringMatching(/not measured/),
    });
  });

  it('allowed_licences: case-insensitive, and an undeclared licence fails', async () => {
    const allowed = policy({ allowedLicences: ['cc-by-4.0', 'MIT'] });
    expect(ruleOf(gate(allowed, evaluation(0.9), undefined, clean), 'allowed_licences')).toMatchObject({
      passed: true,
      actual: 'CC-BY-4.0',
    });
    const gpl = await validate(records(), 'GPL-3.0-only');
    expect(ruleOf(gate(allowed, evaluation(0.9), undefined, gpl), 'allowed_licences')).toMatchObject({
      passed: false,
      message: 'licence GPL-3.0-only is not on the allow-list',
    });
    const undeclared = await validate(records());
    expect(ruleOf(gate(allowed, evaluation(0.9), undefined, undeclared), 'allowed_licences')).toMatchObject({
      passed: false,
      actual: null,
      message: 'the dataset declares no licence: upload the training file again with a licence form field (an SPDX id)',
    });
  });

  it('pii: the validator’s PII findings block unless the policy says not to', () => {
    expect(withEmails.findings.some((f) => f.code === 'pii_email')).toBe(true);
    expect(ruleOf(gate(policy(), evaluation(0.9), undefined, withEmails), 'pii')).toMatchObject({
      passed: false,
      actual: 2,
    });
    expect(ruleOf(gate(policy({ blockOnPii: false }), evaluation(0.9), undefined, withEmails), 'pii')).toMatchObject({
      passed: true,
      actual: 2,
      threshold: false,
    });
  });

  it('dataset_validation: a report with blocking findings fails the gate', async () => {
    const blocked = await validate([...records(), { text: 'no label here' }]);
    expect(blocked.passed).toBe(false);
    const result = gate(policy(), evaluation(0.99), undefined, blocked);
    expect(result.passed).toBe(false);
    expect(ruleOf(result, 'dataset_validation')?.passed).toBe(false);
  });

  it('passes only when every rule passes', () => {
    const strict = policy({
      minAccuracy: 0.8,
      maxEce: 0.1,
      maxP95LatencyMs: 10,
      maxRegression: 0.02,
      allowedLicences: ['CC-BY-4.0'],
    });
    const good = gate(strict, evaluation(0.9, 0.9, 0.05, 3), evaluation(0.91), clean);
    expect(good.rules).toHaveLength(8);
    expect(good.rules.every((r) => r.passed)).toBe(true);
    expect(good.passed).toBe(true);
    expect(gate(strict, evaluation(0.9, 0.9, 0.05, 30), evaluation(0.91), clean).passed).toBe(false);
  });
});
