// Bootstrap intervals and McNemar's test: against hand-computed values, and the intervals' coverage on simulated
// pairs of models whose true accuracies are known.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/data/rng.ts';
import { erfc, mcnemar, pairedBootstrap, quantile } from '../../engine/metrics/index.ts';

describe('mcnemar', () => {
  it('is exact for few discordant rows: 1 fixed, 9 broken gives 2 · (C(10,0) + C(10,1)) / 2^10', () => {
    expect(mcnemar(1, 9)).toEqual({
      fixed: 1,
      broken: 9,
      method: 'exact binomial',
      statistic: 1,
      p_value: 22 / 1024,
    });
    // 2 · (1 + 10 + 45) / 1024, symmetric in the two counts.
    expect(mcnemar(8, 2).p_value).toBeCloseTo(112 / 1024, 15);
    expect(mcnemar(5, 5).p_value).toBe(1);
    expect(mcnemar(0, 0).p_value).toBe(1);
  });

  it('uses the continuity-corrected chi-square from 25 discordant rows: 10 vs 30 gives 19² / 40', () => {
    const m = mcnemar(10, 30);
    expect(m.method).toBe('chi-square, continuity-corrected');
    expect(m.statistic).toBe(9.025);
    // scipy.stats.chi2.sf(9.025, 1) = 0.0026631192591385...
    expect(m.p_value).toBeCloseTo(0.0026631192591385, 6);
  });

  it('erfc matches known values', () => {
    expect(erfc(0)).toBeCloseTo(1, 7);
    expect(erfc(1)).toBeCloseTo(0.157299207050285, 7);
    expect(erfc(-1)).toBeCloseTo(1.842700792949715, 7);
  });

  it('refuses counts that are not whole numbers', () => {
    expect(() => mcnemar(-1, 2)).toThrow(/whole numbers/);
  });
});

describe('quantile', () => {
  it("interpolates like numpy's default", () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 12);
    expect(quantile([7], 0.9)).toBe(7);
  });
});

/**
 * `rows` rows of two classes from a population where the candidate and production are both right with probability
 * 0.70, only the candidate 0.12, only production 0.06, neither 0.12: true accuracies 0.82 and 0.76, difference 0.06.
 */
function simulatedPairs(rng: Rng, rows: number) {
  const labels = new Int32Array(rows);
  const candidate = new Int32Array(rows);
  const production = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const y = rng.nextInt(2);
    const u = rng.nextFloat();
    const [c, p] = u < 0.7 ? [true, true] : u < 0.82 ? [true, false] : u < 0.88 ? [false, true] : [false, false];
    labels[i] = y;
    candidate[i] = c ? y : 1 - y;
    production[i] = p ? y : 1 - y;
  }
  return { labels, candidate, production };
}

describe('pairedBootstrap', () => {
  it('covers the true difference and accuracies at close to the nominal 95 % over 200 simulated eval sets', () => {
    const simulations = 200;
    const rng = Rng.fromSeed(2024);
    let coveredDifference = 0;
    let coveredCandidate = 0;
    for (let s = 0; s < simulations; s++) {
      const { labels, candidate, production } = simulatedPairs(rng, 300);
      const report = pairedBootstrap(labels, candidate, production, 2, { resamples: 400, seed: s });
      const { difference, candidate: c } = report.accuracy;
      if (difference.low <= 0.06 && 0.06 <= difference.high) coveredDifference++;
      if (c.low <= 0.82 && 0.82 <= c.high) coveredCandidate++;
    }
    // Binomial standard error of a 0.95 rate over 200 trials is 0.015; allow about three of them either way.
    for (const covered of [coveredDifference, coveredCandidate]) {
      expect(covered / simulations).toBeGreaterThanOrEqual(0.9);
      expect(covered / simulations).toBeLessThanOrEqual(0.99);
    }
  });

  it('is deterministic for a seed, brackets the whole-set estimates, and pairs the rows', () => {
    const { labels, candidate, production } = simulatedPairs(Rng.fromSeed(7), 500);
    const a = pairedBootstrap(labels, candidate, production, 2, { seed: 3 });
    expect(pairedBootstrap(labels, candidate, production, 2, { seed: 3 })).toEqual(a);
    expect(pairedBootstrap(labels, candidate, production, 2, { seed: 4 })).not.toEqual(a);
    expect(a).toMatchObject({ method: 'paired percentile bootstrap', resamples: 1000, confidence: 0.95, seed: 3 });
    for (const metric of [a.accuracy, a.macro_f1]) {
      for (const i of [metric.candidate, metric.production, metric.difference]) {
        expect(i.low).toBeLessThanOrEqual(i.estimate);
        expect(i.estimate).toBeLessThanOrEqual(i.high);
      }
    }
    // Pairing: the models agree on 82 % of rows, so the difference varies less than either accuracy alone would
    // if they were independent (sqrt(2) times one model's width).
    const width = (i: { low: number; high: number }) => i.high - i.low;
    expect(width(a.accuracy.difference)).toBeLessThan(Math.SQRT2 * width(a.accuracy.candidate));
  });

  it('gives a zero-width difference for identical models, and counts a stray prediction as wrong', () => {
    const labels = [0, 1, 0, 1, 0, 1];
    const same = pairedBootstrap(labels, labels, labels, 2, { resamples: 50 });
    expect(same.accuracy.difference).toEqual({ estimate: 0, low: 0, high: 0 });
    const stray = pairedBootstrap(labels, labels, [-1, 1, 0, 1, 0, 1], 2, { resamples: 50 });
    expect(stray.accuracy.production.estimate).toBeCloseTo(5 / 6, 12);
  });

  it('refuses bad options', () => {
    expect(() => pairedBootstrap([0, 1], [0, 1], [0, 1], 2, { resamples: 0 })).toThrow(/resamples/);
    expect(() => pairedBootstrap([0, 1], [0, 1], [0, 1], 2, { confidence: 1 })).toThrow(/confidence/);
    expect(() => pairedBootstrap([0, 2], [0, 1], [0, 1], 2)).toThrow(/label 2/);
  });
});
