import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, createModel, emptyGraph, tensor } from '../../engine/ir/index.ts';
import { createSession } from '../../engine/runtime/index.ts';
import { pack, packGradients, packedLayout, readPackedInput, unpack } from '../../engine/train/packed.ts';

const w = tensor('float32', [2, 3], [1, 2, 3, 4, 5, 6]);
const bias = tensor('float32', [3], [7, 8, 9]);
const layout = packedLayout([
  { name: 'w', tensor: w },
  { name: 'b', tensor: bias },
]);

describe('packed parameters', () => {
  it('lays parameters end to end and unpacks views that share the flat buffer', () => {
    expect(layout).toEqual({ names: ['w', 'b'], dims: [[2, 3], [3]], offsets: [0, 6], size: 9 });
    const flat = pack(layout, (name) => (name === 'w' ? w : bias));
    expect([...flat]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const views = unpack(layout, flat);
    expect(views.get('b')).toEqual({ dtype: 'float32', dims: [3], data: Float32Array.of(7, 8, 9) });
    flat[6] = 70;
    expect(views.get('b')!.data[0]).toBe(70);
  });

  it('refuses a parameter that is not float32', () => {
    expect(() => packedLayout([{ name: 'ids', tensor: tensor('int64', [1], [1n]) }])).toThrow(
      "trainable parameter 'ids' is int64; only float32 trains",
    );
  });

  it('feeds a graph its parameters from the flat input, and packs gradients back in the same order', async () => {
    // y = x·w + b over a [1, 2] input; the "gradients" here are the parameters doubled, to check the packing order.
    const b = new GraphBuilder(emptyGraph('packed'));
    const x = b.input('x', 'float32', [1, 2]);
    b.input('w', 'float32', [2, 3]);
    b.input('b', 'float32', [3]);
    const y = b.op('Add', [b.op('MatMul', [x, 'w']), 'b']);
    const two = b.constant(tensor('float32', [], [2]));
    const grads = packGradients(b, layout, [b.op('Mul', ['w', two]), b.op('Mul', ['b', two])]);
    readPackedInput(b.graph, layout, 'params');
    b.output(y, 'float32', [1, 3]);
    b.output(grads, 'float32', [9]);
    expect(b.graph.inputs.map((v) => v.name)).toEqual(['x', 'params']);

    const { session } = await createSession(createModel(b.graph));
    const out = await session.run({
      x: new ort.Tensor('float32', Float32Array.of(1, 10), [1, 2]),
      params: new ort.Tensor(
        'float32',
        pack(layout, (name) => (name === 'w' ? w : bias)),
        [9],
      ),
    });
    expect([...(out[y].data as Float32Array)]).toEqual([1 + 40 + 7, 2 + 50 + 8, 3 + 60 + 9]);
    expect([...(out[grads].data as Float32Array)]).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18]);
  });

  it.each([
    ['a matrix', tensor('float32', [2, 3], [1, 2, 3, 4, 5, 6])],
    ['a vector', tensor('float32', [2], [1, 2])],
  ])('reads a single trainable parameter, %s, straight from the flat input', async (_, param) => {
    const one = packedLayout([{ name: 'p', tensor: param }]);
    const b = new GraphBuilder(emptyGraph('single'));
    b.input('p', 'float32', param.dims);
    const y = b.op('Mul', ['p', b.constant(tensor('float32', [], [3]))]);
    readPackedInput(b.graph, one, 'params');
    b.output(y, 'float32', param.dims);
    const { session } = await createSession(createModel(b.graph));
    const out = await session.run({ params: new ort.Tensor('float32', param.data as Float32Array, [one.size]) });
    expect(out[y].dims).toEqual(param.dims);
    expect([...(out[y].data as Float32Array)]).toEqual([...param.data].map((v) => 3 * Number(v)));
  });
});
