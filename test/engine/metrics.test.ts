import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  accuracy,
  argmaxRows,
  auroc,
  brierScore,
  confusionMatrix,
  evaluate,
  expectedCalibrationError,
  macroF1,
  negativeLogLikelihood,
  oodAuroc,
  perClassScores,
  softmax,
} from '../../engine/metrics/index.ts';

describe('softmax', () => {
  it('normalises each row, stably for huge logits', () => {
    const p = softmax([0, Math.log(3), 1000, 1000], 2);
    expect(p[0]).toBeCloseTo(0.25, 15);
    expect(p[1]).toBeCloseTo(0.75, 15);
    expect(p[2]).toBeCloseTo(0.5, 15);
    expect(p[3]).toBeCloseTo(0.5, 15);
  });

  it('takes the first of tied maxima, like numpy', () => {
    expect([...argmaxRows([1, 3, 3, 0, 0, 0], 3)]).toEqual([1, 0]);
  });
});

describe('classification scores', () => {
  // true:      0  0  1  1  2
  // predicted: 0  1  1  1  0
  const labels = [0, 0, 1, 1, 2];
  const predicted = [0, 1, 1, 1, 0];
  const confusion = confusionMatrix(labels, predicted, 3);

  it('counts a confusion matrix with true classes as rows', () => {
    expect(confusion).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 0],
    ]);
    expect(accuracy(predicted, labels)).toBe(0.6);
  });

  it('scores each class, with 0 where a denominator is 0', () => {
    const [c0, c1, c2] = perClassScores(confusion);
    expect(c0).toEqual({ precision: 0.5, recall: 0.5, f1: 0.5, support: 2 });
    expect(c1.precision).toBeCloseTo(2 / 3, 15);
    expect(c1.recall).toBe(1);
    expect(c1.f1).toBeCloseTo(0.8, 15);
    expect(c2).toEqual({ precision: 0, recall: 0, f1: 0, support: 1 });
    expect(macroF1(confusion)).toBeCloseTo((0.5 + 0.8 + 0) / 3, 15);
  });

  it('leaves a class out of macro-F1 only when it is neither a label nor a prediction', () => {
    const withAbsentClass = confusionMatrix(labels, predicted, 4);
    expect(macroF1(withAbsentClass)).toBeCloseTo(macroF1(confusion), 15);
  });
});

describe('calibration', () => {
  it('computes ECE over 15 equal-width bins of top-label confidence', () => {
    // Rows 1 and 3 (confidence 0.9 and 0.92, both right) share bin (13/15, 14/15]; row 2 (0.7, wrong) is alone in
    // (10/15, 11/15]. ECE = (|2 − 1.82| + |0 − 0.7|) / 3.
    const probs = [0.1, 0.9, 0.7, 0.3, 0.08, 0.92];
    expect(expectedCalibrationError(probs, [1, 1, 1], 2)).toBeCloseTo((0.18 + 0.7) / 3, 12);
    // Pooling all three rows in one bin would give |2 − 2.52| / 3 instead.
    expect(expectedCalibrationError(probs, [1, 1, 1], 2, 1)).toBeCloseTo(0.52 / 3, 12);
  });

  it('gives ECE 0 for a model that is right exactly as often as it says', () => {
    // Four rows at confidence 0.75, three of them right.
    const probs = [0.75, 0.25, 0.75, 0.25, 0.75, 0.25, 0.75, 0.25];
    expect(expectedCalibrationError(probs, [0, 0, 0, 1], 2)).toBeCloseTo(0, 15);
  });

  it('computes the multiclass Brier score as a sum over classes', () => {
    // (0.25² + 0.25²) for the first row, (1² + 1²) for the confidently wrong second row.
    expect(brierScore([0.25, 0.75, 1, 0], [1, 1], 2)).toBeCloseTo((0.125 + 2) / 2, 15);
  });

  it('computes NLL from logits without clipping a confidently wrong row', () => {
    expect(negativeLogLikelihood([0, Math.log(3)], [1], 2)).toBeCloseTo(-Math.log(0.75), 15);
    expect(negativeLogLikelihood([0, 1000], [0], 2)).toBeCloseTo(1000, 9);
  });
});

