import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { parseTabularJsonl, stratifiedSplit, takeRows, type TabularDataset } from '../../engine/data/index.ts';
import { irisJsonl } from '../helpers/iris.ts';
import { GraphBuilder, createModel, emptyGraph, inferKnown, tensor, type Model } from '../../engine/ir/index.ts';
import { accuracy, argmaxRows } from '../../engine/metrics/index.ts';
import { FEATURES, LOGITS } from '../../engine/models/layout.ts';
import { adapterNames, injectLora, loraA, loraB, mergeLora } from '../../engine/models/lora.ts';
import { formatMethod, modelForMethod, parseMethod, trainableParams } from '../../engine/models/methods.ts';
import { buildMlp } from '../../engine/models/mlp.ts';
import { createSession } from '../../engine/runtime/index.ts';
import { train } from '../../engine/train/trainer.ts';
import { compileTraining } from '../../engine/train/compile.ts';
import { rng } from './gradcheck.ts';

function subset(data: TabularDataset, rows: Int32Array): TabularDataset {
  const { features, labels } = takeRows(data, rows);
  return { ...data, rows: rows.length, features, labels };
}

const iris = parseTabularJsonl(irisJsonl(), { source: 'iris' });
const split = stratifiedSplit(iris.labels, 0.3, 7);
const irisTrain = subset(iris, split.train);
const irisHeldOut = subset(iris, split.heldOut);

async function logitsOf(model: Model, data: TabularDataset): Promise<Float32Array> {
  const { session } = await createSession(model);
  const out = await session.run({ [FEATURES]: new ort.Tensor('float32', data.features, [data.rows, data.width]) });
  await session.release();
  return out[LOGITS].data as Float32Array;
}

/**
 * A classifier whose layers are MatMul(x, W[in, out]) + b: the layout LoRA must transpose its update for. A 1-D b
 * (as in BERT) is the bias LoRA folds into its path; a [1, out] one stays an Add of its own.
 */
function matmulClassifier(seed: number, biasRank: 1 | 2 = 2): Model {
  const random = rng(seed);
  const b = new GraphBuilder(emptyGraph('matmul'));
  const weight = (rows: number, cols: number) =>
    tensor(
      'float32',
      [rows, cols],
      Array.from({ length: rows * cols }, () => random() - 0.5),
    );
  const bias = (n: number) => (biasRank === 1 ? { ...weight(1, n), dims: [n] } : weight(1, n));
  let x = b.input(FEATURES, 'float32', ['batch', 4]);
  x = b.op('Relu', [
    b.op('Add', [b.op('MatMul', [x, b.initializer('l1.w', weight(4, 8))]), b.initializer('l1.b', bias(8))]),
  ]);
  b.op('Add', [b.op('MatMul', [x, b.initializer('l2.w', weight(8, 3))]), b.initializer('l2.b', bias(3))], {}, LOGITS);
  b.output(LOGITS, 'float32', ['batch', 3]);
  return createModel(b.graph);
}

const bytesOf = (model: Model, name: string) => {
  const t = model.graph.initializers.get(name)!;
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
};

async function trainLora(model: Model, method: string, epochs = 40) {
  const m = parseMethod(method);
  const adapted = modelForMethod(model, m, 3);
  const result = await train({
    model: adapted,
    trainable: trainableParams(adapted.graph, m),
    train: irisTrain,
    eval: irisHeldOut,
    config: { batchSize: 16, epochs, lr: 0.02, optimizer: { kind: 'adamw' }, loss: { kind: 'cross-entropy' }, seed: 1 },
  });
  return { adapted, trained: result.model };
}

