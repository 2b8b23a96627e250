// Perturbation suites: deterministic for a seed, each perturbation doing what it says, and the accuracy drop of a
// known model under tabular noise matching the drop computed by hand.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/data/rng.ts';
import { accuracy, perturbFeatures, perturbTexts, TEXT_RATES } from '../../engine/metrics/index.ts';

const sentences = Array.from(
  { length: 200 },
  (_, i) => `Message number ${i} asks whether the quarterly report is ready for review today`,
);

describe('perturbTexts', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = perturbTexts(sentences, 11);
    expect(perturbTexts(sentences, 11)).toEqual(a);
    const b = perturbTexts(sentences, 12);
    for (const name of Object.keys(TEXT_RATES) as (keyof typeof TEXT_RATES)[]) {
      expect(a[name]).toHaveLength(sentences.length);
      expect(b[name]).not.toEqual(a[name]);
      // Each perturbation changes some texts but not all of them beyond recognition.
      const changed = a[name].filter((t, i) => t !== sentences[i]).length;
      expect(changed).toBeGreaterThan(sentences.length / 2);
    }
  });

  it('case changes only casing; whitespace/punctuation only adds spaces and marks; word drop only removes words', () => {
    const { case: recased, whitespace_punctuation: noisy, word_drop: dropped } = perturbTexts(sentences);
    recased.forEach((t, i) => expect(t.toLowerCase()).toBe(sentences[i].toLowerCase()));
    noisy.forEach((t, i) => expect(t.replace(/[.,!?;:]/g, '').replace(/ +/g, ' ')).toBe(sentences[i]));
    const words = (t: string) => t.split(' ');
    let kept = 0;
    let total = 0;
    dropped.forEach((t, i) => {
      const original = words(sentences[i]);
      // The words left are the original's, in order.
      const left = words(t);
      let at = 0;
      for (const w of left) at = original.indexOf(w, at) + 1;
      expect(at).toBeGreaterThan(0);
      kept += left.length;
      total += original.length;
    });
    // About 10 % of words dropped: 2800 words, standard error of the share under 0.6 %.
    expect(1 - kept / total).toBeGreaterThan(0.07);
    expect(1 - kept / total).toBeLessThan(0.13);
  });

  it('typos hit about 5 % of letters and leave other characters alone', () => {
    const { typos } = perturbTexts(sentences, 3);
    const digits = (t: string) => t.replace(/\D/g, '');
    typos.forEach((t, i) => expect(digits(t)).toBe(digits(sentences[i])));
    // One-letter texts: a typo deletes it, doubles it, replaces it (by another letter 25 times in 26), or would swap
    // it with a next letter there is none of. Changed share: 0.05 · (1/4 + 1/4 + 1/4 · 25/26) = 0.0370.
    const ones = perturbTexts(Array.from({ length: 10_000 }, () => 'a')).typos;
    const changed = ones.filter((t) => t !== 'a').length / ones.length;
    // Binomial standard error 0.0019; allow four.
    expect(Math.abs(changed - 0.05 * (0.5 + 25 / 104))).toBeLessThan(0.008);
    expect(perturbTexts(['', '123 456']).typos).toEqual(['', '123 456']);
    // A text keeps at least one word.
    expect(new Set(perturbTexts(Array.from({ length: 100 }, () => 'word')).word_drop)).toEqual(new Set(['word']));
  });
});

describe('perturbFeatures on a model that reads one feature', () => {
  // 20 000 rows of 4 features: feature 0 is +1 for class 1 and -1 for class 0 (mean 0, sd 1); the others are noise.
  // The model predicts class 1 when feature 0 > 0: right on every clean row.
  const rows = 20_000;
  const width = 4;
  const rng = Rng.fromSeed(5);
  const labels = Int32Array.from({ length: rows }, (_, r) => r % 2);
  const features = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    features[r * width] = labels[r] === 1 ? 1 : -1;
    for (let j = 1; j < width; j++) features[r * width + j] = rng.nextFloat() * 10 - 5;
  }
  const predict = (x: Float32Array) => Int32Array.from({ length: rows }, (_, r) => (x[r * width] > 0 ? 1 : 0));
  const suite = perturbFeatures({ rows, width, features });
  const drop = (name: string) => 1 - accuracy(predict(suite[name]), labels);

  it('is deterministic for a seed and names its scales', () => {
    expect(accuracy(predict(features), labels)).toBe(1);
    expect(Object.keys(suite)).toEqual(['gaussian_noise_0.1sd', 'gaussian_noise_0.5sd', 'feature_at_mean']);
    expect(perturbFeatures({ rows, width, features })).toEqual(suite);
    expect(perturbFeatures({ rows, width, features }, 1)).not.toEqual(suite);
  });

  it('Gaussian noise at 0.5 sd flips a row when the noise passes 1 = 2 sd of the noise: drop Φ(-2) = 0.0228', () => {
    // Binomial standard error at 20 000 rows is 0.001; allow four.
    expect(drop('gaussian_noise_0.5sd')).toBeCloseTo(0.02275, 2);
    expect(Math.abs(drop('gaussian_noise_0.5sd') - 0.02275)).toBeLessThan(0.004);
    // At 0.1 sd, 1 is 10 sd of the noise: Φ(-10) ≈ 8e-24, no row flips.
    expect(drop('gaussian_noise_0.1sd')).toBe(0);
  });

  it('one feature per row at its mean: feature 0 is picked for 1 row in 4, and then class 1 rows (half) fail', () => {
    // Expected drop 1/4 · 1/2 = 0.125; standard error 0.0023.
    expect(Math.abs(drop('feature_at_mean') - 0.125)).toBeLessThan(0.01);
  });
});
