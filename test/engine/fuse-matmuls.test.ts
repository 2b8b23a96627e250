import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { addGradients } from '../../engine/autodiff/index.ts';
import { GraphBuilder, createModel, emptyGraph, inferShapes, tensor, type Graph } from '../../engine/ir/index.ts';
import { cloneGraph } from '../../engine/models/graph-edit.ts';
import { createSession } from '../../engine/runtime/index.ts';
import { fuseSiblingMatMuls } from '../../engine/train/fuse-matmuls.ts';

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed + 1.7 * i));

/** x [2, 3] times three weights (widths 2, 4, 1), the first two with a bias; the loss sums all three products. */
function siblings(): { graph: Graph; pieces: string[]; loss: string } {
  const b = new GraphBuilder(emptyGraph('siblings'));
  const x = b.input('x', 'float32', ['batch', 3]);
  const widths = [2, 4, 1];
  const pieces = widths.map((w, i) => {
    const y = b.op('MatMul', [x, b.input(`w${i}`, 'float32', [3, w])]);
    return i < 2 ? b.op('Add', [y, b.input(`b${i}`, 'float32', [w])]) : y;
  });
  const sums = pieces.map((p) => b.op('ReduceSum', [p], { keepdims: 0 }));
  const loss = b.op(
    'Sum',
    sums.map((s, i) => b.op('Mul', [s, b.constant(tensor('float32', [], [i + 1]))])),
  );
  return { graph: b.graph, pieces, loss };
}

const feeds = () => ({
  x: new ort.Tensor('float32', values(6, 0), [2, 3]),
  w0: new ort.Tensor('float32', values(6, 1), [3, 2]),
  w1: new ort.Tensor('float32', values(12, 2), [3, 4]),
  w2: new ort.Tensor('float32', values(3, 3), [3, 1]),
  b0: new ort.Tensor('float32', values(2, 4), [2]),
  b1: new ort.Tensor('float32', values(4, 5), [4]),
});

async function run(graph: Graph, outputs: string[]) {
  const g = cloneGraph(graph);
  const shapes = inferShapes(g);
  g.outputs = outputs.map((name) => shapes.get(name)!);
  const { session } = await createSession(createModel(g));
  const out = await session.run(feeds());
  return outputs.map((o) => [...(out[o].data as Float32Array)]);
}

describe('fusing sibling MatMuls', () => {
  it('joins products of one input into one MatMul and Split, biases only when every sibling has one', () => {
    const { graph } = siblings();
    expect(fuseSiblingMatMuls(graph)).toBe(1);
    const ops = graph.nodes.map((n) => n.op);
    expect(ops.filter((o) => o === 'MatMul')).toHaveLength(1);
    expect(graph.nodes.find((n) => n.op === 'Concat')!.inputs).toEqual(['w0', 'w1', 'w2']);
    // The third sibling has no bias, so the biases stay separate Adds on the split pieces.
    expect(ops.filter((o) => o === 'Add')).toHaveLength(2);
  });

  it('computes the same products and parameter gradients as the unfused graph', async () => {
    const wrt = ['w0', 'w1', 'w2', 'b0', 'b1'];
    const results = [];
    for (const fuse of [false, true]) {
      const { graph, pieces, loss } = siblings();
      if (fuse) fuseSiblingMatMuls(graph);
      const grads = addGradients(graph, { loss, wrt });
      results.push(await run(graph, [...pieces, ...wrt.map((w) => grads.get(w)!)]));
    }
    const [plain, fused] = results;
    fused.forEach((v, i) => v.forEach((x, j) => expect(x).toBeCloseTo(plain[i][j], 5)));
  });

  it('fuses the biases too when every sibling has one, as in attention Q, K and V', () => {
    const b = new GraphBuilder(emptyGraph('qkv'));
    const h = b.input('h', 'float32', ['batch', 4]);
    for (const name of ['q', 'k', 'v']) {
      const y = b.op('MatMul', [h, b.input(`${name}.weight`, 'float32', [4, 4])]);
      b.output(b.op('Add', [y, b.input(`${name}.bias`, 'float32', [4])], {}, name), 'float32', ['batch', 4]);
    }
    expect(fuseSiblingMatMuls(b.graph)).toBe(1);
    expect(b.graph.nodes.map((n) => n.op)).toEqual(['Concat', 'MatMul', 'Concat', 'Add', 'Split']);
    expect(b.graph.nodes.at(-1)!.outputs).toEqual(['q', 'k', 'v']);
  });

  it('leaves siblings alone when a weight is computed after the first of them', () => {
    const b = new GraphBuilder(emptyGraph('late'));
    const x = b.input('x', 'float32', [2, 3]);
    b.output(b.op('MatMul', [x, b.input('w0', 'float32', [3, 2])]), 'float32', [2, 2]);
    const late = b.op('Mul', [b.input('w1', 'float32', [3, 2]), b.constant(tensor('float32', [], [2]))]);
    b.output(b.op('MatMul', [x, late]), 'float32', [2, 2]);
    expect(fuseSiblingMatMuls(b.graph)).toBe(0);
  });

  it('keeps frozen weights (initializers) and trained ones in separate groups, as LoRA has them', () => {
    const b = new GraphBuilder(emptyGraph('lora'));
    const x = b.input('x', 'float32', ['batch', 4]);
    const frozen = (name: string) => b.initializer(name, tensor('float32', [4, 4], values(16, name.length)));
    for (const w of [
      frozen('q.weight'),
      frozen('kk.weight'),
      b.input('q.a', 'float32', [4, 2]),
      b.input('k.a', 'float32', [4, 2]),
    ])
      b.output(b.op('Relu', [b.op('MatMul', [x, w])]), 'float32', ['batch', 4]);
    expect(fuseSiblingMatMuls(b.graph)).toBe(2);
    expect(b.graph.nodes.filter((n) => n.op === 'Concat').map((n) => n.inputs)).toEqual([
      ['q.weight', 'kk.weight'],
      ['q.a', 'k.a'],
    ]);
  });
});
