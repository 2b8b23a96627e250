// Initial weights as PyTorch's: a model Ratchet builds starts where the same layers start in torch.nn, so a recipe
// ported from PyTorch trains alike (test/oracle/trajectory.test.ts proves the steps alike from identical weights).
// He-uniform weights (sqrt(6) times torch's bound) cost an MLP 3–19 points of held-out accuracy against PyTorch.
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { buildMlp } from '../../engine/models/mlp.ts';
import { withFreshHead } from '../../engine/models/base.ts';
import { runOracle } from './python.ts';

const DRAWS = 200;

function stats(values: Float32Array[]) {
  const n = values.reduce((s, v) => s + v.length, 0);
  let sum = 0;
  let max = 0;
  for (const v of values) {
    for (const x of v) {
      sum += x;
      max = Math.max(max, Math.abs(x));
    }
  }
  const mean = sum / n;
  let squares = 0;
  for (const v of values) for (const x of v) squares += (x - mean) ** 2;
  return { max, std: Math.sqrt(squares / (n - 1)) };
}

async function torchStats(shapes: [number, number][]) {
  const out = await runOracle(inject('oraclePython'), join(import.meta.dirname, 'torch_init.py'), [
    JSON.stringify(shapes),
    String(DRAWS),
  ]);
  return JSON.parse(out) as { weight: { max: number; std: number }; bias: { max: number; std: number } }[];
}

// Pooled over 200 draws, the smallest sample (a 3-wide bias: 600 values) estimates a std within about 3 %.
const expectLike = (ours: { max: number; std: number }, theirs: { max: number; std: number }, what: string) => {
  expect(ours.std / theirs.std, `${what}: std ${ours.std} vs torch ${theirs.std}`).toBeCloseTo(1, 1);
  expect(ours.max / theirs.max, `${what}: largest |value| ${ours.max} vs torch ${theirs.max}`).toBeCloseTo(1, 1);
};

describe('initial weights match torch.nn.Linear defaults', () => {
  it('an MLP 8-64-64-3, every layer', async () => {
    const widths = [8, 64, 64, 3];
    const shapes = widths.slice(1).map((out, k) => [widths[k], out] as [number, number]);
    const theirs = await torchStats(shapes);
    const models = Array.from({ length: DRAWS }, (_, seed) =>
      buildMlp({ inputs: 8, hidden: [64, 64], classes: 3, seed }),
    );
    shapes.forEach((_, k) => {
      for (const part of ['weight', 'bias'] as const) {
        const values = models.map((m) => m.graph.initializers.get(`${2 * k}.${part}`)!.data as Float32Array);
        expectLike(stats(values), theirs[k][part], `layer ${k} ${part}`);
      }
    });
  });

  it('a fresh head on a base model', async () => {
    const [theirs] = await torchStats([[64, 5]]);
    const base = buildMlp({ inputs: 8, hidden: [64], classes: 3, seed: 1 });
    const heads = Array.from({ length: DRAWS }, (_, seed) => withFreshHead(base, 5, seed).graph.initializers);
    for (const part of ['weight', 'bias'] as const) {
      expectLike(stats(heads.map((h) => h.get(`2.${part}`)!.data as Float32Array)), theirs[part], `head ${part}`);
    }
  });
});
