import { describe, expect, it } from 'vitest';
import { confidentJoint, findLabelIssues, flagScores, perClassThresholds } from '../../engine/metrics/label-issues.ts';
import { stratifiedFolds } from '../../engine/train/out-of-fold.ts';

// Four rows of two classes, probabilities row-major [p(0), p(1)]; row 3 is labelled 0 but the model says 1.
const probs = [0.9, 0.1, 0.7, 0.3, 0.2, 0.8, 0.1, 0.9];
const labels = [0, 0, 1, 0];

describe('confident learning', () => {
  it('thresholds each class at the mean probability of the rows labelled with it', () => {
    const t = perClassThresholds({ probs, labels, classes: 2 });
    expect(t[0]).toBeCloseTo((0.9 + 0.7 + 0.1) / 3);
    expect(t[1]).toBeCloseTo(0.8);
  });

  it('counts confident rows in the joint, and the off-diagonal are the issues, least self-confident first', () => {
    // t = [0.567, 0.8]: row 0 → 0, row 1 → 0, row 2 → 1, row 3 → 1 (0.9 ≥ 0.8).
    expect([...confidentJoint({ probs, labels, classes: 2 })]).toEqual([2, 1, 0, 1]);
    expect(findLabelIssues({ probs, labels, classes: 2 })).toEqual([
      { row: 3, given: 0, suggested: 1, confidence: 0.9, selfConfidence: expect.closeTo(0.1) },
    ]);
  });

  it('puts a row above several thresholds in the class of the largest probability', () => {
    const p = [0.5, 0.3, 0.2, 0.1, 0.6, 0.3, 0.05, 0.45, 0.5];
    const issues = findLabelIssues({ probs: p, labels: [0, 1, 2], classes: 3 }, [0.4, 0.4, 0.4]);
    expect(issues).toEqual([]); // row 2 is above 0.4 in classes 1 and 2, and 2 (its label) has the larger
    const flipped = findLabelIssues({ probs: p, labels: [1, 1, 2], classes: 3 }, [0.4, 0.4, 0.4]);
    expect(flipped.map((i) => [i.row, i.suggested])).toEqual([[0, 0]]);
  });

  it('rejects probabilities of the wrong shape and labels out of range', () => {
    expect(() => perClassThresholds({ probs: [0.5, 0.5], labels: [0, 0], classes: 2 })).toThrow(/probabilities/);
    expect(() => perClassThresholds({ probs: [0.5, 0.5], labels: [2], classes: 2 })).toThrow(/outside/);
  });

  it('scores flagged rows against the known wrong ones', () => {
    expect(flagScores([1, 2, 3, 4], [2, 4, 6])).toEqual({ precision: 0.5, recall: 2 / 3, flagged: 4, wrong: 3 });
  });

  it('deals each class evenly over the folds, the same way for the same seed', () => {
    const y = Int32Array.from({ length: 100 }, (_, i) => (i < 30 ? 0 : 1));
    const folds = stratifiedFolds(y, 5, 3);
    for (let k = 0; k < 5; k++) {
      expect(y.filter((_, r) => folds[r] === k && y[r] === 0).length).toBe(6);
      expect(y.filter((_, r) => folds[r] === k && y[r] === 1).length).toBe(14);
    }
    expect(stratifiedFolds(y, 5, 3)).toEqual(folds);
  });
});