describe('LoRA', () => {
  it('starts exactly at the base model (B = 0) and trains only the adapters', async () => {
    const base = buildMlp({ inputs: 4, hidden: [16], classes: 3, seed: 5 });
    const adapted = injectLora(base, { rank: 2, alpha: 4, target: 'weight', seed: 1 });
    expect(adapterNames(adapted.graph).sort()).toEqual(
      [loraA('0.weight'), loraB('0.weight'), loraA('2.weight'), loraB('2.weight')].sort(),
    );
    expect(adapted.graph.initializers.get(loraA('0.weight'))!.dims).toEqual([2, 4]); // r × in
    expect(adapted.graph.initializers.get(loraB('0.weight'))!.dims).toEqual([16, 2]); // out × r
    expect(await logitsOf(adapted, irisHeldOut)).toEqual(await logitsOf(base, irisHeldOut));
    expect(trainableParams(adapted.graph, parseMethod('lora:2'))).toEqual(adapterNames(adapted.graph));
  });

  it('leaves every base weight byte-identical while the adapters learn the task', async () => {
    const base = buildMlp({ inputs: 4, hidden: [16], classes: 3, seed: 5 });
    const before = accuracy(argmaxRows(await logitsOf(base, irisHeldOut), 3), irisHeldOut.labels);
    const { adapted, trained } = await trainLora(base, 'lora:2');
    for (const name of base.graph.initializers.keys()) {
      expect(bytesOf(trained, name).equals(bytesOf(base, name)), name).toBe(true);
    }
    for (const name of adapterNames(adapted.graph)) {
      expect(bytesOf(trained, name).equals(bytesOf(adapted, name)), name).toBe(false);
    }
    const after = accuracy(argmaxRows(await logitsOf(trained, irisHeldOut), 3), irisHeldOut.labels);
    expect(before).toBeLessThan(0.7);
    expect(after).toBeGreaterThanOrEqual(0.9);
  });

  it('with `head`, trains the head in full and adapts only the other layers', async () => {
    const base = buildMlp({ inputs: 4, hidden: [16], classes: 3, seed: 5 });
    const method = parseMethod('lora:2,head');
    const adapted = modelForMethod(base, method, 3);
    expect(adapterNames(adapted.graph).sort()).toEqual([loraA('0.weight'), loraB('0.weight')]);
    expect(trainableParams(adapted.graph, method)).toEqual([
      loraA('0.weight'),
      loraB('0.weight'),
      '2.weight',
      '2.bias',
    ]);
  });

  for (const [layout, build] of [
    ['Gemm transB=1 ([out, in])', () => buildMlp({ inputs: 4, hidden: [8], classes: 3, seed: 2 })],
    ['MatMul ([in, out])', () => matmulClassifier(4)],
    ['MatMul ([in, out]) with a 1-D bias, folded into the path', () => matmulClassifier(4, 1)],
  ] as const) {
    it(`merges into plain weights that give the unmerged outputs within 1e-5: ${layout}`, async () => {
      const base = build();
      const { trained } = await trainLora(base, 'lora:3,alpha=6', 15);
      const merged = mergeLora(trained);
      expect(adapterNames(merged.graph)).toEqual([]);
      expect([...merged.graph.initializers.keys()].sort()).toEqual([...base.graph.initializers.keys()].sort());
      expect(merged.graph.nodes.map((n) => n.op)).toEqual(base.graph.nodes.map((n) => n.op));
      const [unmergedOut, mergedOut, baseOut] = await Promise.all(
        [trained, merged, base].map((m) => logitsOf(m, iris)),
      );
      let worst = 0;
      for (let i = 0; i < mergedOut.length; i++) worst = Math.max(worst, Math.abs(mergedOut[i] - unmergedOut[i]));
      expect(worst).toBeLessThanOrEqual(1e-5);
      // The merge did fold a real update in: the merged model is not the base model.
      expect(Array.from(mergedOut)).not.toEqual(Array.from(baseOut));
    });
  }

  for (const [layout, build] of [
    ['Gemm transB=1 ([out, in])', () => buildMlp({ inputs: 4, hidden: [8], classes: 3, seed: 2 })],
    ['MatMul ([in, out])', () => matmulClassifier(4)],
    ['MatMul ([in, out]) with a 1-D bias', () => matmulClassifier(4, 1)],
  ] as const) {
    it(`trains through rank-r products only, never forming a full-size weight or its gradient: ${layout}`, () => {
      const adapted = modelForMethod(build(), parseMethod('lora:2'), 3);
      const trainable = trainableParams(adapted.graph, parseMethod('lora:2'));
      const { graph } = compileTraining(adapted, {
        trainable,
        classes: 3,
        loss: { kind: 'cross-entropy' },
        optimizer: { kind: 'adamw' },
      }).step;
      const known = inferKnown(graph);
      const frozen = [...adapted.graph.initializers.entries()].filter(([n]) =>
        adapted.graph.initializers.has(loraA(n)),
      );
      expect(frozen.length).toBe(2);
      const products = graph.nodes.filter((n) => n.op === 'MatMul' || n.op === 'Gemm');
      for (const [name, w] of frozen) {
        for (const n of products) expect(known.get(n.outputs[0])?.shape, `${n.name} vs ${name}`).not.toEqual(w.dims);
      }
    });
  }

  it('parses lora[:RANK][,alpha=A][,head][,target=REGEX] and names bad input', () => {
    expect(parseMethod('lora')).toEqual({ kind: 'lora', rank: 8, alpha: 8, target: '.', head: false });
    const m = parseMethod('lora:4,alpha=16,head,target=^(0|2)\\.weight$');
    expect(m).toEqual({ kind: 'lora', rank: 4, alpha: 16, target: '^(0|2)\\.weight$', head: true });
    expect(parseMethod(formatMethod(m))).toEqual(m);
    expect(() => parseMethod('lora:0')).toThrow(/rank must be a positive integer, got '0'/);
    expect(() => parseMethod('lora:x')).toThrow(/rank must be a positive integer/);
    expect(() => parseMethod('lora:4,alpha=-1')).toThrow(/alpha must be a number > 0/);
    expect(() => parseMethod('lora:4,dropout=0.1')).toThrow(/unknown option 'dropout=0.1'/);
    expect(() => parseMethod('lora:4,target=(')).toThrow(/not a valid regular expression/);
    const base = buildMlp({ inputs: 4, hidden: [8], classes: 3, seed: 2 });
    expect(() => modelForMethod(base, parseMethod('lora:2,target=^nothing$'), 1)).toThrow(
      /no MatMul\/Gemm weight matches the target pattern/,
    );
  });
});
