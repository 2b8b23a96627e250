import { describe, expect, it } from 'vitest';
import { GraphBuilder, float, inferShapes, int64s, scalar, tensor, type Dim } from '../../engine/ir/index.ts';

const shapeOf = (b: GraphBuilder, v: string): Dim[] | undefined => inferShapes(b.graph).get(v)?.shape;

describe('inferShapes', () => {
  it('carries a symbolic batch through an MLP', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['batch', 8]);
    const h = b.op('Relu', [
      b.op('Add', [b.op('MatMul', [x, b.input('w1', 'float32', [8, 16])]), b.input('b1', 'float32', [16])]),
    ]);
    const logits = b.op('Gemm', [h, b.input('w2', 'float32', [4, 16])], { transB: 1 });
    const p = b.op('Softmax', [logits], { axis: -1 });
    const loss = b.op('ReduceMean', [p], { axes: [0], keepdims: 0 });
    const shapes = inferShapes(b.graph);
    expect(shapes.get(h)?.shape).toEqual(['batch', 16]);
    expect(shapes.get(logits)).toEqual({ name: logits, dtype: 'float32', shape: ['batch', 4] });
    expect(shapes.get(loss)?.shape).toEqual([4]);
  });

  it("follows com.microsoft's FusedMatMul through its transpose flags, as the backward pass writes it", () => {
    const b = new GraphBuilder();
    const q = b.input('q', 'float32', ['batch', 4, 16, 8]);
    const k = b.input('k', 'float32', ['batch', 4, 16, 8]);
    const v = b.input('v', 'float32', ['batch', 4, 5, 16]);
    const fused = (x: string, y: string, flags: Record<string, number>) =>
      b.domainOp('com.microsoft', 'FusedMatMul', [x, y], 1, flags)[0];
    expect(shapeOf(b, fused(q, k, { transB: 1 }))).toEqual(['batch', 4, 16, 16]);
    expect(shapeOf(b, fused(q, k, { transA: 1 }))).toEqual(['batch', 4, 8, 8]);
    expect(shapeOf(b, fused(q, v, { transA: 1, transB: 1 }))).toEqual(['batch', 4, 8, 5]);
  });

  it('resolves Reshape targets with 0 and -1 over symbolic dims', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['batch', 4, 8]);
    expect(shapeOf(b, b.op('Reshape', [x, b.constant(int64s([0, -1]))]))).toEqual(['batch', 32]);
    expect(shapeOf(b, b.op('Reshape', [x, b.constant(int64s([-1, 8]))]))).toEqual(['batch*4', 8]);
    expect(shapeOf(b, b.op('Flatten', [x], { axis: 2 }))).toEqual(['batch*4', 8]);
  });

  it('evaluates a Shape → Gather → Unsqueeze → Concat chain feeding Reshape, as torch.onnx.export writes it', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['batch', 'seq', 6]);
    const shape = b.op('Shape', [x]);
    const batch = b.op('Gather', [shape, b.constant(scalar('int64', 0))], { axis: 0 });
    const seq = b.op('Gather', [shape, b.constant(scalar('int64', 1))], { axis: 0 });
    const target = b.op(
      'Concat',
      [
        b.op('Unsqueeze', [batch, b.constant(int64s([0]))]),
        b.op('Unsqueeze', [seq, b.constant(int64s([0]))]),
        b.constant(int64s([2, 3])),
      ],
      { axis: 0 },
    );
    const y = b.op('Reshape', [x, target]);
    expect(shapeOf(b, target)).toEqual([4]);
    expect(shapeOf(b, y)).toEqual(['batch', 'seq', 2, 3]);
    expect(shapeOf(b, b.op('Transpose', [y], { perm: [0, 2, 1, 3] }))).toEqual(['batch', 2, 'seq', 3]);
  });

  it('evaluates ReduceProd over a shape: the product of its dims, symbolic ones included', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['batch', 12, 'seq']);
    const dims = b.op('Concat', [b.op('Shape', [x], { start: 1 }), b.constant(int64s([3]))], { axis: 0 });
    const size = b.op('ReduceProd', [dims], { keepdims: 0 });
    const y = b.op('Range', [b.constant(scalar('int64', 0)), size, b.constant(scalar('int64', 1))]);
    expect(shapeOf(b, size)).toEqual([]);
    expect(shapeOf(b, y)).toEqual(['seq*36']);
    expect(shapeOf(b, b.op('ReduceProd', [b.op('Shape', [x])], { keepdims: 1 }))).toEqual([1]);
  });

  it('handles Constant nodes, Slice, Concat, Split, Squeeze, Gather, Cast and LayerNormalization outputs', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 5, 4]);
    const axes = b.op('Constant', [], { value_ints: [1] });
    expect(shapeOf(b, b.op('Slice', [x, b.constant(int64s([1])), b.constant(int64s([-1])), axes]))).toEqual([2, 3, 4]);
    expect(shapeOf(b, b.op('Concat', [x, x], { axis: -1 }))).toEqual([2, 5, 8]);
    const [s0, s1] = b.opN('Split', [x, b.constant(int64s([2, 3]))], 2, { axis: 1 });
    expect([shapeOf(b, s0), shapeOf(b, s1)]).toEqual([
      [2, 2, 4],
      [2, 3, 4],
    ]);
    // Sizes too many to track (a packed parameter vector's): unknown, not equal parts (which read 2 here, not 3).
    const sizes = Array.from({ length: 100 }, (_, i) => (i % 2 ? 3 : 1));
    const parts = b.opN('Split', [b.input('packed', 'float32', [200]), b.constant(int64s(sizes))], 100, { axis: 0 });
    expect(shapeOf(b, parts[1])).toBeUndefined();
    const one = b.op('Slice', [x, b.constant(int64s([0])), b.constant(int64s([1]))]);
    expect(shapeOf(b, b.op('Squeeze', [one, b.constant(int64s([0]))]))).toEqual([5, 4]);
    const ids = b.input('ids', 'int64', ['batch', 'seq']);
    expect(shapeOf(b, b.op('Gather', [b.input('table', 'float32', [100, 16]), ids]))).toEqual(['batch', 'seq', 16]);
    const cast = b.op('Cast', [x], { to: 11 });
    expect(inferShapes(b.graph).get(cast)?.dtype).toBe('float64');
    const [, mean] = b.opN('LayerNormalization', [x, b.input('g', 'float32', [4])], 3, { epsilon: float(1e-5) });
    expect(shapeOf(b, mean)).toEqual([2, 5, 1]);
  });

  it('follows the shape sub-graphs a BERT export writes: a buffer cut to the sequence, expand(-1), masks', () => {
    const b = new GraphBuilder();
    const ids = b.input('ids', 'int64', ['batch', 'seq']);
    const shape = b.op('Shape', [ids]);
    const seq = b.op('Slice', [shape, b.constant(int64s([1])), b.constant(int64s([2]))]);
    // position_ids[:, :seq] of a [1, 16] buffer is [1, seq]; with a symbolic start, an unknown length.
    const buffer = b.constant(tensor('int64', [1, 16], new Array(16).fill(0)));
    const cut = b.op('Slice', [buffer, b.constant(int64s([0])), seq, b.constant(int64s([1]))]);
    expect(shapeOf(b, cut)).toEqual([1, 'seq']);
    const late = b.op('Slice', [buffer, seq, b.constant(int64s([16])), b.constant(int64s([1]))]);
    expect(shapeOf(b, late)).toEqual([1, '16[seq:16:1]']);
    // expand(batch, -1): Where(Equal(sizes, -1), ones, sizes), decided since a dim is never negative.
    const sizes = b.op(
      'Concat',
      [b.op('Slice', [shape, b.constant(int64s([0])), b.constant(int64s([1]))]), b.constant(int64s([-1]))],
      { axis: 0 },
    );
    const minusOne = b.op('Equal', [sizes, b.constant(int64s([-1]))]);
    const ones = b.constant(int64s([1, 1]));
    expect(shapeOf(b, b.op('Expand', [cut, b.op('Where', [minusOne, ones, sizes])]))).toEqual(['batch', 'seq']);
    const nan = b.op('IsNaN', [b.input('x', 'float32', ['batch', 2])]);
    expect(inferShapes(b.graph).get(nan)).toMatchObject({ dtype: 'bool', shape: ['batch', 2] });
    const picked = b.op('GatherND', [b.input('data', 'float32', ['batch', 5, 3]), b.input('at', 'int64', [4, 2])]);
    expect(shapeOf(b, picked)).toEqual([4, 3]);
  });

  it('OneHot inserts the depth at its axis, in the type of its values', () => {
    const b = new GraphBuilder();
    const labels = b.input('labels', 'int64', ['batch']);
    const depth = b.constant(scalar('int64', 5));
    const values = b.constant(tensor('float32', [2], [0, 1]));
    const encoded = b.op('OneHot', [labels, depth, values]);
    expect(inferShapes(b.graph).get(encoded)).toMatchObject({ dtype: 'float32', shape: ['batch', 5] });
    expect(shapeOf(b, b.op('OneHot', [labels, depth, values], { axis: 0 }))).toEqual([5, 'batch']);
  });

  it('names the node when shapes cannot broadcast', () => {
    const b = new GraphBuilder();
    b.op('Add', [b.input('a', 'float32', [3]), b.input('c', 'float32', [4])]);
    expect(() => inferShapes(b.graph)).toThrow(/node 'Add' \(Add\).*broadcast/);
  });

  it('leaves out the outputs of ops it has no rule for, and what depends on them', () => {
    const b = new GraphBuilder();
    const y = b.op('NonMaxSuppression', [b.input('boxes', 'float32', [1, 4, 4])]);
    const z = b.op('Relu', [y]);
    const shapes = inferShapes(b.graph);
    expect(shapes.has(y)).toBe(false);
    expect(shapes.has(z)).toBe(false);
  });
});
