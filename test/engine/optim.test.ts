import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, createModel, emptyGraph } from '../../engine/ir/index.ts';
import { adamw, clipByGlobalNorm, learningRate, sgd, type Optimizer } from '../../engine/optim/index.ts';
import { createSession } from '../../engine/runtime/index.ts';

const n = 3;
const f32 = (values: number[]) => new ort.Tensor('float32', Float32Array.from(values), [values.length]);
const scalarTensor = (v: number) => new ort.Tensor('float32', Float32Array.from([v]), []);

/** A graph holding one parameter's update: inputs param, grad, state slots, step, lr; outputs the new ones. */
async function updateSession(optimizer: Optimizer) {
  const b = new GraphBuilder(emptyGraph('update'));
  const param = b.input('param', 'float32', [n]);
  const grad = b.input('grad', 'float32', [n]);
  const state = optimizer.slots.map((s) => b.input(s, 'float32', [n]));
  const step = b.input('step', 'float32', []);
  const lr = b.input('lr', 'float32', []);
  const next = optimizer.updater(b, { step, lr })(param, grad, state);
  b.graph.outputs.push({ name: next.param, dtype: 'float32', shape: [n] });
  next.state.forEach((s) => b.graph.outputs.push({ name: s, dtype: 'float32', shape: [n] }));
  const { session } = await createSession(createModel(b.graph));
  return async (p: number[], g: number[], st: number[][], t: number, rate: number) => {
    const feeds: Record<string, ort.Tensor> = {
      param: f32(p),
      grad: f32(g),
      step: scalarTensor(t),
      lr: scalarTensor(rate),
    };
    optimizer.slots.forEach((s, i) => (feeds[s] = f32(st[i])));
    const out = await session.run(feeds);
    const read = (name: string) => Array.from(out[name].data as Float32Array);
    return { param: read(next.param), state: next.state.map(read) };
  };
}

const grads = [
  [0.5, -1, 2],
  [0.1, 0.3, -0.7],
  [-2, 0.01, 1],
];

