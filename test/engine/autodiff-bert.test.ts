// Every op on the gradient path of the BERT exports (test/fixtures/onnx/bert-*.onnx, written by torch.onnx.export)
// checked against central finite differences, in the form and at the opset the exports use it: embedding lookups,
// LayerNorm decomposed (opset 14) and whole (17), self-attention with a padding mask, the GELU feed-forward, and
// mean pooling. The last test holds the list of checked ops to what the exports actually differentiate.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { float, inferKnown, int64s, isFloat, scalar, tensor } from '../../engine/ir/index.ts';
import { loadModel } from '../../engine/onnx/load.ts';
import { expectGradientsMatch, type GradcheckOptions } from './gradcheck.ts';

const f64 = (seed: number, opset: number): GradcheckOptions => ({ dtype: 'float64', seed, opset });
const ints = (dims: number[], values: number[]) => tensor('int64', dims, values);

// Batch 2, sequence 3, hidden 4 in 2 heads of 2; the second text is 2 tokens and one pad.
const MASK = [1, 1, 1, 1, 1, 0];

interface Check {
  name: string;
  ops: string[];
  run: () => Promise<void>;
}

const checks: Check[] = [
  {
    name: 'embeddings: word, position and token-type lookups summed (one-hot product at 14, ScatterND at 17)',
    ops: ['Gather', 'Add'],
    run: async () => {
      for (const opset of [14, 17]) {
        await expectGradientsMatch(
          [
            { name: 'word', shape: [6, 4] },
            { name: 'position', shape: [5, 4] },
            { name: 'type', shape: [2, 4] },
            { name: 'ids', shape: [2, 3], values: ints([2, 3], [2, 5, 5, 2, 1, 0]) },
            { name: 'positions', shape: [1, 3], values: ints([1, 3], [0, 1, 2]) },
            { name: 'types', shape: [2, 3], values: ints([2, 3], [0, 0, 0, 0, 0, 0]) },
          ],
          (b, x) => {
            const words = b.op('Add', [b.op('Gather', [x.word, x.ids]), b.op('Gather', [x.type, x.types])]);
            return b.op('Add', [words, b.op('Gather', [x.position, x.positions])]);
          },
          f64(opset, opset),
        );
      }
    },
  },
  {
    name: 'LayerNorm as the opset-14 export decomposes it',
    ops: ['ReduceMean', 'Sub', 'Pow', 'Add', 'Sqrt', 'Div', 'Mul'],
    run: () =>
      expectGradientsMatch(
        [
          { name: 'x', shape: [2, 3, 4] },
          { name: 'scale', shape: [4] },
          { name: 'bias', shape: [4] },
        ],
        (b, x) => {
          const centred = b.op('Sub', [x.x, b.op('ReduceMean', [x.x], { axes: [-1] })]);
          const variance = b.op('ReduceMean', [b.op('Pow', [centred, b.constant(scalar('float64', 2))])], {
            axes: [-1],
          });
          const std = b.op('Sqrt', [b.op('Add', [variance, b.constant(scalar('float64', 1e-12))])]);
          return b.op('Add', [b.op('Mul', [b.op('Div', [centred, std]), x.scale]), x.bias]);
        },
        f64(3, 14),
      ),
  },
  {
    name: 'LayerNormalization at opset 17 (its gradient takes ReduceMean axes as an attribute before 18)',
    ops: ['LayerNormalization'],
    run: () =>
      expectGradientsMatch(
        [
          { name: 'x', shape: [2, 3, 4] },
          { name: 'scale', shape: [4] },
          { name: 'bias', shape: [4] },
        ],
        (b, x) => b.op('LayerNormalization', [x.x, x.scale, x.bias], { axis: -1, epsilon: float(1e-12) }),
        f64(4, 17),
      ),
  },
  {
    name: 'self-attention: heads split and joined, scaled scores, additive padding mask, NaN-guarded softmax',
    ops: ['MatMul', 'Add', 'Reshape', 'Transpose', 'Div', 'Where', 'Softmax', 'Mul'],
    run: () =>
      expectGradientsMatch(
        [
          { name: 'x', shape: [2, 3, 4] },
          { name: 'wq', shape: [4, 4] },
          { name: 'bq', shape: [4] },
          { name: 'wk', shape: [4, 4] },
          { name: 'wv', shape: [4, 4] },
        ],
        (b, x) => {
          const heads = (v: string, perm: number[]) =>
            b.op('Transpose', [b.op('Reshape', [v, b.constant(int64s([2, 3, 2, 2]))])], { perm });
          const q = heads(b.op('Add', [b.op('MatMul', [x.x, x.wq]), x.bq]), [0, 2, 1, 3]);
          const kT = heads(b.op('MatMul', [x.x, x.wk]), [0, 2, 3, 1]);
          const v = heads(b.op('MatMul', [x.x, x.wv]), [0, 2, 1, 3]);
          const scores = b.op('Div', [b.op('MatMul', [q, kT]), b.constant(scalar('float64', Math.SQRT2))]);
          // The mask as transformers builds it: keep [batch, 1, 1, key] → 0 or the float minimum.
          const keep = b.constant(tensor('bool', [2, 1, 1, 3], MASK.map(Boolean)));
          const additive = b.op('Where', [
            keep,
            b.constant(tensor('float64', [1], [0])),
            b.constant(tensor('float64', [1], [-1e30])),
          ]);
          const p = b.op('Softmax', [b.op('Add', [scores, additive])], { axis: -1 });
          const guarded = b.op('Where', [b.op('IsNaN', [p]), b.constant(tensor('float64', [1], [0])), p]);
          const context = b.op('Transpose', [b.op('MatMul', [guarded, v])], { perm: [0, 2, 1, 3] });
          const joined = b.op('Reshape', [context, b.constant(int64s([2, 3, 4]))]);
          return b.op('Mul', [joined, joined]);
        },
        f64(5, 17),
      ),
  },
  {
    name: 'feed-forward with GELU in the Div/Erf/Add/Mul form, and the residual (float32: ORT has no float64 Erf)',
    ops: ['MatMul', 'Add', 'Div', 'Erf', 'Mul'],
    run: () =>
      expectGradientsMatch(
        [
          { name: 'x', shape: [2, 3, 4] },
          { name: 'w1', shape: [4, 6] },
          { name: 'b1', shape: [6] },
          { name: 'w2', shape: [6, 4] },
        ],
        (b, x) => {
          const c = (v: number) => b.constant(scalar('float32', v));
          const h = b.op('Add', [b.op('MatMul', [x.x, x.w1]), x.b1]);
          const erf = b.op('Erf', [b.op('Div', [h, c(Math.SQRT2)])]);
          const gelu = b.op('Mul', [b.op('Mul', [h, b.op('Add', [erf, c(1)])]), c(0.5)]);
          return b.op('Add', [b.op('MatMul', [gelu, x.w2]), x.x]);
        },
        { dtype: 'float32', seed: 6, opset: 17 },
      ),
  },
  {
    name: 'mean pooling over the tokens the mask keeps',
    ops: ['Mul', 'ReduceSum', 'Div'],
    run: () =>
      expectGradientsMatch(
        [{ name: 'hidden', shape: [2, 3, 4] }],
        (b, x) => {
          const mask = b.constant(tensor('float64', [2, 3, 1], MASK));
          const axis = b.constant(int64s([1]));
          const summed = b.op('ReduceSum', [b.op('Mul', [x.hidden, mask]), axis], { keepdims: 0 });
          const count = b.op('Clip', [
            b.op('ReduceSum', [mask, axis], { keepdims: 0 }),
            b.constant(scalar('float64', 1e-9)),
          ]);
          return b.op('Div', [summed, count]);
        },
        f64(7, 17),
      ),
  },
];

