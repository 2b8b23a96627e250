import { Rng, type TabularDataset } from '../../engine/data/index.ts';

/** Two concentric rings, labelled inner/outer: no straight line separates them. */
export function circles(rows: number, seed: number): TabularDataset {
  const rng = Rng.fromSeed(seed);
  const features = new Float32Array(rows * 2);
  const labels = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const outer = i % 2;
    const radius = (outer ? 2 : 1) + (rng.nextFloat() - 0.5) * 0.4;
    const angle = rng.nextFloat() * 2 * Math.PI;
    features[2 * i] = radius * Math.cos(angle);
    features[2 * i + 1] = radius * Math.sin(angle);
    labels[i] = outer;
  }
  return { rows, width: 2, features, labels, labelNames: ['inner', 'outer'] };
}