describe('AUROC', () => {
  it('matches hand-computed values, with ties counting one half', () => {
    expect(auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    expect(auroc([0.5, 0.5], [true, false])).toBe(0.5);
    expect(auroc([1, 2, 3], [0, 1, 1])).toBe(1);
    expect(auroc([1, 2, 3], [1, 0, 0])).toBe(0);
  });

  it('equals the fraction of (positive, negative) pairs ranked right (property)', () => {
    const rows = fc.array(fc.record({ score: fc.integer({ min: 0, max: 5 }), positive: fc.boolean() }), {
      minLength: 2,
      maxLength: 40,
    });
    fc.assert(
      fc.property(
        rows.filter((r) => r.some((x) => x.positive) && r.some((x) => !x.positive)),
        (r) => {
          const pos = r.filter((x) => x.positive).map((x) => x.score);
          const neg = r.filter((x) => !x.positive).map((x) => x.score);
          let wins = 0;
          for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
          const expected = wins / (pos.length * neg.length);
          const got = auroc(
            r.map((x) => x.score),
            r.map((x) => x.positive),
          );
          expect(got).toBeCloseTo(expected, 12);
        },
      ),
    );
  });

  it('scores OOD detection by max softmax probability, in-distribution as positive', () => {
    const confident = [0.9, 0.1, 0.05, 0.95];
    const uncertain = [0.5, 0.5, 0.6, 0.4];
    expect(oodAuroc(confident, uncertain, 2)).toBe(1);
    expect(oodAuroc(uncertain, confident, 2)).toBe(0);
  });

  it('rejects a set without both classes', () => {
    expect(() => auroc([0.2, 0.3], [1, 1])).toThrow('AUROC needs positives and negatives, got 2 and 0');
  });
});

describe('evaluate', () => {
  const names = ['ham', 'spam'];
  const logits = [2, 0, 0, 1, 3, 0, 0, 3];
  const labels = Int32Array.from([0, 1, 1, 1]);

  it('reports every metric, per class keyed by label, and AUROC for a binary task', () => {
    const m = evaluate(logits, labels, names);
    expect(Object.keys(m).sort()).toEqual(
      ['accuracy', 'auroc', 'brier', 'confusion_matrix', 'ece', 'labels', 'macro_f1', 'nll', 'per_class'].sort(),
    );
    expect(m.accuracy).toBe(0.75);
    expect(m.labels).toEqual(names);
    expect(m.confusion_matrix).toEqual([
      [1, 0],
      [1, 2],
    ]);
    expect(m.per_class.spam).toEqual({ precision: 1, recall: 2 / 3, f1: 0.8, support: 3 });
    // The one ham row's p(spam) is below two of the three spam rows' (the third spam row, logits [3, 0], is lower).
    expect(m.auroc).toBeCloseTo(2 / 3, 15);
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });

  it('adds OOD AUROC when OOD logits are given and omits AUROC when one class is absent', () => {
    const m = evaluate(logits.slice(2), labels.slice(1), names, { oodLogits: [0, 0, 0.1, 0] });
    expect(m.auroc).toBeUndefined();
    expect(m.ood_auroc).toBe(1);
    expect(evaluate([1, 0, 0, 1, 0, 0], Int32Array.from([0, 1]), ['a', 'b', 'c']).auroc).toBeUndefined();
  });

  it.each<[string, () => unknown, string | RegExp]>([
    [
      'logits of the wrong size',
      () => evaluate([1, 2, 3], labels, names),
      'evaluate: 3 values are not 4 rows × 2 classes',
    ],
    [
      'NaN logits',
      () => evaluate([0, 1, NaN, 0, 0, 0, 0, 0], labels, names),
      'evaluate: row 1 holds NaN, not a finite number',
    ],
    [
      'a label outside the classes',
      () => evaluate(logits, Int32Array.from([0, 1, 2, 1]), names),
      'evaluate: label 2 at row 2 is not a class index in [0, 2)',
    ],
    ['no rows', () => evaluate([], new Int32Array(0), names), 'evaluate: no rows to score'],
    ['duplicate label names', () => evaluate(logits, labels, ['a', 'a']), /duplicate label names/],
    ['a ragged softmax', () => softmax([1, 2, 3], 2), 'softmax: 3 values are not whole rows of 2 classes'],
  ])('rejects %s with a clear error', (_, call, message) => {
    expect(call).toThrow(message);
  });
});
