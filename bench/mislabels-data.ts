// Data built to show label errors: a separable tabular task (Gaussian blobs), SpamAssassin emails, and a seeded
// flip of a share of the labels at known rows. The mislabel tests and bench/mislabels.ts share them.
import { Rng } from '../engine/data/index.ts';
import { spamAssassin, type TextRecord } from '../infra/demo/spam-assassin.ts';

export interface FeatureRecord {
  features: number[];
  label: string;
}

function gaussian(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
}

/**
 * `rows` rows of `classes` Gaussian blobs in `width` features: class centres `spread` apart on the axes, unit noise,
 * so the classes overlap little and no row is mislabelled (an MLP scores 97 % at spread 3: docs/RESULTS.md).
 */
export function blobs(rows: number, seed: number, { classes = 3, width = 8, spread = 4 } = {}): FeatureRecord[] {
  const rng = Rng.fromSeed(seed);
  return Array.from({ length: rows }, (_, i) => {
    const label = i % classes;
    const features = Array.from({ length: width }, (_, c) => Math.fround(gaussian(rng) + (c === label ? spread : 0)));
    return { features, label: `c${label}` };
  });
}

/** A seeded sample of `rows` emails of easy-ham-1 and spam-1 (emailText: subject and body start). */
export function spamSample(rows: number, seed: number): TextRecord[] {
  return Rng.fromSeed(seed)
    .shuffle(spamAssassin(['easy-ham-1', 'spam-1']))
    .slice(0, rows);
}

/**
 * The records with `rate` of their labels flipped to another class (seeded), and the 0-based rows flipped,
 * ascending. Each flipped row gets one of the other labels at random.
 */
export function flipLabels<R extends { label: string }>(
  records: readonly R[],
  rate: number,
  seed: number,
): { records: R[]; flipped: number[] } {
  const labels = [...new Set(records.map((r) => r.label))].sort();
  const rng = Rng.fromSeed(seed);
  const order = rng.shuffle(Array.from({ length: records.length }, (_, i) => i));
  const flipped = order.slice(0, Math.round(rate * records.length)).sort((a, b) => a - b);
  const out = records.slice();
  for (const row of flipped) {
    const others = labels.filter((l) => l !== records[row].label);
    out[row] = { ...records[row], label: others[rng.nextInt(others.length)] };
  }
  return { records: out, flipped };
}