const exports = ['bert-opset14.onnx', 'bert-opset17.onnx', 'bert-dynamo-opset18.onnx'];

/** The ops of the nodes through which a parameter (a float initializer of rank ≥ 1) reaches a float value. */
function differentiatedOps(file: string): Set<string> {
  const { graph } = loadModel(fileURLToPath(new URL(`../fixtures/onnx/${file}`, import.meta.url)));
  const known = inferKnown(graph);
  const floats = (v: string) => isFloat(known.get(v)!.dtype);
  const reached = new Set([...graph.initializers].filter(([v, t]) => floats(v) && t.dims.length > 0).map(([v]) => v));
  const ops = new Set<string>();
  for (const n of graph.nodes) {
    if (!n.inputs.some((i) => reached.has(i))) continue;
    const outs = n.outputs.filter(floats);
    for (const o of outs) reached.add(o);
    if (outs.length > 0) ops.add(n.op);
  }
  return ops;
}

describe('gradient rules of the ops BERT exports differentiate, against finite differences', () => {
  for (const check of checks) it(check.name, check.run);

  it('covers every op on the gradient path of the TorchScript and dynamo exports', () => {
    const checked = new Set(checks.flatMap((c) => c.ops));
    for (const file of exports) {
      const ops = [...differentiatedOps(file)];
      expect(ops.length).toBeGreaterThan(10);
      expect(
        ops.filter((op) => !checked.has(op)),
        file,
      ).toEqual([]);
    }
  });
});
