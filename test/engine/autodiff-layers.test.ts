import { describe, expect, it } from 'vitest';
import { addGradients } from '../../engine/autodiff/index.ts';
import { GraphBuilder, createModel, float, int64s, scalar, tensor } from '../../engine/ir/index.ts';
import { createSession, toOrt } from '../../engine/runtime/session.ts';
import { expectGradientsMatch, single, randomShape, randomTensor, rng, type GradcheckOptions } from './gradcheck.ts';

const f64 = (seed: number): GradcheckOptions => ({ dtype: 'float64', seed });
// Gelu, Erf and LeakyRelu have no float64 kernel in ORT's CPU provider: checked in float32 at gradcheck's float32
// tolerance (|analytic - numeric| <= 2e-3 + 1e-2 |numeric|, ε = 1e-2).
const f32 = (seed: number): GradcheckOptions => ({ dtype: 'float32', seed });

const int64Values = (dims: number[], values: number[]) => tensor('int64', dims, values);

describe('activation rules', () => {
  it('LeakyRelu (float32)', async () => {
    // ORT 1.30's CPU provider has no float64 LeakyRelu kernel at any opset (session creation fails), so float32.
    await expectGradientsMatch(
      [{ name: 'x', shape: [3, 4], awayFromZero: true }],
      single('LeakyRelu', { alpha: float(0.2) }),
      f32(1),
    );
  });
  it('Abs, Reciprocal, Sqrt', async () => {
    await expectGradientsMatch([{ name: 'x', shape: [5], awayFromZero: true }], single('Abs'), f64(2));
    await expectGradientsMatch([{ name: 'x', shape: [5], range: [0.5, 2] }], single('Reciprocal'), f64(3));
    await expectGradientsMatch([{ name: 'x', shape: [2, 3], range: [0.3, 2] }], single('Sqrt'), f64(4));
  });
  it('Erf (float32)', async () => {
    await expectGradientsMatch([{ name: 'x', shape: [2, 5], range: [-2, 2] }], single('Erf'), f32(5));
  });
  it('Gelu, exact and tanh-approximated (opset 20 op, float32)', async () => {
    await expectGradientsMatch([{ name: 'x', shape: [3, 4], range: [-3, 3] }], single('Gelu'), f32(6));
    await expectGradientsMatch(
      [{ name: 'x', shape: [3, 4], range: [-3, 3] }],
      single('Gelu', { approximate: 'tanh' }),
      f32(7),
    );
  });
  it('Gelu in the Div/Erf/Add/Mul form torch.onnx.export writes (float32)', async () => {
    await expectGradientsMatch(
      [{ name: 'x', shape: [2, 6], range: [-3, 3] }],
      (b, x) => {
        const erf = b.op('Erf', [b.op('Div', [x.x, b.constant(scalar('float32', Math.SQRT2))])]);
        const half = b.op('Mul', [
          b.op('Add', [erf, b.constant(scalar('float32', 1))]),
          b.constant(scalar('float32', 0.5)),
        ]);
        return b.op('Mul', [x.x, half]);
      },
      f32(8),
    );
  });
  // The float32 gradcheck above cannot see a constant off by 1e-3; this compares with float64 closed forms, tails
  // included (e^(x²/2) overflows float32 beyond |x| = 13.3). Errors measured: 1.2e-7 (erf forms), 3.6e-6 (tanh, from
  // 1 - t² as t nears ±1).
  it('Gelu and Erf gradients match their closed forms over [-15, 15] at float32 rounding', async () => {
    const k = Math.sqrt(2 / Math.PI);
    const cases: [string, Record<string, string>, (x: number) => number, number][] = [
      ['Erf', {}, (x) => (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x), 5e-7],
      ['Gelu', {}, (x) => (1 + erf(x / Math.SQRT2)) / 2 + (x * Math.exp((-x * x) / 2)) / Math.sqrt(2 * Math.PI), 5e-7],
      [
        'Gelu',
        { approximate: 'tanh' },
        (x) => {
          const t = Math.tanh(k * (x + 0.044715 * x ** 3));
          return (1 + t) / 2 + (x / 2) * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
        },
        1e-5,
      ],
    ];
    const n = 1201;
    const xs = Float32Array.from({ length: n }, (_, i) => -15 + (30 * i) / (n - 1));
    for (const [op, attrs, derivative, tolerance] of cases) {
      const b = new GraphBuilder();
      const x = b.input('x', 'float32', [n]);
      const loss = b.op('ReduceSum', [b.op(op, [x], attrs)], { keepdims: 0 });
      const dx = addGradients(b.graph, { loss, wrt: [x] }).get(x)!;
      b.output(dx, 'float32', [n]);
      const { session } = await createSession(createModel(b.graph));
      const got = (await session.run({ x: toOrt(tensor('float32', [n], xs)) }))[dx].data as Float32Array;
      await session.release();
      const worst = Math.max(...Array.from(xs, (v, i) => Math.abs(got[i] - derivative(v))));
      expect(worst, `${op} ${JSON.stringify(attrs)}`).toBeLessThan(tolerance);
    }
  });
  it('Pow with a constant exponent, and w.r.t. the exponent', async () => {
    for (const p of [2, 3, 2.5, -1.5]) {
      await expectGradientsMatch(
        [{ name: 'x', shape: [2, 3], range: [0.3, 2] }],
        (b, x) => b.op('Pow', [x.x, b.constant(scalar('float64', p))]),
        f64(9),
      );
    }
    await expectGradientsMatch(
      [
        { name: 'a', shape: [2, 3], range: [0.3, 2] },
        { name: 'p', shape: [3] },
      ],
      single('Pow'),
      f64(10),
    );
  });
});

