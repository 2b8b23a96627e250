import { describe, expect, it } from 'vitest';
import { NoGradientRuleError, addGradients, gradientRules } from '../../engine/autodiff/index.ts';
import { GraphBuilder, float, int64s } from '../../engine/ir/index.ts';
import {
  expectGradientsMatch,
  gradcheck,
  single,
  randomShape,
  rng,
  type CheckInput,
  type GradcheckOptions,
} from './gradcheck.ts';

const f64 = (seed: number): GradcheckOptions => ({ dtype: 'float64', seed });

// A shape that `shape` broadcasts with: some dims set to 1, maybe some leading dims dropped.
function broadcastPartner(random: () => number, shape: number[]): number[] {
  const drop = Math.floor(random() * shape.length);
  return shape.slice(drop).map((d) => (random() < 0.4 ? 1 : d));
}

describe('gradient rules against central finite differences (float64, ORT CPU)', () => {
  for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
    it(`${op} with broadcasting, random shapes`, async () => {
      for (let seed = 1; seed <= 4; seed++) {
        const random = rng(seed);
        const a = randomShape(random, 1 + Math.floor(random() * 3));
        const bShape = broadcastPartner(random, a);
        // Broadcast both ways: swap which side is the smaller one.
        const [sa, sb] = seed % 2 ? [a, bShape] : [bShape, a];
        await expectGradientsMatch(
          [
            { name: 'a', shape: sa },
            { name: 'b', shape: sb, range: op === 'Div' ? [0.5, 2] : undefined },
          ],
          single(op),
          f64(seed),
        );
      }
    });
  }

  const unary: [string, Partial<CheckInput>][] = [
    ['Neg', {}],
    ['Exp', {}],
    ['Log', { range: [0.3, 2] }],
    ['Relu', { awayFromZero: true }],
    ['Sigmoid', { range: [-3, 3] }],
    ['Tanh', { range: [-2, 2] }],
    ['Identity', {}],
  ];
  for (const [op, extra] of unary) {
    it(`${op}, random shapes`, async () => {
      for (let seed = 1; seed <= 2; seed++) {
        const random = rng(seed * 7);
        await expectGradientsMatch(
          [{ name: 'x', shape: randomShape(random, 1 + seed), ...extra }],
          single(op),
          f64(seed),
        );
      }
    });
  }

  for (const op of ['Softmax', 'LogSoftmax']) {
    it(`${op} over a random axis`, async () => {
      for (let seed = 1; seed <= 3; seed++) {
        const random = rng(seed * 11);
        const shape = randomShape(random, 3);
        const axis = Math.floor(random() * 3) - (seed === 3 ? 3 : 0);
        await expectGradientsMatch([{ name: 'x', shape, range: [-2, 2] }], single(op, { axis }), f64(seed));
      }
    });
  }

  for (const op of ['ReduceSum', 'ReduceMean']) {
    it(`${op} over random axes, keepdims 0 and 1`, async () => {
      for (let seed = 1; seed <= 4; seed++) {
        const random = rng(seed * 13);
        const shape = randomShape(random, 3);
        const axes = [0, 1, 2].filter(() => random() < 0.5);
        const keepdims = seed % 2;
        await expectGradientsMatch(
          [{ name: 'x', shape }],
          (b, x) => b.op(op, axes.length ? [x.x, b.constant(int64s(axes))] : [x.x], { keepdims }),
          f64(seed),
        );
      }
    });
  }

  it('MatMul: 2-D, batched activations × weight, and broadcast batches', async () => {
    const cases: [number[], number[]][] = [
      [
        [3, 4],
        [4, 2],
      ],
      [
        [2, 3, 4],
        [4, 5],
      ],
      [
        [2, 1, 3, 4],
        [3, 4, 2],
      ],
    ];
    for (const [i, [a, w]] of cases.entries()) {
      await expectGradientsMatch(
        [
          { name: 'a', shape: a },
          { name: 'b', shape: w },
        ],
        single('MatMul'),
        f64(i + 1),
      );
    }
  });

  it('Gemm: every transA/transB, alpha/beta, and C of each broadcastable shape', async () => {
    const [m, k, n] = [3, 4, 2];
    const cShapes = [[n], [1, n], [m, n], [m, 1], []];
    let seed = 0;
    for (const transA of [0, 1]) {
      for (const transB of [0, 1]) {
        seed++;
        const inputs: CheckInput[] = [
          { name: 'a', shape: transA ? [k, m] : [m, k] },
          { name: 'b', shape: transB ? [n, k] : [k, n] },
          { name: 'c', shape: cShapes[seed % cShapes.length] },
        ];
        const attrs = { transA, transB, alpha: float(seed === 2 ? 1 : 0.7), beta: float(seed === 3 ? 1 : -1.5) };
        await expectGradientsMatch(inputs, single('Gemm', attrs), f64(seed));
      }
    }
  });

  it('Reshape and Transpose move the gradient back', async () => {
    await expectGradientsMatch(
      [{ name: 'x', shape: [2, 3, 4] }],
      (b, x) => b.op('Transpose', [b.op('Reshape', [x.x, b.constant(int64s([4, 0, -1]))])], { perm: [2, 0, 1] }),
      f64(5),
    );
  });

  it('reads a Reshape target computed by a Shape → Gather → Concat chain as a constant', async () => {
    await expectGradientsMatch(
      [{ name: 'x', shape: [3, 2, 2] }],
      (b, x) => {
        const first = b.op('Gather', [b.op('Shape', [x.x]), b.constant(int64s([0]))], { axis: 0 });
        const target = b.op('Concat', [first, b.constant(int64s([-1]))], { axis: 0 });
        return b.op('Tanh', [b.op('Reshape', [x.x, target])]);
      },
      f64(6),
    );
  });

  it('sums gradients of a value that feeds several nodes', async () => {
    await expectGradientsMatch(
      [
        { name: 'x', shape: [2, 3] },
        { name: 'w', shape: [3, 3] },
      ],
      (b, x) => {
        const h = b.op('MatMul', [x.x, x.w]);
        return b.op('Add', [b.op('Mul', [h, h]), b.op('MatMul', [b.op('Sigmoid', [h]), x.w])]);
      },
      f64(7),
    );
  });

  it('a two-layer MLP with softmax cross-entropy', async () => {
    const random = rng(8);
    const labels = Float64Array.from({ length: 4 * 3 }, (_, i) => (i % 3 === Math.floor(random() * 3) ? 1 : 0));
    await expectGradientsMatch(
      [
        { name: 'x', shape: [4, 5] },
        { name: 'w1', shape: [5, 6] },
        { name: 'b1', shape: [6] },
        { name: 'w2', shape: [3, 6] },
        { name: 'b2', shape: [3] },
        { name: 'y', shape: [4, 3], values: { dtype: 'float64', dims: [4, 3], data: labels } },
      ],
      (b, x) => {
        const h = b.op('Relu', [b.op('Add', [b.op('MatMul', [x.x, x.w1]), x.b1])]);
        const logits = b.op('Gemm', [h, x.w2, x.b2], { transB: 1 });
        const nll = b.op('Neg', [
          b.op('ReduceSum', [b.op('Mul', [b.op('LogSoftmax', [logits], { axis: 1 }), x.y]), b.constant(int64s([1]))], {
            keepdims: 0,
          }),
        ]);
        return b.op('ReduceMean', [nll], { keepdims: 1 });
      },
      f64(8),
    );
  });
});

