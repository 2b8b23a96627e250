// Test-side gradient checker: builds op(inputs) → loss = Σ(out ⊙ R) with a random R (so every output element
// weighs differently), appends the backward pass with addGradients, and compares each analytic gradient element
// with the central finite difference (L(x+ε) - L(x-ε)) / 2ε. All evaluations run in one real ORT session.
import { expect } from 'vitest';
import { addGradients } from '../../engine/autodiff/index.ts';
import { GraphBuilder, createModel, elementCount, inferShapes, isStatic, tensor } from '../../engine/ir/index.ts';
import type { AttrInput, DType, Dim, TensorData } from '../../engine/ir/index.ts';
import { createSession, toOrt } from '../../engine/runtime/session.ts';

/** Seeded uniform [0, 1) generator (mulberry32): checks are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface CheckInput {
  name: string;
  shape: number[];
  /** The shape the graph declares, when it should differ from the fed one (symbolic dims such as 'batch'). */
  declared?: Dim[];
  /** Fixed values (indices, masks, constants); such inputs are not differentiated. */
  values?: TensorData;
  /** Keep |x| >= 0.2 so finite differences do not straddle a kink at 0 (Relu, Max, Clip ...). */
  awayFromZero?: boolean;
  /** Sample from [lo, hi) instead of [-1, 1) (e.g. positive inputs for Log, Sqrt). */
  range?: [number, number];
}

export interface GradcheckOptions {
  dtype: 'float32' | 'float64';
  seed: number;
  eps?: number;
  atol?: number;
  rtol?: number;
  opset?: number;
  /** Build the backward pass for, and run it on, one intra-op thread (GradientOptions.oneThread). */
  oneThread?: boolean;
}

export interface Mismatch {
  input: string;
  index: number;
  analytic: number;
  numeric: number;
}

export interface GradcheckResult {
  checked: number;
  mismatches: Mismatch[];
}

// float64: ε = 1e-6 leaves truncation (ε²) and rounding (1e-16/ε) errors near 1e-10.
// float32: ε = 1e-2 balances ε² ≈ 1e-4 against rounding 6e-8·|L|/ε ≈ 1e-5·|L|; the tolerance is stated below.
const defaults = {
  float64: { eps: 1e-6, atol: 1e-6, rtol: 1e-5 },
  float32: { eps: 1e-2, atol: 2e-3, rtol: 1e-2 },
};

export async function gradcheck(
  inputs: CheckInput[],
  build: (b: GraphBuilder, x: Record<string, string>) => string,
  opts: GradcheckOptions,
): Promise<GradcheckResult> {
  const { dtype } = opts;
  const { eps, atol, rtol } = { ...defaults[dtype], ...opts };
  const random = rng(opts.seed);
  const b = new GraphBuilder();
  const names: Record<string, string> = {};
  const feeds: Record<string, TensorData> = {};
  for (const inp of inputs) {
    const t = inp.values ?? randomTensor(dtype, inp, random);
    names[inp.name] = b.input(inp.name, t.dtype, inp.declared ?? inp.shape);
    feeds[inp.name] = t;
  }
  const out = build(b, names);
  const outInfo = inferShapes(b.graph).get(out);
  if (!outInfo || !isStatic(outInfo.shape)) throw new Error(`gradcheck: the shape of '${out}' is not static`);
  const weights = randomTensor(outInfo.dtype as DType, { name: 'R', shape: outInfo.shape }, random);
  const loss = b.op('ReduceSum', [b.op('Mul', [out, b.constant(weights, 'R')])], { keepdims: 0 }, 'loss');
  const wrt = inputs.filter((i) => !i.values).map((i) => i.name);
  const grads = addGradients(b.graph, { loss, wrt, opset: opts.opset, oneThread: opts.oneThread });
  b.output(loss, outInfo.dtype, []);
  b.output(out, outInfo.dtype, outInfo.shape);
  for (const w of wrt) b.output(grads.get(w)!, dtype, feeds[w].dims);

  const { session } = await createSession(createModel(b.graph, { opset: opts.opset }), {
    threads: opts.oneThread ? 1 : undefined,
  });
  const run = async (fetch: string[]) => {
    const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, toOrt(t)]));
    return session.run(ortFeeds, fetch);
  };
  const lossAt = async () => Number((await run([loss]))[loss].data[0]);

  const analytic = await run([out, ...wrt.map((w) => grads.get(w)!)]);
  // The check relies on static shape inference for the weights R; hold it to what ORT computed.
  if (analytic[out].dims.join() !== outInfo.shape.join()) {
    throw new Error(`gradcheck: inferred shape [${outInfo.shape}] of '${out}', ORT computed [${analytic[out].dims}]`);
  }
  const mismatches: Mismatch[] = [];
  let checked = 0;
  for (const w of wrt) {
    const data = feeds[w].data as Float64Array | Float32Array;
    const gradient = analytic[grads.get(w)!];
    // ORT does not hold a graph output to its declared shape, so check it here: a gradient has its input's shape.
    if (gradient.dims.join() !== feeds[w].dims.join()) {
      throw new Error(`gradcheck: gradient of '${w}' has dims [${gradient.dims}], the input [${feeds[w].dims}]`);
    }
    const g = gradient.data as Float64Array | Float32Array;
    for (let i = 0; i < data.length; i++) {
      const x0 = data[i];
      data[i] = x0 + eps;
      const up = await lossAt();
      data[i] = x0 - eps;
      const down = await lossAt();
      data[i] = x0;
      // The step actually taken, after rounding to the input's precision.
      const step = dtype === 'float32' ? Math.fround(x0 + eps) - Math.fround(x0 - eps) : 2 * eps;
      const numeric = (up - down) / step;
      checked++;
      if (Math.abs(g[i] - numeric) > atol + rtol * Math.abs(numeric))
        mismatches.push({ input: w, index: i, analytic: g[i], numeric });
    }
  }
  await session.release();
  return { checked, mismatches };
}

export function randomTensor(
  dtype: DType,
  inp: Pick<CheckInput, 'shape' | 'awayFromZero' | 'range'> & { name: string },
  random: () => number,
): TensorData {
  const [lo, hi] = inp.range ?? [-1, 1];
  const values = Array.from({ length: elementCount(inp.shape) }, () => {
    if (!inp.awayFromZero) return lo + (hi - lo) * random();
    const magnitude = 0.2 + 0.8 * random();
    return random() < 0.5 ? -magnitude : magnitude;
  });
  return tensor(dtype, inp.shape, values);
}

/** A random shape of `rank` dims, each in [1, maxDim]. */
export function randomShape(random: () => number, rank: number, maxDim = 4): number[] {
  return Array.from({ length: rank }, () => 1 + Math.floor(random() * maxDim));
}

/** Asserts that `build`'s gradients match central differences, and that something was checked at all. */
export async function expectGradientsMatch(
  inputs: CheckInput[],
  build: Parameters<typeof gradcheck>[1],
  opts: GradcheckOptions,
) {
  const { checked, mismatches } = await gradcheck(inputs, build, opts);
  expect(checked).toBeGreaterThan(0);
  expect(mismatches).toEqual([]);
}

/** A single op applied to the inputs in order. */
export const single =
  (op: string, attrs: Record<string, AttrInput> = {}) =>
  (b: GraphBuilder, x: Record<string, string>) =>
    b.op(op, Object.values(x), attrs);
