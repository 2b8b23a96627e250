// Paired comparisons of two models on the same rows, churn and slices, on predictions built so each figure is known.
import { describe, expect, it } from 'vitest';
import { parseSlicesJsonl, parseTabularJsonl } from '../../engine/data/index.ts';
import { accuracy, churn, compareModels, sliceScores } from '../../engine/metrics/index.ts';

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
    expect(compareModels({ labels, candidate, production, labelNames: ['no', 'yes'] })).toMatchObject({
      rows: 100,
      churn: { broken: 20 },
    });
  });

  it('refuses predictions of another length', () => {
    expect(() => churn([0, 1], [0], [0, 1])).toThrow(/1 and 2 predictions for 2 labels/);
    expect(() => churn([], [], [])).toThrow(/no rows/);
  });
});

describe('sliceScores', () => {
  // 200 rows: slice "eu" rows 0–39, "us" rows 40–199; classes alternate. Production is right everywhere but on rows
  // 100–159; the candidate is right everywhere but on rows 0–19: better overall (0.9 vs 0.7), worse on "eu".
  const rows = 200;
  const labels = Int32Array.from({ length: rows }, (_, i) => i % 2);
  const slices = Array.from({ length: rows }, (_, i) => (i < 40 ? 'eu' : 'us'));
  const production = labels.map((y, i) => (i >= 100 && i < 160 ? 1 - y : y));
  const candidate = labels.map((y, i) => (i < 20 ? 1 - y : y));

  it('ranks classes and declared slices by change, the worst first', () => {
    expect(accuracy(candidate, labels)).toBeGreaterThan(accuracy(production, labels));
    const scores = sliceScores(labels, candidate, production, ['no', 'yes'], slices);
    expect(scores).toEqual([
      { kind: 'slice', name: 'eu', rows: 40, candidate_accuracy: 0.5, production_accuracy: 1, change: -0.5 },
      { kind: 'class', name: 'no', rows: 100, candidate_accuracy: 0.9, production_accuracy: 0.7, change: 0.9 - 0.7 },
      { kind: 'class', name: 'yes', rows: 100, candidate_accuracy: 0.9, production_accuracy: 0.7, change: 0.9 - 0.7 },
      { kind: 'slice', name: 'us', rows: 160, candidate_accuracy: 1, production_accuracy: 0.625, change: 0.375 },
    ]);
  });

  it('without declared slices reports the classes only; a row with a null slice is in no slice', () => {
    const byClass = sliceScores(labels, candidate, production, ['no', 'yes']);
    expect(byClass.map((s) => s.name)).toEqual(['no', 'yes']);
    const partly = sliceScores([0, 1], [0, 1], [0, 1], ['no', 'yes'], ['eu', null]);
    expect(partly.filter((s) => s.kind === 'slice')).toMatchObject([{ name: 'eu', rows: 1 }]);
    expect(() => sliceScores([0, 1], [0, 1], [0, 1], ['no', 'yes'], ['eu'])).toThrow(/1 slices for 2 rows/);
  });

  it('compareModels carries them', () => {
    const compared = compareModels({ labels, candidate, production, labelNames: ['no', 'yes'], slices });
    expect(compared.slices[0]).toMatchObject({ kind: 'slice', name: 'eu', change: -0.5 });
  });
});

describe('parseSlicesJsonl', () => {
  it("reads each record's optional slice in record order, skipping blank lines as the row parsers do", () => {
    const text = [
      '{"features": [1], "label": 0, "slice": "eu"}',
      '',
      '{"features": [2], "label": 1}',
      '{"features": [3], "label": 1, "slice": 7, "extra": true}',
      '{"text": "hi", "label": 1, "slice": null}',
    ].join('\n');
    expect(parseSlicesJsonl(text)).toEqual(['eu', null, '7', null]);
    expect(parseTabularJsonl(text.split('\n').slice(0, 4).join('\n')).rows).toBe(3);
  });

  it('names the line of a slice that is not a name', () => {
    expect(() =>
      parseSlicesJsonl('{"text": "a", "label": 1}\n{"text": "b", "label": 1, "slice": {"x": 1}}', { source: 'eval' }),
    ).toThrow('eval:2: "slice" must be a non-empty string or a number, got {"x":1}');
  });
});
