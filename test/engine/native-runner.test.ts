// The native runner (engine/runtime/native): its sessions compute what onnxruntime-node's compute, and training
// with the engine's own AdamW kernel gives bit for bit the weights the chain of ONNX ops gives.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Rng, type TabularDataset } from '../../engine/data/index.ts';
import {
  GraphBuilder,
  RATCHET_DOMAIN,
  createModel,
  emptyGraph,
  scalar,
  tensor,
  type Model,
} from '../../engine/ir/index.ts';
import { buildEncoder } from '../../engine/models/encoder.ts';
import { buildMlp } from '../../engine/models/mlp.ts';
import { trainableParams } from '../../engine/models/methods.ts';
import { cacheDir } from '../../engine/io/cache-dir.ts';
import { HEADERS_MODULE, buildRunner, runnerPath } from '../../engine/runtime/native/build.ts';
import { NativeSession } from '../../engine/runtime/native/runner.ts';
import { encodeModel } from '../../engine/onnx/codec.ts';
import { createSession, nativeRunner, toOrt } from '../../engine/runtime/index.ts';
import { ATTENTION_MASK, INPUT_IDS } from '../../engine/text/encode.ts';
import { compileTraining } from '../../engine/train/compile.ts';
import { asRowBias, rowBiasAdds } from '../../engine/train/row-bias.ts';
import { train, type TrainConfig } from '../../engine/train/trainer.ts';
import { runTrainJob } from '../../engine/train/job.ts';
import { readBaseFile } from '../../engine/models/bert-base.ts';
import { greetingsJsonl, tinyBertDir, tinyBertJob } from '../helpers/tiny-bert.ts';

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

  it('removes builds unused for 30 days when it makes one, and marks a build used when it finds it', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'ratchet-native-'));
    const headers = `onnxruntime-headers-${HEADERS_MODULE.version}`;
    cpSync(join(cacheDir(), 'native', headers), join(cache, 'native', headers), { recursive: true });
    const day = 24 * 3600;
    const aged = (name: string, days: number) => {
      const dir = join(cache, 'native', name);
      mkdirSync(dir, { recursive: true });
      const when = Date.now() / 1000 - days * day;
      utimesSync(dir, when, when);
      return dir;
    };
    const [old, recent] = [aged('runner-old', 31), aged('runner-recent', 29)];
    const env = { ...process.env, RATCHET_CACHE_DIR: cache };
    const built = await buildRunner(() => {}, env);
    expect([existsSync(built), existsSync(old), existsSync(recent)]).toEqual([true, false, true]);
    const when = Date.now() / 1000 - 40 * day;
    utimesSync(dirname(built), when, when);
    expect(await buildRunner(() => {}, env)).toBe(built);
    expect(Date.now() - statSync(dirname(built)).mtimeMs).toBeLessThan(day * 1000);
    rmSync(cache, { recursive: true, force: true });
  });

  it('says what failed when the compiler fails, so that training falls back to ONNX ops', async () => {
    // A cache of its own, with the headers the real one has, so the build runs (and fails) afresh.
    const cache = mkdtempSync(join(tmpdir(), 'ratchet-native-'));
    const headers = `onnxruntime-headers-${HEADERS_MODULE.version}`;
    cpSync(join(cacheDir(), 'native', headers), join(cache, 'native', headers), { recursive: true });
    const env = { ...process.env, RATCHET_CACHE_DIR: cache, CC: 'false' };
    await expect(buildRunner(() => {}, env)).rejects.toThrow(/^false failed/);
    expect(readdirSync(join(cache, 'native')).filter((f) => f.startsWith('runner-'))).toHaveLength(1);
    expect(existsSync(runnerPath(env))).toBe(false);
    rmSync(cache, { recursive: true, force: true });
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

  it.each([
    ['native runner', async (m: Model) => NativeSession.open(encodeModel(m), 2)],
    ['onnxruntime-node', async (m: Model) => (await createSession(m)).session],
  ])('%s: writes outputs into the tensors given for them and hands those back', async (_, open) => {
    const session = await open(mixedModel());
    const feeds = mixedFeeds();
    const signed = new ort.Tensor('float32', new Float32Array(12).fill(7), [4, 3]);
    const truncated = new ort.Tensor('int64', new BigInt64Array(12), [4, 3]);
    const out = await session.run(feeds, ['signed', 'rows', 'truncated'], { signed, truncated });
    expect(out.signed).toBe(signed);
    expect(out.truncated).toBe(truncated);
    const x = feeds.x.data as Float32Array;
    const mask = feeds.mask.data as Uint8Array;
    expect(Array.from(signed.data as Float32Array)).toEqual(Array.from(x, (v, i) => (mask[i] ? v : -v)));
    expect(Array.from(truncated.data as BigInt64Array)).toEqual(Array.from(x, (v) => BigInt(Math.trunc(v))));
    expect(Array.from(out.rows.data as Float32Array)).toEqual([...x.slice(9, 12), ...x.slice(3, 6)]);
    // A buffer of another shape is refused, not written past.
    const small = new ort.Tensor('float32', new Float32Array(6), [2, 3]);
    await expect(session.run(feeds, ['signed'], { signed: small })).rejects.toThrow(/shape|dimension/i);
    expect(Array.from(small.data as Float32Array)).toEqual(new Array(6).fill(0));
    await session.release();
  });

  it('flushes denormal floats to zero in its runs, where onnxruntime-node keeps them', async () => {
    const b = new GraphBuilder(emptyGraph('scale'));
    b.output(
      b.op('Mul', [b.input('x', 'float32', [2]), b.constant(scalar('float32', 1), 'one')], {}, 'y'),
      'float32',
      [2],
    );
    const model = createModel(b.graph);
    const x = new ort.Tensor('float32', Float32Array.of(1e-40, 1e-30), [2]);
    const { session: reference } = await createSession(model);
    const native = await NativeSession.open(encodeModel(model), 2);
    expect(Array.from((await reference.run({ x })).y.data as Float32Array)).toEqual([
      Math.fround(1e-40),
      Math.fround(1e-30),
    ]);
    expect(Array.from((await native.run({ x })).y.data as Float32Array)).toEqual([0, Math.fround(1e-30)]);
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
  it("is one node a trainee in place of the chain (and Relu's gradient one node), and only when asked", () => {
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
    // Relu's gradient too: one kernel a layer where the ONNX rule has Greater, Cast and Mul.
    expect(ops(own.step).filter((op) => op === `${RATCHET_DOMAIN}:ReluGrad`)).toHaveLength(1);
    expect(ops(own.step)).not.toContain(':Greater');
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

describe('SplitHeads and MergeHeads', () => {
  // x [2, 3, 12] as 2 parts of 3 heads of 2: part 0 as [2, 3, 3, 2], part 1 transposed as [2, 3, 2, 3].
  const x = Float32Array.from({ length: 72 }, (_, i) => i * 0.5 - 7);
  const bias = Float32Array.from({ length: 12 }, (_, i) => 0.1 * i);

  function headsModel(withBias: boolean, heads: number, transposed: number[]): Uint8Array {
    const b = new GraphBuilder(emptyGraph('heads'));
    const inputs = [b.input('x', 'float32', [2, 3, 12])];
    if (withBias) inputs.push(b.input('bias', 'float32', [12]));
    const layout = { heads, transposed };
    const parts = b.domainOp(RATCHET_DOMAIN, 'SplitHeads', inputs, 2, layout, 'part');
    b.output(parts[0], 'float32', [2, 3, 3, 2]);
    b.output(parts[1], 'float32', [2, 3, 2, 3]);
    b.output(b.domainOp(RATCHET_DOMAIN, 'MergeHeads', parts, 1, layout, 'merged')[0], 'float32', [2, 3, 12]);
    return encodeModel(createModel(b.graph, { extraOpsets: { [RATCHET_DOMAIN]: 1 } }));
  }

  it('moves the values Reshape and Transpose move, adds the bias as Add does, and puts them back', async () => {
    const session = await NativeSession.open(headsModel(true, 3, [0, 1]), 2);
    const out = await session.run({
      x: new ort.Tensor('float32', x, [2, 3, 12]),
      bias: new ort.Tensor('float32', bias, [12]),
    });
    const at = (r: number, l: number, c: number) => Math.fround(x[(r * 3 + l) * 12 + c] + bias[c]);
    // part 0, [r, h, l, j] = column h·2 + j; part 1, [r, h, j, l] = column 6 + h·2 + j
    const [p0, p1] = [out.part_0.data as Float32Array, out.part_1.data as Float32Array];
    for (let r = 0; r < 2; r++)
      for (let h = 0; h < 3; h++)
        for (let l = 0; l < 3; l++)
          for (let j = 0; j < 2; j++) {
            expect(p0[((r * 3 + h) * 3 + l) * 2 + j]).toBe(at(r, l, h * 2 + j));
            expect(p1[((r * 3 + h) * 2 + j) * 3 + l]).toBe(at(r, l, 6 + h * 2 + j));
          }
    expect(Array.from(out.merged.data as Float32Array)).toEqual(
      Array.from({ length: 72 }, (_, i) => Math.fround(x[i] + bias[i % 12])),
    );
    await session.release();
  });

  it('refuses a layout that does not fit its input, with a message', async () => {
    const feeds = { x: new ort.Tensor('float32', x, [2, 3, 12]) };
    const wide = await NativeSession.open(headsModel(false, 5, [0, 1]), 1);
    await expect(wide.run(feeds)).rejects.toThrow(/not parts × heads × head size/);
    await wide.release();
    await expect(NativeSession.open(headsModel(false, 3, [0, 2]), 1)).rejects.toThrow(
      /each part's `transposed` is 0 or 1/,
    );
  });
});

describe("an encoder's step with the engine's own kernels", () => {
  // Texts of random lengths over a small vocabulary, so that many ids repeat within the batch: rows that take
  // several additions, in an order the sum depends on.
  const spec = {
    vocab: 50,
    maxLength: 16,
    // Heads of 12: attention's scale 1/√12 is inexact, so where the scale's product is rounded shows in the bits.
    dModel: 24,
    heads: 2,
    layers: 1,
    ffn: 64,
    classes: 2,
    pooling: 'mean' as const,
    seed: 4,
  };
  const batch = 8;
  const rng = Rng.fromSeed(9);
  const ids = new BigInt64Array(batch * spec.maxLength);
  const mask = new Float32Array(batch * spec.maxLength);
  for (let r = 0; r < batch; r++) {
    const length = 4 + rng.nextInt(spec.maxLength - 4);
    for (let t = 0; t < length; t++) {
      ids[r * spec.maxLength + t] = BigInt(rng.nextInt(spec.vocab));
      mask[r * spec.maxLength + t] = 1;
    }
  }
  const feeds = {
    [INPUT_IDS]: tensor('int64', [batch, spec.maxLength], ids),
    [ATTENTION_MASK]: tensor('float32', [batch, spec.maxLength], mask),
    targets: tensor(
      'int64',
      [batch],
      Array.from({ length: batch }, (_, i) => BigInt(i % 2)),
    ),
    step: scalar('float32', 1),
    lr: scalar('float32', 1e-2),
  };

  /** Every output of one train step of the encoder, compiled with or without the engine's own kernels. */
  async function stepOutputs(ownKernels: boolean, threads: number) {
    const model = buildEncoder(spec);
    const compiled = compileTraining(model, {
      trainable: trainableParams(model.graph, { kind: 'full' }),
      classes: 2,
      loss: { kind: 'cross-entropy' },
      optimizer: { kind: 'adamw' },
      threads,
      ownKernels,
    });
    const { nodes, outputs } = compiled.step.graph;
    const ops = nodes.map((n) => (n.op === 'LayerNormGradX' && n.inputs.length === 7 ? 'LayerNormGradX+Add' : n.op));
    // Nothing computed for nothing: ORT runs a node whose outputs no one reads all the same.
    const read = new Set([...nodes.flatMap((n) => n.inputs), ...outputs.map((o) => o.name)]);
    expect(nodes.filter((n) => !n.outputs.some((o) => read.has(o))).map((n) => n.name)).toEqual([]);
    const { session } = await createSession(compiled.step, { threads });
    const inputs = Object.fromEntries([...Object.entries(feeds), ...compiled.initial].map(([k, t]) => [k, toOrt(t)]));
    const out = await session.run(inputs);
    await session.release();
    return { ops, out };
  }

  it.each([2, 1])('gives the bits of the ONNX ops (ScatterND on one thread): %i threads', async (threads) => {
    const own = await stepOutputs(true, threads);
    const plain = await stepOutputs(false, threads);
    // The step's own kernels, each checked here against the ONNX ops it replaces.
    const kernels = [
      'AdamW',
      'ScatterAddRows',
      'ScaleSquare',
      'GeluGrad',
      'SoftmaxGrad',
      'LayerNormGradX',
      'AddRowBias',
    ];
    expect(new Set(own.ops.filter((op) => kernels.includes(op)))).toEqual(new Set(kernels));
    // The residual stream's gradient sums taken into LayerNorm's gradient kernel: one a layer's two norms after the
    // first (the embedding's norm and each block's second one are read by the next residual Add).
    expect(own.ops.filter((op) => op === 'LayerNormGradX+Add')).toHaveLength(2 * spec.layers);
    // Q, K and V into heads and the context out, a layer, and the same moves backwards; only the weights' 2-D
    // transposes stay.
    for (const op of ['SplitHeads', 'MergeHeads'])
      expect(own.ops.filter((o) => o === op)).toHaveLength(2 * spec.layers);
    expect(own.ops.filter((op) => op === 'Transpose').length).toBeLessThan(
      plain.ops.filter((op) => op === 'Transpose').length - 6 * spec.layers,
    );
    // Attention's two batched products a layer, each one's two gradients, and the mean pooling's token gradient take
    // their transposes as FusedMatMul flags.
    expect(own.ops.filter((op) => op === 'FusedMatMul')).toHaveLength(4 * spec.layers + 1);
    expect(plain.ops.filter((op) => op === 'FusedMatMul')).toEqual([]);
    expect(own.ops.filter((op) => /^Scatter(ND|Elements)$/.test(op))).toEqual([]);
    expect(plain.ops).toContain(threads === 1 ? 'ScatterND' : 'ScatterElements');
    expect(Object.keys(own.out).sort()).toEqual(Object.keys(plain.out).sort());
    for (const [name, t] of Object.entries(plain.out)) {
      const bytes = (x: ort.Tensor) =>
        Buffer.from(
          (x.data as Float32Array).buffer,
          (x.data as Float32Array).byteOffset,
          (x.data as Float32Array).byteLength,
        );
      expect(bytes(own.out[name]).equals(bytes(t)), name).toBe(true);
    }
  });

  it('refuses an index out of range with a message, not a crash', async () => {
    const b = new GraphBuilder(emptyGraph('scatter'));
    const index = b.input('index', 'int64', [3]);
    const updates = b.input('updates', 'float32', [3, 2]);
    const [sum] = b.domainOp(
      RATCHET_DOMAIN,
      'ScatterAddRows',
      [index, updates, b.constant(tensor('int64', [2], [4n, 2n]))],
      1,
    );
    b.output(sum, 'float32', [4, 2]);
    const session = await NativeSession.open(
      encodeModel(createModel(b.graph, { extraOpsets: { [RATCHET_DOMAIN]: 1 } })),
      2,
    );
    const run = (at: bigint[]) =>
      session.run({
        index: new ort.Tensor('int64', BigInt64Array.from(at), [3]),
        updates: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [3, 2]),
      });
    // Negative indices count from the end, as Gather's do.
    expect(Array.from((await run([1n, -1n, 1n])).scatteraddrows.data as Float32Array)).toEqual([
      0, 0, 6, 8, 0, 0, 3, 4,
    ]);
    await expect(run([0n, 4n, 1n])).rejects.toThrow(/ScatterAddRows: an index out of range/);
    await session.release();
  });
});

describe('Adds that become AddRowBias', () => {
  it('takes a bias over rows, or one row per group of rows, and leaves other Adds', () => {
    const b = new GraphBuilder(emptyGraph('adds'));
    const x = b.input('x', 'float32', ['batch', 4, 8, 16]);
    const sums = {
      layerBias: b.op('Add', [x, b.input('bias', 'float32', [16])]),
      keyMask: b.op('Add', [b.input('mask', 'float32', ['batch', 1, 1, 16]), x]),
      equal: b.op('Add', [x, x]),
      // [8, 16] over [batch, 4, 8, 16] repeats along the batch and heads, not along rows in groups.
      positions: b.op('Add', [x, b.input('positions', 'float32', [8, 16])]),
    };
    const adds = rowBiasAdds(b.graph);
    expect(adds).toHaveLength(2);
    asRowBias(adds);
    const node = (out: string) => b.graph.nodes.find((n) => n.outputs[0] === out)!;
    expect([node(sums.layerBias).op, node(sums.layerBias).inputs]).toEqual(['AddRowBias', [x, 'bias']]);
    // The bias goes second, whichever side it was on.
    expect([node(sums.keyMask).op, node(sums.keyMask).inputs]).toEqual(['AddRowBias', [x, 'mask']]);
    expect([node(sums.equal).op, node(sums.positions).op]).toEqual(['Add', 'Add']);
  });
});

describe('a pretrained BERT fine-tuned with dropout', () => {
  // The tiny BERT of test/helpers/tiny-bert.ts, whose dropout (0.1: a scale of 1/0.9, inexact) multiplies attention's
  // probabilities before their product, where ORT moves the scale into the product only when it knows the shapes
  // around it: the engine's own kernels tell it theirs (kernels.c, like_input0 and shape_of_heads).
  const dir = tinyBertDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const inputs = { train: greetingsJsonl(160, 1), eval: greetingsJsonl(64, 2), base: readBaseFile(dir) };

  it.each(['full', 'lora:4'])('gives the bytes of the ONNX ops: %s', async (method) => {
    const own = await runTrainJob(tinyBertJob(method, 20), inputs);
    process.env.RATCHET_NATIVE = 'off';
    const plain = await runTrainJob(tinyBertJob(method, 20), inputs);
    expect(Buffer.from(own.model!).equals(Buffer.from(plain.model!))).toBe(true);
  });
});
