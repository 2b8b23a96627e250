// Non-linear 3-class tabular tasks for the learning-quality benchmark: 8 features, each a seeded draw, with a rule
// a linear model cannot learn and a little label noise so no model reaches 100 %. Generated here, so anyone can
// rebuild them; they are not the tasks of the issue that motivated the benchmark (those are kept for checking).
import { Rng } from '../../engine/data/index.ts';

export interface TabularRow {
  features: number[];
  label: string;
}

const WIDTH = 8;
const NOISE = 0.05;

function gaussian(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
}

/** Each task maps a standard-normal feature vector to a class in 0..2. */
export const TASKS: Record<string, (x: number[]) => number> = {
  // Three interleaved arms of a spiral in the first two features; the other six are noise.
  spiral: ([a, b]) => {
    const turn = Math.log1p(Math.hypot(a, b)) * 2.5 + Math.atan2(b, a);
    return ((Math.floor((3 * turn) / (2 * Math.PI)) % 3) + 3) % 3;
  },
  // A 3-colour checkerboard over two features at unit spacing.
  checkerboard: ([a, , c]) => (((Math.floor(a * 1.2) + Math.floor(c * 1.2)) % 3) + 3) % 3,
  // Which of three interacting scores is largest.
  'argmax-of-interactions': ([a, b, c, d, e, f]) => {
    const scores = [a * b + 0.5 * c, Math.sin(2 * d) + e * e - 1, Math.abs(f) - 0.8 + 0.3 * a];
    return scores.indexOf(Math.max(...scores));
  },
  // Bands of an anisotropic quadratic form over all eight features.
  'quadratic-bands': (x) => {
    const q = x.reduce((s, v, i) => s + (i + 1) * v * v * (i % 2 === 0 ? 1 : -0.5), 0);
    return q < -2 ? 0 : q < 6 ? 1 : 2;
  },
};

/** `rows` rows of a task, a pure function of (task, rows, seed). */
export function tabularTask(task: string, rows: number, seed: number): TabularRow[] {
  const rule = TASKS[task];
  if (!rule) throw new Error(`unknown task '${task}'; one of ${Object.keys(TASKS).join(', ')}`);
  const rng = Rng.fromSeed(seed);
  return Array.from({ length: rows }, () => {
    const features = Array.from({ length: WIDTH }, () => gaussian(rng));
    const label = rng.nextFloat() < NOISE ? rng.nextInt(3) : rule(features);
    return { features: features.map((v) => Math.fround(v)), label: `c${label}` };
  });
}
