// engine/metrics against scikit-learn: expected values were computed by test/fixtures/metrics/make_expected.py
// (scikit-learn's metrics, plus ECE from its definition in numpy) on the same logits and labels.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../engine/metrics/index.ts';

interface Case {
  name: string;
  classes: number;
  logits: number[];
  labels: number[];
  ood_logits?: number[];
  expected: {
    accuracy: number;
    macro_f1: number;
    precision: number[];
    recall: number[];
    f1: number[];
    support: number[];
    confusion_matrix: number[][];
    ece: number;
    brier: number;
    nll: number;
    auroc?: number;
    ood_auroc?: number;
  };
}

const { cases } = JSON.parse(readFileSync(new URL('../fixtures/metrics/expected.json', import.meta.url), 'utf8')) as {
  cases: Case[];
};

const TOLERANCE = 1e-9;

describe('evaluate matches scikit-learn', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const names = Array.from({ length: c.classes }, (_, k) => `class${k}`);
    const m = evaluate(c.logits, Int32Array.from(c.labels), names, { oodLogits: c.ood_logits });
    const e = c.expected;

    expect(m.accuracy).toBeCloseTo(e.accuracy, 12);
    expect(Math.abs(m.macro_f1 - e.macro_f1)).toBeLessThan(TOLERANCE);
    expect(m.confusion_matrix).toEqual(e.confusion_matrix);
    names.forEach((name, k) => {
      const scores = m.per_class[name];
      expect(scores.support).toBe(e.support[k]);
      expect(Math.abs(scores.precision - e.precision[k])).toBeLessThan(TOLERANCE);
      expect(Math.abs(scores.recall - e.recall[k])).toBeLessThan(TOLERANCE);
      expect(Math.abs(scores.f1 - e.f1[k])).toBeLessThan(TOLERANCE);
    });
    expect(Math.abs(m.ece - e.ece)).toBeLessThan(TOLERANCE);
    expect(Math.abs(m.brier - e.brier)).toBeLessThan(TOLERANCE);
    expect(Math.abs(m.nll - e.nll)).toBeLessThan(TOLERANCE);
    if (e.auroc === undefined) expect(m.auroc).toBeUndefined();
    else expect(Math.abs(m.auroc! - e.auroc)).toBeLessThan(TOLERANCE);
    if (e.ood_auroc === undefined) expect(m.ood_auroc).toBeUndefined();
    else expect(Math.abs(m.ood_auroc! - e.ood_auroc)).toBeLessThan(TOLERANCE);
  });
});