describe('elementwise selection rules', () => {
  it('Where with a fixed condition and broadcasting', async () => {
    const random = rng(11);
    const cond = tensor(
      'bool',
      [2, 3],
      Array.from({ length: 6 }, () => random() < 0.5),
    );
    await expectGradientsMatch(
      [
        { name: 'c', shape: [2, 3], values: cond },
        { name: 'a', shape: [2, 3] },
        { name: 'b', shape: [3] },
      ],
      single('Where'),
      f64(11),
    );
  });
  it('Max, Min and Clip', async () => {
    await expectGradientsMatch(
      [
        { name: 'a', shape: [3, 4] },
        { name: 'b', shape: [4] },
      ],
      single('Max'),
      f64(12),
    );
    await expectGradientsMatch(
      [
        { name: 'a', shape: [3, 4] },
        { name: 'b', shape: [3, 1] },
      ],
      single('Min'),
      f64(13),
    );
    await expectGradientsMatch(
      [{ name: 'x', shape: [4, 4], range: [-1, 1] }],
      (b, x) => b.op('Clip', [x.x, b.constant(scalar('float64', -0.5)), b.constant(scalar('float64', 0.5))]),
      f64(14),
    );
  });
  it('Sum of several broadcast inputs, and Expand', async () => {
    await expectGradientsMatch(
      [
        { name: 'a', shape: [2, 3] },
        { name: 'b', shape: [3] },
        { name: 'c', shape: [2, 1] },
      ],
      single('Sum'),
      f64(15),
    );
    await expectGradientsMatch(
      [{ name: 'x', shape: [3, 1] }],
      (b, x) => b.op('Expand', [x.x, b.constant(int64s([2, 3, 4]))]),
      f64(16),
    );
  });
  it('Cast between float types (float32 precision inside)', async () => {
    await expectGradientsMatch(
      [{ name: 'x', shape: [2, 3] }],
      (b, x) => b.op('Cast', [b.op('Tanh', [b.op('Cast', [x.x], { to: 1 })])], { to: 11 }),
      { ...f64(17), eps: 1e-2, atol: 2e-3, rtol: 1e-2 },
    );
  });
  // Mixed precision's path: the gradient comes back through float16 (to: 10) and is cast to the source type again.
  // float16 keeps 11 significant bits, so x ± ε and tanh's output are each rounded by up to 2.4e-4: with ε = 0.05 the
  // differences are good to about 1 %, the truncation error (ε²/3) is under 0.1 %.
  it('Cast through float16 and back (float16 precision inside)', async () => {
    await expectGradientsMatch(
      [{ name: 'x', shape: [3, 4] }],
      (b, x) => b.op('Cast', [b.op('Tanh', [b.op('Cast', [x.x], { to: 10 })])], { to: 11 }),
      { ...f64(18), eps: 0.05, atol: 2e-2, rtol: 2e-2 },
    );
  });
});