describe('addGradients graph structure', () => {
  it('throws NoGradientRuleError naming the node and op on the path', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2]);
    const loss = b.op('ReduceSum', [b.op('Floor', [b.op('Exp', [x])], {}, 'floored')], { keepdims: 0 });
    const err = (() => {
      try {
        addGradients(b.graph, { loss, wrt: [x] });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(NoGradientRuleError);
    expect((err as NoGradientRuleError).op).toBe('Floor');
    expect((err as Error).message).toMatch(/'Floor'.*node 'Floor'/);
  });

  it('reports an op with neither shape nor gradient rule on the path instead of treating it as a constant', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 1, 4, 4]);
    const w = b.input('w', 'float32', [1, 1, 3, 3]);
    const loss = b.op('ReduceSum', [b.op('Conv', [x, w])], { keepdims: 0 });
    expect(() => addGradients(b.graph, { loss, wrt: [w] })).toThrow(NoGradientRuleError);
  });

  it('ignores ops without a rule that are off the path, and adds backward nodes only on the path', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 3]);
    const w = b.input('w', 'float32', [3, 3]);
    const frozen = b.op('Floor', [w]); // depends on w, not on x: no rule needed, since only x is wrt
    const h = b.op('MatMul', [x, frozen]);
    b.op('Exp', [h], {}, 'unused'); // depends on x but not on the loss
    const loss = b.op('ReduceSum', [h], { keepdims: 0 });
    const before = b.graph.nodes.length;
    const grads = addGradients(b.graph, { loss, wrt: [x] });
    const backward = b.graph.nodes.slice(before);
    expect(backward.some((n) => n.inputs.includes('unused'))).toBe(false);
    expect(backward.map((n) => n.op).sort()).toEqual(['Expand', 'Gemm']);
    expect(grads.get(x)).toBe(backward.at(-1)!.outputs[0]);
  });

  it('builds MLP gradients from Gemm/MatMul with folded transposes: no Transpose, no Identity', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['batch', 8]);
    const w1 = b.input('w1', 'float32', [8, 16]);
    const w2 = b.input('w2', 'float32', [4, 16]);
    const h = b.op('Relu', [b.op('MatMul', [x, w1])]);
    const logits = b.op('Gemm', [h, w2], { transB: 1 });
    const loss = b.op('ReduceMean', [b.op('ReduceSum', [b.op('LogSoftmax', [logits])], { keepdims: 0 })], {
      keepdims: 0,
    });
    const before = b.graph.nodes.length;
    addGradients(b.graph, { loss, wrt: [w1, w2] });
    const ops = b.graph.nodes.slice(before).map((n) => n.op);
    expect(ops).not.toContain('Transpose');
    expect(ops).not.toContain('Identity');
    expect(ops.filter((o) => o === 'Gemm' || o === 'MatMul')).toHaveLength(3); // dW2, dH, dW1 (no dX)
  });

  it('gradcheck catches a wrong rule (the checks can fail)', async () => {
    const original = gradientRules.Exp;
    gradientRules.Exp = (c) => [c.dy]; // wrong: drops the factor exp(x)
    try {
      const { mismatches } = await gradcheck([{ name: 'x', shape: [3] }], single('Exp'), f64(9));
      expect(mismatches.length).toBeGreaterThan(0);
    } finally {
      gradientRules.Exp = original;
    }
  });

  it('gives zeros for a wrt value the loss does not depend on, and rejects unknown names', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float64', [2]);
    const unused = b.input('unused', 'float64', [3]);
    const loss = b.op('ReduceSum', [x], { keepdims: 0 });
    const grads = addGradients(b.graph, { loss, wrt: [x, unused] });
    const node = b.graph.nodes.find((n) => n.outputs[0] === grads.get(unused));
    expect(node?.op).toBe('ConstantOfShape');
    expect(() => addGradients(b.graph, { loss, wrt: ['nope'] })).toThrow(/'nope' is not an input/);
    expect(() => addGradients(b.graph, { loss, wrt: [x], opset: 12 })).toThrow(/needs opset 13 or later.*is 12/);
    expect(() => addGradients(b.graph, { loss: 'nope', wrt: [x] })).toThrow(/loss 'nope'/);
    // A Reshape to a run-time shape has a gradient rule, but no static shape.
    const reshaped = b.op('Reshape', [x, b.input('target', 'int64', [1])]);
    expect(() => addGradients(b.graph, { loss: reshaped, wrt: [x] })).toThrow(
      /shape of loss '.*' could not be inferred/,
    );
  });
});
