import { describe, expect, it } from 'vitest';
import {
  GraphBuilder,
  createModel,
  decodeModel,
  encodeModel,
  float,
  int,
  int64s,
  tensor,
  type Model,
} from '../../engine/ir/index.ts';
import { createSession, fromOrt, toOrt } from '../../engine/runtime/session.ts';

// y = relu(x @ W^T + b) * alpha, through Gemm(transB) so attributes of both kinds travel.
function tinyModel(): Model {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', ['batch', 3]);
  const w = b.initializer('w', tensor('float32', [2, 3], [1, -2, 3, -4, 5, -6]));
  const bias = b.initializer('b', tensor('float32', [2], [0.5, -0.5]));
  const h = b.op('Gemm', [x, w, bias], { transB: 1, alpha: float(1.0) });
  const r = b.op('Relu', [h]);
  const y = b.op('Mul', [r, b.constant(tensor('float32', [], [2]), 'two')], {}, 'y');
  b.output(y, 'float32', ['batch', 2]);
  return createModel(b.graph, { metadata: { lineage: 'test' } });
}

describe('IR encode/decode', () => {
  it('round-trips a model through ONNX bytes unchanged', () => {
    const m = tinyModel();
    const back = decodeModel(encodeModel(m));
    expect(back).toEqual(m);
  });

  it('encodes tensors that view part of a larger buffer (as safetensors loads them)', () => {
    const buffer = new Float32Array([9, 9, 1, 2, 3, 9]);
    const b = new GraphBuilder();
    b.initializer('w', { dtype: 'float32', dims: [3], data: buffer.subarray(2, 5) });
    b.output('w', 'float32', [3]);
    const back = decodeModel(encodeModel(createModel(b.graph)));
    expect(Array.from(back.graph.initializers.get('w')!.data as Float32Array)).toEqual([1, 2, 3]);
  });

  it('keeps int64 attributes beyond 2^53 usable (INT64_MAX sentinel clamps)', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [4]);
    b.output(b.op('Flatten', [x], { axis: int(Number.MAX_SAFE_INTEGER * 4096) }), 'float32', [1, 4]);
    const back = decodeModel(encodeModel(createModel(b.graph)));
    expect(back.graph.nodes[0].attrs.axis).toEqual({ kind: 'int', value: 2 ** 63 });
  });

  it('rejects bytes that are not a model with a clear error', () => {
    expect(() => decodeModel(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toThrow(/not an ONNX model/);
    expect(() => decodeModel(new TextEncoder().encode('hello'))).toThrow(/ONNX/);
    expect(() => decodeModel(new Uint8Array())).toThrow(/no graph/);
  });

  it('refuses a float attribute given as a bare non-integer number', () => {
    const b = new GraphBuilder();
    expect(() => b.op('LeakyRelu', [b.input('x', 'float32', [1])], { alpha: 0.1 })).toThrow(/float\(\)/);
  });

  it('keeps names unique when several builders append to one graph in turn', () => {
    const first = new GraphBuilder();
    const x = first.input('x', 'float32', [1]);
    const second = new GraphBuilder(first.graph);
    const a = second.op('Neg', [x]);
    const c = second.constant(tensor('float32', [], [1]));
    const d = first.op('Neg', [a]); // first has not seen second's 'neg' and 'const' yet
    const e = first.constant(tensor('float32', [], [2]));
    const values = [x, a, c, d, e];
    expect(new Set(values).size).toBe(values.length);
    expect(new Set(first.graph.nodes.map((n) => n.name)).size).toBe(2);
  });

  it('names values and nodes uniquely', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1]);
    const a = b.op('Neg', [x]);
    const c = b.op('Neg', [a]);
    expect(new Set([x, a, c]).size).toBe(3);
    expect(new Set(b.graph.nodes.map((n) => n.name)).size).toBe(2);
    expect(() => b.input('x', 'float32', [1])).toThrow(/already used/);
  });
});

describe('runtime session', () => {
  it('runs a decoded model in ONNX Runtime and gets the right numbers', async () => {
    const model = decodeModel(encodeModel(tinyModel()));
    const { session, ep } = await createSession(model);
    expect(ep).toBe('cpu');
    const x = tensor('float32', [2, 3], [1, 1, 1, 0, 1, 0]);
    const out = fromOrt((await session.run({ x: toOrt(x) })).y);
    // rows: w·x + b → [2.5, -5.5], [-2, 4.5]; relu; ×2
    expect(out.dims).toEqual([2, 2]);
    expect(Array.from(out.data as Float32Array)).toEqual([5, 0, 0, 9]);
    await session.release();
  });

  it("'auto' reports the execution provider it got, falling back to CPU with a warning", async () => {
    const warnings: unknown[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args.join(' '));
    try {
      const { session, ep } = await createSession(tinyModel(), { ep: 'auto' });
      // This machine has no CUDA provider library; a CUDA host gets 'cuda' and no warning.
      if (ep === 'cpu') expect(warnings.join('\n')).toMatch(/CUDA execution provider unavailable.*using CPU/);
      else expect(ep).toBe('cuda');
      const out = await session.run({ x: toOrt(tensor('float32', [1, 3], [1, 1, 1])) });
      expect(Array.from(out.y.data as Float32Array)).toEqual([5, 0]);
      await session.release();
    } finally {
      console.warn = warn;
    }
  });

  it('runs int64 initializers and shape ops', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['n', 6]);
    const y = b.op('Reshape', [x, b.constant(int64s([-1, 2, 3]))], {}, 'y');
    b.output(y, 'float32', ['n', 2, 3]);
    const { session } = await createSession(decodeModel(encodeModel(createModel(b.graph))));
    const out = (await session.run({ x: toOrt(tensor('float32', [1, 6])) })).y;
    expect(out.dims).toEqual([1, 2, 3]);
    await session.release();
  });
});