describe('shape rules', () => {
  it('Flatten, Squeeze and Unsqueeze at random axes', async () => {
    for (let seed = 1; seed <= 3; seed++) {
      const random = rng(seed * 17);
      const shape = randomShape(random, 3);
      const axis = Math.floor(random() * 4);
      await expectGradientsMatch([{ name: 'x', shape }], single('Flatten', { axis }), f64(seed));
      await expectGradientsMatch(
        [{ name: 'x', shape: [shape[0], 1, shape[2]] }],
        (b, x) => b.op('Squeeze', [x.x, b.constant(int64s([1]))]),
        f64(seed),
      );
      await expectGradientsMatch(
        [{ name: 'x', shape }],
        (b, x) => b.op('Unsqueeze', [x.x, b.constant(int64s([axis, -1]))]),
        f64(seed),
      );
    }
  });
  it('Concat of three inputs along a random axis', async () => {
    for (let seed = 1; seed <= 3; seed++) {
      const random = rng(seed * 19);
      const shape = randomShape(random, 3);
      const axis = Math.floor(random() * 3);
      const inputs = [1, 2, 3].map((k) => ({ name: `x${k}`, shape: shape.map((d, i) => (i === axis ? k : d)) }));
      await expectGradientsMatch(inputs, single('Concat', { axis: axis - (seed === 3 ? 3 : 0) }), f64(seed));
    }
  });
  it('Slice with negative bounds, an open end and omitted axes', async () => {
    await expectGradientsMatch(
      [{ name: 'x', shape: [4, 5, 3] }],
      (b, x) =>
        b.op('Slice', [
          x.x,
          b.constant(int64s([1, -4])),
          b.constant(int64s([2 ** 53, -1])),
          b.constant(int64s([0, 1])),
        ]),
      f64(20),
    );
    await expectGradientsMatch(
      [{ name: 'x', shape: [4, 5] }],
      (b, x) => b.op('Slice', [x.x, b.constant(int64s([0, 2])), b.constant(int64s([3, 4]))]),
      f64(21),
    );
  });
  it('Pad with zeros, on all axes and on chosen ones', async () => {
    await expectGradientsMatch(
      [{ name: 'x', shape: [2, 3, 2] }],
      (b, x) => b.op('Pad', [x.x, b.constant(int64s([1, 0, 2, 0, 3, 1]))]),
      f64(33),
    );
    await expectGradientsMatch(
      [{ name: 'x', shape: [2, 3, 2] }],
      (b, x) => b.op('Pad', [x.x, b.constant(int64s([2, 1, 0, 1])), '', b.constant(int64s([-1, 1]))]),
      f64(34),
    );
  });
  // On one thread the scatter-add is ScatterND's, on more ScatterElements' (engine/autodiff/rules/shape.ts).
  for (const oneThread of [false, true]) {
    it(`Gather${oneThread ? ' on one thread' : ''}: embedding lookup with repeated ids (scatter-add), and at axis 1 with scalar and 2-D indices`, async () => {
      await expectGradientsMatch(
        [
          { name: 'table', shape: [5, 3] },
          { name: 'ids', shape: [2, 4], values: int64Values([2, 4], [0, 3, 3, 1, 4, -2, 0, 0]) },
        ],
        single('Gather'),
        { ...f64(22), oneThread },
      );
      await expectGradientsMatch(
        [
          { name: 'x', shape: [2, 4, 3] },
          { name: 'i', shape: [], values: int64Values([], [2]) },
        ],
        single('Gather', { axis: 1 }),
        { ...f64(23), oneThread },
      );
      await expectGradientsMatch(
        [
          { name: 'x', shape: [2, 4, 3] },
          { name: 'i', shape: [2, 2], values: int64Values([2, 2], [1, 3, 3, 0]) },
        ],
        single('Gather', { axis: 1 }),
        { ...f64(24), oneThread },
      );
    });
  }
});

