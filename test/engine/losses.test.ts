import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, createModel, emptyGraph, type DType } from '../../engine/ir/index.ts';
import { bceWithLogits, meanSquaredError, softmaxCrossEntropy } from '../../engine/losses/index.ts';
import { createSession } from '../../engine/runtime/index.ts';

/** Builds `loss(logits, targets)` as a graph and evaluates it once. */
async function evalLoss(
  build: (b: GraphBuilder, logits: string, targets: string) => string,
  logits: number[][],
  targets: { dtype: DType; dims: number[]; data: Float32Array | BigInt64Array },
): Promise<number> {
  const b = new GraphBuilder(emptyGraph('loss'));
  const x = b.input('logits', 'float32', ['batch', logits[0].length]);
  const t = b.input(
    'targets',
    targets.dtype,
    targets.dims.map((d, i) => (i === 0 ? 'batch' : d)),
  );
  const loss = build(b, x, t);
  b.output(loss, 'float32', []);
  const { session } = await createSession(createModel(b.graph));
  const out = await session.run({
    logits: new ort.Tensor('float32', Float32Array.from(logits.flat()), [logits.length, logits[0].length]),
    targets: new ort.Tensor(targets.dtype as 'float32', targets.data, targets.dims),
  });
  return (out[loss].data as Float32Array)[0];
}

function logSoftmax(row: number[]): number[] {
  const max = Math.max(...row);
  const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
  return row.map((v) => v - lse);
}

describe('softmax cross-entropy', () => {
  const logits = [
    [2, -1, 0.5],
    [0.1, 0.2, 3],
  ];
  const labels = { dtype: 'int64' as const, dims: [2], data: BigInt64Array.from([0n, 1n]) };

  it('is the batch mean of -log p(label)', async () => {
    const expected = -(logSoftmax(logits[0])[0] + logSoftmax(logits[1])[1]) / 2;
    const loss = await evalLoss((b, x, t) => softmaxCrossEntropy(b, x, t, { classes: 3 }), logits, labels);
    expect(loss).toBeCloseTo(expected, 5);
  });

  it('with label smoothing targets 1 - ε + ε/C on the label and ε/C elsewhere', async () => {
    const eps = 0.1;
    const rowLoss = (row: number[], label: number) =>
      -logSoftmax(row).reduce((s, lp, c) => s + (c === label ? 1 - eps + eps / 3 : eps / 3) * lp, 0);
    const expected = (rowLoss(logits[0], 0) + rowLoss(logits[1], 1)) / 2;
    const loss = await evalLoss(
      (b, x, t) => softmaxCrossEntropy(b, x, t, { classes: 3, smoothing: eps }),
      logits,
      labels,
    );
    expect(loss).toBeCloseTo(expected, 5);
  });

  it('stays finite for logits that would overflow exp()', async () => {
    const loss = await evalLoss((b, x, t) => softmaxCrossEntropy(b, x, t, { classes: 3 }), [[1000, 0, -1000]], {
      ...labels,
      dims: [1],
      data: BigInt64Array.from([1n]),
    });
    expect(loss).toBeCloseTo(1000, 2);
  });

  it('refuses a smoothing outside [0, 1)', () => {
    const b = new GraphBuilder();
    expect(() => softmaxCrossEntropy(b, 'x', 'y', { classes: 3, smoothing: 1 })).toThrow(/smoothing/);
  });
});

describe('BCE with logits', () => {
  it('matches -[y log σ(x) + (1-y) log(1-σ(x))] and stays finite at large |x|', async () => {
    const x = [
      [0.5, -2],
      [30, -30],
    ];
    const y = [1, 0, 0, 1];
    // Stable reference for log σ(v); the naive log(1 - σ(30)) would be log(0) in float32.
    const logSig = (v: number) => (v > 0 ? -Math.log1p(Math.exp(-v)) : v - Math.log1p(Math.exp(v)));
    const terms = x.flat().map((v, i) => -(y[i] * logSig(v) + (1 - y[i]) * logSig(-v)));
    const expected = terms.reduce((s, t) => s + t, 0) / 4;
    const loss = await evalLoss(bceWithLogits, x, { dtype: 'float32', dims: [2, 2], data: Float32Array.from(y) });
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeCloseTo(expected, 4);
  });
});

describe('mean squared error', () => {
  it('averages squared differences over every element', async () => {
    const loss = await evalLoss(
      meanSquaredError,
      [
        [1, 2],
        [3, 4],
      ],
      {
        dtype: 'float32',
        dims: [2, 2],
        data: Float32Array.from([1, 0, 0, 4]),
      },
    );
    expect(loss).toBeCloseTo((0 + 4 + 9 + 0) / 4, 6);
  });
});
