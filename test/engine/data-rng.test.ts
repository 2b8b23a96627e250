import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/data/rng.ts';

function draws(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.nextUint32());
}

describe('Rng (xoshiro128**)', () => {
  it('matches the reference C implementation from state {1, 2, 3, 4}', () => {
    // Printed by the authors' xoshiro128starstar.c `next()` compiled with gcc, state seeded to {1, 2, 3, 4}.
    const rng = Rng.fromState({ algorithm: 'xoshiro128**', s: [1, 2, 3, 4] });
    expect(draws(rng, 8)).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849]);
  });

  it('gives the same stream for the same seed and different streams for nearby seeds', () => {
    expect(draws(Rng.fromSeed(42), 16)).toEqual(draws(Rng.fromSeed(42), 16));
    expect(draws(Rng.fromSeed(42), 16)).not.toEqual(draws(Rng.fromSeed(43), 16));
  });

  it('resumes exactly from a JSON round trip of its state', () => {
    const uninterrupted = Rng.fromSeed(7);
    const interrupted = Rng.fromSeed(7);
    draws(uninterrupted, 100);
    draws(interrupted, 100);
    const saved = JSON.parse(JSON.stringify(interrupted.state()));
    const resumed = Rng.fromState(saved);
    expect(draws(resumed, 50)).toEqual(draws(uninterrupted, 50));
  });

  it('keeps nextFloat in [0, 1) and nextInt in [0, n) with every value reachable', () => {
    const rng = Rng.fromSeed(1);
    const counts = new Array(7).fill(0);
    let [lowest, highest] = [Infinity, -Infinity];
    for (let i = 0; i < 7000; i++) {
      const f = rng.nextFloat();
      [lowest, highest] = [Math.min(lowest, f), Math.max(highest, f)];
      counts[rng.nextInt(7)]++;
    }
    expect(lowest).toBeGreaterThanOrEqual(0);
    expect(highest).toBeLessThan(1);
    // Each bucket expects 1000; a chi-square statistic above 22.5 (df 6) happens by chance 0.1% of the time.
    const chi2 = counts.reduce((sum, c) => sum + (c - 1000) ** 2 / 1000, 0);
    expect(chi2).toBeLessThan(22.5);
  });

  it('nextInt is unbiased for a bound that does not divide 2^32', () => {
    // n = 3 * 2^30: a plain `x % n` would make 0..2^30-1 twice as likely as the rest, so the lower third
    // would draw half the samples instead of a third.
    const rng = Rng.fromSeed(3);
    const n = 3 * 2 ** 30;
    let lowerThird = 0;
    const samples = 30_000;
    for (let i = 0; i < samples; i++) if (rng.nextInt(n) < 2 ** 30) lowerThird++;
    expect(lowerThird / samples).toBeCloseTo(1 / 3, 1);
  });

  it('shuffles into a permutation, deterministically per seed, and every order is reachable', () => {
    const perm = Rng.fromSeed(5).permutation(100);
    expect([...perm].sort((a, b) => a - b)).toEqual([...Array(100).keys()]);
    expect(perm).toEqual(Rng.fromSeed(5).permutation(100));
    expect(perm).not.toEqual(Int32Array.from(Array(100).keys()));

    const rng = Rng.fromSeed(9);
    const seen = new Set<string>();
    for (let i = 0; i < 600; i++) seen.add(rng.shuffle(['a', 'b', 'c']).join(''));
    expect(seen.size).toBe(6);
  });

  it('rejects bad seeds, bounds and states with errors naming the problem', () => {
    expect(() => Rng.fromSeed(-1)).toThrow(/seed must be an integer in \[0, 2\^32\), got -1/);
    expect(() => Rng.fromSeed(1.5)).toThrow(/seed/);
    expect(() => Rng.fromSeed(1).nextInt(0)).toThrow(/bound must be an integer/);
    expect(() => Rng.fromState({ algorithm: 'pcg32', s: [1, 2, 3, 4] })).toThrow(/xoshiro128\*\*/);
    expect(() => Rng.fromState({ algorithm: 'xoshiro128**', s: [1, 2, 3] })).toThrow(/"s" must be 4 integers/);
    expect(() => Rng.fromState({ algorithm: 'xoshiro128**', s: [1, 2, 3, 2 ** 32] })).toThrow(/"s"/);
    expect(() => Rng.fromState({ algorithm: 'xoshiro128**', s: [0, 0, 0, 0] })).toThrow(/all zeros/);
    expect(() => Rng.fromState(null)).toThrow(/Rng state must be/);
  });
});