describe('reductions beyond sum and mean', () => {
  for (const op of ['ReduceMax', 'ReduceMin', 'ReduceSumSquare', 'ReduceL2', 'ReduceLogSumExp']) {
    it(`${op} over random axes, keepdims 0 and 1`, async () => {
      for (let seed = 1; seed <= 3; seed++) {
        const random = rng(seed * 23);
        const shape = randomShape(random, 3);
        const axes = [0, 1, 2].filter(() => random() < 0.5);
        await expectGradientsMatch(
          [{ name: 'x', shape }],
          (b, x) => b.op(op, axes.length ? [x.x, b.constant(int64s(axes))] : [x.x], { keepdims: seed % 2 }),
          f64(seed),
        );
      }
    });
  }
  it('ReduceMax shares the gradient evenly among tied maxima', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float64', [2, 3]);
    const loss = b.op('ReduceSum', [b.op('ReduceMax', [x, b.constant(int64s([1]))], { keepdims: 0 })], { keepdims: 0 });
    const grads = addGradients(b.graph, { loss, wrt: [x] });
    b.output(grads.get(x)!, 'float64', [2, 3]);
    const { session } = await createSession(createModel(b.graph));
    const out = await session.run({ x: toOrt(tensor('float64', [2, 3], [1, 5, 5, 2, 0, -1])) });
    expect(Array.from(out[grads.get(x)!].data as Float64Array)).toEqual([0, 0.5, 0.5, 1, 0, 0]);
    await session.release();
  });
});

describe('rules that join and cut', () => {
  it('Split, with a piece the loss does not use', async () => {
    await expectGradientsMatch(
      [{ name: 'x', shape: [2, 7] }],
      (b, x) => {
        const [p0, , p2] = b.opN('Split', [x.x, b.constant(int64s([2, 4, 1]))], 3, { axis: -1 });
        return b.op('Mul', [b.op('ReduceSum', [p0], { keepdims: 1 }), p2]);
      },
      f64(30),
    );
  });
  it('Gather before opset 16 (one-hot product instead of ScatterND reduction)', async () => {
    await expectGradientsMatch(
      [
        { name: 'table', shape: [5, 2, 3] },
        { name: 'ids', shape: [4], values: int64Values([4], [4, 1, -1, 0]) },
      ],
      single('Gather'),
      { ...f64(31), opset: 15 },
    );
    await expectGradientsMatch(
      [
        { name: 'x', shape: [2, 4, 3] },
        { name: 'i', shape: [2], values: int64Values([2], [3, 3]) },
      ],
      single('Gather', { axis: 1 }),
      { ...f64(32), opset: 15 },
    );
  });
});

