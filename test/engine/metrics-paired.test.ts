// Paired comparisons of two models on the same rows: churn, on predictions built so that each figure is known.
import { describe, expect, it } from 'vitest';
import { accuracy, churn, compareModels } from '../../engine/metrics/index.ts';

/** 100 rows of 2 classes; production right on rows 0–79, the candidate right on rows 20–99: equal accuracy. */
const labels = Int32Array.from({ length: 100 }, (_, i) => i % 2);
const wrong = (y: number) => 1 - y;
const production = labels.map((y, i) => (i < 80 ? y : wrong(y)));
const candidate = labels.map((y, i) => (i >= 20 ? y : wrong(y)));

describe('churn', () => {
  it('shows what equal accuracy hides: 40 % of rows flipped, half fixed, half broken', () => {
    expect(accuracy(candidate, labels)).toBe(accuracy(production, labels));
    const c = churn(labels, candidate, production);
    expect(c).toEqual({
      rows: 100,
      changed: 40,
      changed_share: 0.4,
      fixed: 20,
      fixed_share: 0.2,
      broken: 20,
      broken_share: 0.2,
      examples: { fixed: [80, 81, 82, 83, 84], broken: [0, 1, 2, 3, 4] },
    });
  });

  it('counts a change between two wrong answers as changed, neither fixed nor broken', () => {
    // Three classes: the true class is 0; production says 1, the candidate 2.
    expect(churn([0, 0], [2, 0], [1, 0])).toMatchObject({ changed: 1, fixed: 0, broken: 0, changed_share: 0.5 });
  });

  it('is zero for identical predictions, and compareModels carries it', () => {
    expect(churn(labels, production, production)).toMatchObject({ changed: 0, fixed: 0, broken: 0 });
    expect(compareModels({ labels, candidate, production, classes: 2 })).toMatchObject({
      rows: 100,
      churn: { broken: 20 },
    });
  });

  it('refuses predictions of another length', () => {
    expect(() => churn([0, 1], [0], [0, 1])).toThrow(/1 and 2 predictions for 2 labels/);
    expect(() => churn([], [], [])).toThrow(/no rows/);
  });
});
