// Drift on data built to show it: PSI against hand-computed values, ~0 between two samples of one distribution and
// large for a feature moved by a known amount (named first); the word-frequency divergence likewise, naming the
// words added; and the classifier two-sample test at chance and not significant for samples of one distribution,
// high and significant for shifted ones, on real ORT training.
import { describe, expect, it } from 'vitest';
import { blobs, spamSample, type FeatureRecord } from '../../bench/mislabels-data.ts';
import { Rng } from '../../engine/data/rng.ts';
import { featureDrift, psi, quantileEdges, tokenDrift } from '../../engine/metrics/drift.ts';
import { measureDataDrift } from '../../engine/train/data-drift.ts';
import { aucPValue, classifierTwoSampleTest } from '../../engine/train/two-sample.ts';

const matrix = (records: FeatureRecord[]) => ({
  rows: records.length,
  width: records[0].features.length,
  features: Float32Array.from(records.flatMap((r) => r.features)),
});

/** The records with `delta` added to feature `feature`. */
const shifted = (records: FeatureRecord[], feature: number, delta: number) =>
  records.map((r) => ({ ...r, features: r.features.map((v, c) => (c === feature ? v + delta : v)) }));

const jsonl = (records: object[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe('population stability index', () => {
  it('matches hand-computed values', () => {
    const reference = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    // Two bins cut at the median, 5.5: shares 0.5 / 0.5 against 0.75 / 0.25.
    expect(quantileEdges(reference, 2)).toEqual([5.5]);
    const expected = 0.25 * Math.log(1.5) + -0.25 * Math.log(0.5);
    expect(expected).toBeCloseTo(0.274653, 6);
    expect(psi(reference, [1, 2, 3, 9], { bins: 2 })).toBeCloseTo(expected, 12);
    // An empty bin's share is floored at epsilon: (1e-4 − 0.5)·ln(1e-4 / 0.5) + 0.5·ln 2.
    const floored = (1e-4 - 0.5) * Math.log(1e-4 / 0.5) + 0.5 * Math.log(2);
    expect(psi(reference, [7, 8, 9], { bins: 2, epsilon: 1e-4 })).toBeCloseTo(floored, 12);
    expect(psi(reference, reference)).toBe(0);
  });

  it('merges tied quantiles instead of leaving empty bins', () => {
    // Deciles of eight 0s and two 1s: 0 seven times, then 0.2 (at 7.2 of 9) and 1 (at 8.1).
    const edges = quantileEdges([0, 0, 0, 0, 0, 0, 0, 0, 1, 1], 10);
    expect(edges).toHaveLength(3);
    [0, 0.2, 1].forEach((edge, i) => expect(edges[i]).toBeCloseTo(edge, 12));
  });

  it('is near 0 between two samples of one distribution, large for a shifted feature, which it names first', () => {
    const reference = matrix(blobs(1000, 1));
    const same = featureDrift(reference, matrix(blobs(1000, 2)));
    expect(same.max_psi).toBeLessThan(0.05);
    expect(same.major).toBe(0);

    const moved = featureDrift(reference, matrix(shifted(blobs(1000, 2), 5, 1.5)));
    expect(moved.features[0]).toMatchObject({ feature: 5, level: 'major' });
    expect(moved.features[0].psi).toBeGreaterThan(0.5);
    expect(moved.features[0].current_mean - moved.features[0].reference_mean).toBeCloseTo(1.5, 0);
    expect(moved.features[1].psi).toBeLessThan(0.05);
    expect(moved.major).toBe(1);
  });
});

describe('word-frequency divergence', () => {
  it('matches hand-computed Jensen–Shannon divergences', () => {
    expect(tokenDrift(['a a'], ['b b']).js_divergence).toBeCloseTo(1, 12);
    // P = {a: ½, b: ½}, Q = {a: 1}, M = {a: ¾, b: ¼}.
    const kl = (p: number[], m: number[]) => p.reduce((s, x, i) => s + (x > 0 ? x * Math.log2(x / m[i]) : 0), 0);
    const expected = 0.5 * kl([0.5, 0.5], [0.75, 0.25]) + 0.5 * kl([1, 0], [0.75, 0.25]);
    expect(tokenDrift(['a, b!'], ['A a']).js_divergence).toBeCloseTo(expected, 12);
    expect(tokenDrift(['a b c'], ['c b a']).js_divergence).toBe(0);
  });

  it('is small between two samples of one corpus and names the words a shifted corpus gained', () => {
    const emails = spamSample(900, 5).map((r) => r.text);
    const [reference, current] = [emails.slice(0, 450), emails.slice(450)];
    const same = tokenDrift(reference, current);
    const rng = Rng.fromSeed(9);
    const gained = current.map((text) => (rng.nextFloat() < 0.5 ? `${text} urgent wiretransfer` : text));
    const moved = tokenDrift(reference, gained);
    expect(moved.js_divergence).toBeGreaterThan(same.js_divergence);
    expect(
      moved.moved
        .slice(0, 2)
        .map((t) => t.token)
        .sort(),
    ).toEqual(['urgent', 'wiretransfer']);
    expect(moved.moved[0].change).toBeGreaterThan(0);
  });
});

describe('classifier two-sample test', () => {
  it('gives the one-sided Mann–Whitney p-value', () => {
    expect(aucPValue(0.5, 100, 100)).toBeCloseTo(0.5, 6);
    // z = 0.1 / sqrt(201 / 120000) = 2.4434: one-sided p = 0.00727.
    expect(aucPValue(0.6, 100, 100)).toBeCloseTo(0.00727, 4);
  });

  it('is near chance and not significant on two samples of one distribution', async () => {
    const test = await classifierTwoSampleTest({
      kind: 'features',
      reference: matrix(blobs(400, 3)),
      current: matrix(blobs(400, 4)),
    });
    expect(test.auc).toBeGreaterThan(0.4);
    expect(test.auc).toBeLessThan(0.6);
    expect(test.p_value).toBeGreaterThan(0.05);
    expect(test.rows).toEqual({ reference: 400, current: 400 });
  });

  it('is high and significant when one feature moved, and the same for the same seed', async () => {
    const data = {
      kind: 'features' as const,
      reference: matrix(blobs(400, 3)),
      current: matrix(shifted(blobs(400, 4), 2, 1.5)),
    };
    const test = await classifierTwoSampleTest(data, { seed: 4 });
    expect(test.auc).toBeGreaterThan(0.75);
    expect(test.accuracy).toBeGreaterThan(test.chance_accuracy + 0.15);
    expect(test.p_value).toBeLessThan(1e-6);
    expect(await classifierTwoSampleTest(data, { seed: 4 })).toEqual(test);
  });

  it('separates a corpus that gained spam, and not two samples of one corpus (fastText)', async () => {
    const emails = spamSample(1200, 6);
    const ham = emails.filter((r) => r.label === 'ham').map((r) => r.text);
    const spam = emails.filter((r) => r.label === 'spam').map((r) => r.text);
    const [reference, current] = [ham.slice(0, 300), ham.slice(300, 600)];
    const same = await classifierTwoSampleTest({ kind: 'text', reference, current });
    expect(same.model).toBe('fasttext');
    expect(same.auc).toBeLessThan(0.6);
    expect(same.p_value).toBeGreaterThan(0.05);
    // Half the new rows are spam: a shift in what the inputs are about, as when a source changes.
    const moved = [...ham.slice(300, 450), ...spam.slice(0, 150)];
    const shiftedTest = await classifierTwoSampleTest({ kind: 'text', reference, current: moved });
    expect(shiftedTest.auc).toBeGreaterThan(0.7);
    expect(shiftedTest.p_value).toBeLessThan(1e-6);
  });
});

describe('measureDataDrift', () => {
  it("tests only the rows the new file adds to the reference's, so shared rows do not push the AUC below chance", async () => {
    const reference = blobs(300, 9);
    const added = shifted(blobs(150, 10), 4, 1.5);
    const drift = await measureDataDrift(jsonl(reference), jsonl([...reference, ...added]));
    expect(drift.rows).toEqual({ reference: 300, current: 450, shared: 300 });
    if ('skipped' in drift.two_sample) throw new Error(drift.two_sample.skipped);
    expect(drift.two_sample.rows).toEqual({ reference: 300, current: 150 });
    expect(drift.two_sample.auc).toBeGreaterThan(0.7);
    expect(drift.two_sample.p_value).toBeLessThan(1e-6);
    // Retraining on production's own file: nothing new to test.
    const same = await measureDataDrift(jsonl(reference), jsonl(reference));
    expect(same.two_sample).toEqual({ skipped: "0 of the new rows are not in production's training data" });
    if (same.kind === 'features') expect(same.features.max_psi).toBe(0);
  });

  it('reads JSONL files of either kind, and refuses kinds or widths that differ', async () => {
    const reference = blobs(200, 7);
    const drift = await measureDataDrift(jsonl(reference), jsonl(shifted(blobs(200, 8), 3, 2)));
    expect(drift.kind).toBe('features');
    if (drift.kind !== 'features') return;
    expect(drift.features.features[0].feature).toBe(3);
    expect(drift.rows).toEqual({ reference: 200, current: 200, shared: 0 });
    await expect(measureDataDrift(jsonl(reference), jsonl([{ text: 'hello', label: 'a' }]))).rejects.toThrow(
      /not feature rows/,
    );
    await expect(measureDataDrift(jsonl(reference), jsonl(blobs(20, 1, { width: 3 })))).rejects.toThrow(
      /3 features, the reference 8/,
    );
  });
});