describe('layer rules', () => {
  it('Softmax read only by a MatMul (attention) takes Σ dy y from the product; other readers or a broadcast do not', async () => {
    const probsTimes = (vShape: number[], alsoRead: boolean) =>
      expectGradientsMatch(
        [
          { name: 'x', shape: [2, 3, 4], range: [-2, 2] },
          { name: 'v', shape: vShape },
        ],
        (b, x) => {
          const y = b.op('Softmax', [x.x], { axis: -1 });
          const z = b.op('MatMul', [y, x.v]);
          return alsoRead ? b.op('Add', [z, b.op('ReduceSum', [y, b.constant(int64s([-1]))])]) : z;
        },
        f64(29),
      );
    await probsTimes([2, 4, 5], false);
    await probsTimes([4, 5], false);
    await probsTimes([2, 4, 5], true);
    await probsTimes([3, 2, 4, 5], false); // y broadcast over v's leading axis
  });
  it('Softmax whose output is scaled (dropout) before the MatMul takes Σ dy y from the product too', async () => {
    const probsTimes = (fShape: number[], square: boolean, scale?: number, viaShape = false) =>
      expectGradientsMatch(
        [
          { name: 'x', shape: [2, 3, 4], range: [-2, 2] },
          { name: 'f', shape: fShape, range: [0, 2] },
          { name: 'v', shape: [2, 4, 5] },
        ],
        (b, x) => {
          const y = b.op('Softmax', [x.x], { axis: -1 });
          // viaShape: the mask reshaped to y's shape, as training-time dropout takes it (a Shape node reads y).
          const f = viaShape ? b.op('Reshape', [x.f, b.op('Shape', [y])]) : x.f;
          const p = b.op('Mul', square ? [y, y] : [y, f]);
          const scaled = scale === undefined ? p : b.op('Mul', [p, b.constant(scalar('float64', scale))]);
          return b.op('MatMul', [scaled, x.v]);
        },
        f64(31),
      );
    await probsTimes([2, 3, 4], false);
    await probsTimes([2, 3, 4], false, 1.25); // a 0/1 mask, then its scale (training-time dropout before a MatMul)
    await probsTimes([24], false, 1.25, true);
    await probsTimes([2, 3, 4], true, 1.25);
    await probsTimes([4], false); // a factor broadcast over y
    await probsTimes([2, 3, 4], true); // y ⊙ y: the factor is y itself
    await probsTimes([3, 2, 3, 4], false); // a factor that broadcasts y to a larger product
  });
  it('LayerNormalization over the last axis and over the last two, with and without bias', async () => {
    await expectGradientsMatch(
      [
        { name: 'x', shape: [3, 5] },
        { name: 'scale', shape: [5] },
        { name: 'bias', shape: [5] },
      ],
      single('LayerNormalization', { epsilon: float(1e-5) }),
      f64(25),
    );
    await expectGradientsMatch(
      [
        { name: 'x', shape: [2, 3, 4] },
        { name: 'scale', shape: [3, 4] },
      ],
      single('LayerNormalization', { axis: 1 }),
      f64(26),
    );
    // A scale that broadcasts over the normalised axes.
    await expectGradientsMatch(
      [
        { name: 'x', shape: [2, 3, 4] },
        { name: 'scale', shape: [1, 4] },
      ],
      single('LayerNormalization', { axis: 1 }),
      f64(28),
    );
  });

  it('ReduceMean over a symbolic batch axis', async () => {
    await expectGradientsMatch(
      [{ name: 'x', shape: [3, 2], declared: ['batch', 2] }],
      (b, x) => b.op('ReduceMean', [b.op('Tanh', [x.x])], { axes: [0], keepdims: 0 }),
      { ...f64(27), opset: 17 },
    );
  });

  it('Dropout in training mode: dx = dy * mask / (1 - ratio) with the mask the forward pass drew', async () => {
    const ratio = 0.3;
    const b = new GraphBuilder();
    const x = b.input('x', 'float64', [50, 40]);
    const training = b.constant(scalar('bool', true));
    const y = b.op('Dropout', [x, b.constant(scalar('float64', ratio)), training], { seed: 7 });
    const weights = randomTensor('float64', { name: 'R', shape: [50, 40] }, rng(28));
    const loss = b.op('ReduceSum', [b.op('Mul', [y, b.constant(weights)])], { keepdims: 0 });
    const grads = addGradients(b.graph, { loss, wrt: [x] });
    const mask = b.graph.nodes.find((n) => n.op === 'Dropout')!.outputs[1];
    b.output(y, 'float64', [50, 40]);
    b.output(grads.get(x)!, 'float64', [50, 40]);
    b.output(mask, 'bool', [50, 40]);
    const { session } = await createSession(createModel(b.graph));
    const xs = randomTensor('float64', { name: 'x', shape: [50, 40] }, rng(29));
    const out = await session.run({ x: toOrt(xs) });
    const m = out[mask].data as Uint8Array;
    const dx = out[grads.get(x)!].data as Float64Array;
    const ys = out[y].data as Float64Array;
    const r = weights.data as Float64Array;
    const dropped = m.filter((v) => !v).length / m.length;
    expect(dropped).toBeGreaterThan(0.2);
    expect(dropped).toBeLessThan(0.4);
    for (let i = 0; i < m.length; i++) {
      const expected = m[i] ? r[i] / (1 - ratio) : 0;
      expect(dx[i]).toBeCloseTo(expected, 12);
      // ORT's kernel applies the scale 1/(1 - ratio) in float32 even for float64 data, hence the looser check.
      expect(ys[i]).toBeCloseTo(m[i] ? (xs.data as Float64Array)[i] / (1 - ratio) : 0, 6);
    }
    await session.release();
  });
});

/** erf in float64 by its series of positive terms, 2/√π e^(-x²) Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)) (no cancellation). */
function erf(x: number): number {
  if (Math.abs(x) > 6) return Math.sign(x); // 1 - erf(6) = 2e-17
  let term = x;
  let sum = x;
  for (let n = 1; Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}