describe('AdamW in-graph update', () => {
  it('matches a hand computation over three steps (bias correction, decoupled weight decay)', async () => {
    const [beta1, beta2, eps, wd] = [0.9, 0.99, 1e-8, 0.1];
    const run = await updateSession(adamw({ beta1, beta2, eps, weightDecay: wd }));
    let p = [1, -2, 0.5];
    let m = [0, 0, 0];
    let v = [0, 0, 0];
    const expected = [...p];
    const [em, ev] = [
      [0, 0, 0],
      [0, 0, 0],
    ];
    for (let t = 1; t <= 3; t++) {
      const lr = 0.1 / t;
      const g = grads[t - 1];
      const out = await run(p, g, [m, v], t, lr);
      for (let i = 0; i < n; i++) {
        em[i] = beta1 * em[i] + (1 - beta1) * g[i];
        ev[i] = beta2 * ev[i] + (1 - beta2) * g[i] * g[i];
        const mHat = em[i] / (1 - beta1 ** t);
        const vHat = ev[i] / (1 - beta2 ** t);
        expected[i] = expected[i] * (1 - lr * wd) - (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
      out.param.forEach((x, i) => expect(x).toBeCloseTo(expected[i], 5));
      // The slots hold the moments' discounted sums, m/(1-β1) and v/(1-β2).
      out.state[0].forEach((x, i) => expect(x).toBeCloseTo(em[i] / (1 - beta1), 5));
      out.state[1].forEach((x, i) => expect(x).toBeCloseTo(ev[i] / (1 - beta2), 5));
      [p, m, v] = [out.param, out.state[0], out.state[1]];
    }
  });
});

describe('SGD in-graph update', () => {
  it('matches a hand computation with momentum and coupled weight decay', async () => {
    const [mu, wd, lr] = [0.9, 0.05, 0.2];
    const run = await updateSession(sgd({ momentum: mu, weightDecay: wd }));
    let p = [1, -2, 0.5];
    let buf = [0, 0, 0];
    const expected = [...p];
    const ebuf = [0, 0, 0];
    for (let t = 1; t <= 3; t++) {
      const g = grads[t - 1];
      const out = await run(p, g, [buf], t, lr);
      for (let i = 0; i < n; i++) {
        ebuf[i] = mu * ebuf[i] + g[i] + wd * expected[i];
        expected[i] -= lr * ebuf[i];
      }
      out.param.forEach((x, i) => expect(x).toBeCloseTo(expected[i], 5));
      out.state[0].forEach((x, i) => expect(x).toBeCloseTo(ebuf[i], 5));
      [p, buf] = [out.param, out.state[0]];
    }
  });

  it('without momentum carries no state and steps by -lr·g', async () => {
    const optimizer = sgd({ momentum: 0 });
    expect(optimizer.slots).toEqual([]);
    const run = await updateSession(optimizer);
    const out = await run([1, 2, 3], [1, -1, 0.5], [], 1, 0.5);
    out.param.forEach((x, i) => expect(x).toBeCloseTo([0.5, 2.5, 2.75][i], 6));
  });
});

describe('global-norm clipping', () => {
  async function clip(gs: number[][], maxNorm: number) {
    const b = new GraphBuilder(emptyGraph('clip'));
    const inputs = gs.map((g, i) => b.input(`g${i}`, 'float32', [g.length]));
    const clipped = clipByGlobalNorm(b, inputs, maxNorm);
    clipped.forEach((c, i) => b.graph.outputs.push({ name: c, dtype: 'float32', shape: [gs[i].length] }));
    const { session } = await createSession(createModel(b.graph));
    const out = await session.run(Object.fromEntries(gs.map((g, i) => [`g${i}`, f32(g)])));
    return clipped.map((c) => Array.from(out[c].data as Float32Array));
  }

  it('scales all gradients together to the max norm when their joint norm exceeds it', async () => {
    // Joint norm of [3, 4] and [12] is 13.
    const [a, c] = await clip([[3, 4], [12]], 1);
    const scale = 1 / (13 + 1e-6);
    expect(a[0]).toBeCloseTo(3 * scale, 6);
    expect(a[1]).toBeCloseTo(4 * scale, 6);
    expect(c[0]).toBeCloseTo(12 * scale, 6);
  });

  it('leaves gradients under the max norm unchanged', async () => {
    const [a] = await clip([[0.3, 0.4]], 1);
    expect(a[0]).toBeCloseTo(0.3, 6);
    expect(a[1]).toBeCloseTo(0.4, 6);
  });
});

describe('learning-rate schedules', () => {
  const base = { lr: 1, totalSteps: 110, warmupSteps: 10, minLr: 0.1 };

  it('warms up linearly to the base rate', () => {
    expect(learningRate(0, base)).toBeCloseTo(0.1);
    expect(learningRate(4, base)).toBeCloseTo(0.5);
    expect(learningRate(9, base)).toBeCloseTo(1);
  });

  it('decays along a half cosine to minLr, then stays there', () => {
    expect(learningRate(10, base)).toBeCloseTo(1);
    expect(learningRate(60, base)).toBeCloseTo(0.55); // halfway: min + (lr - min)/2
    expect(learningRate(110, base)).toBeCloseTo(0.1);
    expect(learningRate(500, base)).toBeCloseTo(0.1);
  });

  it('decays linearly when asked', () => {
    const linear = { ...base, decay: 'linear' as const };
    expect(learningRate(35, linear)).toBeCloseTo(1 - 0.9 * 0.25);
    expect(learningRate(110, linear)).toBeCloseTo(0.1);
  });

  it('holds the rate after warm-up when constant', () => {
    expect(learningRate(80, { ...base, decay: 'constant' })).toBe(1);
  });
});
