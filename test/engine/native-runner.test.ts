// The native runner (engine/runtime/native): its sessions compute what onnxruntime-node's compute, and training
// with the engine's own AdamW kernel gives bit for bit the weights the chain of ONNX ops gives.
import * as ort from 'onnxruntime-node';
import { afterEach, describe, expect, it } from 'vitest';
import { Rng, type TabularDataset } from '../../engine/data/index.ts';
import { GraphBuilder, RATCHET_DOMAIN, createModel, emptyGraph, type Model } from '../../engine/ir/index.ts';
import { buildMlp } from '../../engine/models/mlp.ts';
import { trainableParams } from '../../engine/models/methods.ts';
import { NativeSession } from '../../engine/runtime/native/runner.ts';
import { encodeModel } from '../../engine/onnx/codec.ts';
import { createSession, nativeRunner } from '../../engine/runtime/index.ts';
import { compileTraining } from '../../engine/train/compile.ts';
import { train, type TrainConfig } from '../../engine/train/trainer.ts';

afterEach(() => {
  delete process.env.RATCHET_NATIVE;
});

/** A graph over float32, int64 and bool inputs and outputs: Gather by index, Where by mask, a Cast. */
function mixedModel(): Model {
  const b = new GraphBuilder(emptyGraph('mixed'));
  const x = b.input('x', 'float32', [4, 3]);
  const ix = b.input('ix', 'int64', [2]);
  const mask = b.input('mask', 'bool', [4, 3]);
  b.output(b.op('Gather', [x, ix], { axis: 0 }, 'rows'), 'float32', [2, 3]);
  b.output(b.op('Where', [mask, x, b.op('Neg', [x])], {}, 'signed'), 'float32', [4, 3]);
  b.output(b.op('Cast', [x], { to: 7 }, 'truncated'), 'int64', [4, 3]);
  b.output(b.op('Not', [mask], {}, 'unmasked'), 'bool', [4, 3]);
  return createModel(b.graph);
}

const mixedFeeds = () => ({
  x: new ort.Tensor(
    'float32',
    Float32Array.from({ length: 12 }, (_, i) => (i - 5.5) * 1.25),
    [4, 3],
  ),
  ix: new ort.Tensor('int64', BigInt64Array.of(3n, 1n), [2]),
  mask: new ort.Tensor(
    'bool',
    Uint8Array.from({ length: 12 }, (_, i) => (i % 3) & 1),
    [4, 3],
  ),
});

describe('native runner sessions', () => {
  it('builds on this machine and links the ONNX Runtime onnxruntime-node ships', async () => {
    const runner = await nativeRunner();
    expect(runner?.ortVersion).toBe(
      (await import('onnxruntime-node/package.json', { with: { type: 'json' } })).default.version,
    );
  });

  it('gives the outputs an onnxruntime-node session gives, every dtype and shape', async () => {
    const { session: reference } = await createSession(mixedModel());
    const native = await NativeSession.open(encodeModel(mixedModel()), 2);
    const [want, got] = await Promise.all([reference.run(mixedFeeds()), native.run(mixedFeeds())]);
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const name of Object.keys(want)) {
      expect([got[name].type, got[name].dims], name).toEqual([want[name].type, want[name].dims]);
      expect(Array.from(got[name].data as ArrayLike<unknown>), name).toEqual(
        Array.from(want[name].data as ArrayLike<unknown>),
      );
    }
    expect(Object.keys(await native.run(mixedFeeds(), ['unmasked']))).toEqual(['unmasked']);
    await Promise.all([reference.release(), native.release()]);
  });

  it('rejects malformed feeds with a message naming the input, and runs on a released session', async () => {
    const native = await NativeSession.open(encodeModel(mixedModel()), 1);
    const feeds = mixedFeeds();
    // onnxruntime-node's Tensor refuses such a pair itself; the runner checks what it is handed all the same.
    const misshapen = { type: 'float32', dims: [3, 3], data: new Float32Array(12) } as unknown as ort.Tensor;
    await expect(native.run({ ...feeds, x: misshapen })).rejects.toThrow(/input 'x' has 12 values for its dims' 9/);
    await expect(native.run({ x: feeds.x, ix: feeds.ix })).rejects.toThrow(/mask/);
    await expect(native.run({ ...feeds, ix: new ort.Tensor('int32', Int32Array.of(1, 2), [2]) })).rejects.toThrow(
      /Actual: \(tensor\(int32\)\) , expected: \(tensor\(int64\)\)/,
    );
    await native.release();
    await expect(native.run(feeds)).rejects.toThrow(/not an open session/);
  });
});

function randomRows(rows: number, width: number, classes: number): TabularDataset {
  const rng = Rng.fromSeed(3);
  return {
    rows,
    width,
    features: Float32Array.from({ length: rows * width }, () => rng.nextFloat() * 2 - 1),
    labels: Int32Array.from({ length: rows }, () => rng.nextInt(classes)),
    labelNames: Array.from({ length: classes }, (_, c) => `c${c}`),
  };
}

// 64 × 1100 weights: over the packing limit, so one parameter trains on its own beside the packed vector, and its
// 70,400 values span several of the kernel's parallel blocks.
const mlp = () => buildMlp({ inputs: 64, hidden: [1100], classes: 3, seed: 5 });

async function trainedWeights(config: Partial<TrainConfig>, stepsPerRun?: number) {
  const model = mlp();
  const result = await train({
    model,
    trainable: trainableParams(model.graph, { kind: 'full' }),
    train: randomRows(96, 64, 3),
    config: {
      batchSize: 16,
      maxSteps: 12,
      lr: 0.01,
      optimizer: { kind: 'adamw' },
      loss: { kind: 'cross-entropy' },
      seed: 2,
      ...config,
    },
    stepsPerRun,
  });
  return result.model.graph.initializers;
}

describe("AdamW as the engine's own kernel", () => {
  it('is one node a trainee in place of the chain, and only when asked', () => {
    const model = mlp();
    const spec = {
      trainable: trainableParams(model.graph, { kind: 'full' }),
      classes: 3,
      loss: { kind: 'cross-entropy' as const },
      optimizer: { kind: 'adamw' as const },
    };
    const own = compileTraining(model, { ...spec, ownKernels: true });
    const plain = compileTraining(model, spec);
    const ops = (m: Model) => m.graph.nodes.map((n) => `${n.domain ?? ''}:${n.op}`);
    expect(ops(own.step).filter((op) => op === `${RATCHET_DOMAIN}:AdamW`)).toHaveLength(own.trainees.length);
    // One Sqrt is left: the bias correction's, on a scalar shared by every update.
    const roots = (m: Model) => ops(m).filter((op) => op === ':Sqrt').length;
    expect([roots(own.step), roots(plain.step)]).toEqual([1, 1 + own.trainees.length]);
    expect(own.step.extraOpsets?.[RATCHET_DOMAIN]).toBe(1);
    expect(ops(plain.step).filter((op) => op.startsWith(RATCHET_DOMAIN))).toEqual([]);
    expect(plain.step.extraOpsets?.[RATCHET_DOMAIN]).toBeUndefined();
    // The eval graph, like every exported model, stays standard ONNX.
    expect(own.eval.extraOpsets?.[RATCHET_DOMAIN]).toBeUndefined();
  });

  it.each([
    ['weight decay 0.01, several updates a run', { optimizer: { kind: 'adamw' as const } }, undefined],
    ['no weight decay, one run a step', { optimizer: { kind: 'adamw' as const, weightDecay: 0 } }, 1],
  ])('trains to the same bits as the ONNX ops: %s', async (_, config, stepsPerRun) => {
    expect(await nativeRunner()).toBeDefined();
    const own = await trainedWeights(config, stepsPerRun);
    process.env.RATCHET_NATIVE = 'off';
    const plain = await trainedWeights(config, stepsPerRun);
    const start = mlp().graph.initializers;
    for (const [name, t] of plain) {
      // The weights moved, and both ways moved them to the same float32 bits.
      expect(t.data, name).not.toEqual(start.get(name)!.data);
      expect(Buffer.from(own.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true);
    }
  });
});
