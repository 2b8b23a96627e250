// Mixed precision (TrainConfig.precision 'fp16'): float16 compute with float32 master weights, and dynamic loss
// scaling. Held-out accuracy within 1 point of the float32 run on the same task and seed, for an MLP and an encoder;
// an overflowing update skipped with the scale halved; checkpoints that resume bit-identically.
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stratifiedSplit } from '../../engine/data/index.ts';
import { inferKnown, type Model } from '../../engine/ir/index.ts';
import { evaluate } from '../../engine/metrics/index.ts';
import { buildEncoder } from '../../engine/models/encoder.ts';
import { buildMlp } from '../../engine/models/mlp.ts';
import { trainableParams } from '../../engine/models/methods.ts';
import { encodeDataset, parseTextJsonl, pickTexts } from '../../engine/text/dataset.ts';
import { textEncoder } from '../../engine/text/encode.ts';
import { learnWordPiece } from '../../engine/text/wordpiece.ts';
import { checkpointFiles, loadCheckpoint, saveCheckpoint } from '../../engine/train/checkpoint.ts';
import { compileTraining } from '../../engine/train/compile.ts';
import type { Examples } from '../../engine/train/examples.ts';
import { train, type Progress, type TrainConfig } from '../../engine/train/trainer.ts';
import { spamAssassin, textJsonl } from '../../infra/demo/spam-assassin.ts';
import { circles } from '../helpers/circles.ts';

const config = (overrides: Partial<TrainConfig> = {}): TrainConfig => ({
  batchSize: 32,
  lr: 0.02,
  optimizer: { kind: 'adamw' },
  loss: { kind: 'cross-entropy' },
  seed: 3,
  ...overrides,
});

const floatParams = (model: Model) =>
  [...model.graph.initializers].filter(([, t]) => t.dtype === 'float32' && t.dims.length > 0).map(([name]) => name);

/** Held-out accuracy of `model` trained at each precision with everything else the same. */
async function accuracies(model: Model, data: Examples, heldOut: Examples, overrides: Partial<TrainConfig>) {
  const result: Record<string, number> = {};
  for (const precision of ['fp32', 'fp16'] as const) {
    const run = await train({
      model,
      trainable: floatParams(model),
      train: data,
      eval: heldOut,
      config: config({ ...overrides, precision }),
    });
    result[precision] = evaluate(run.evals.at(-1)!.logits, heldOut.labels, heldOut.labelNames).accuracy;
  }
  return result;
}

describe('mixed precision', () => {
  let spam: { model: Model; train: Examples; heldOut: Examples };
  beforeAll(() => {
    const texts = parseTextJsonl(textJsonl(spamAssassin(['easy-ham-1', 'spam-1'])));
    const split = stratifiedSplit(texts.labels, 0.2, 0);
    const trainTexts = pickTexts(texts, split.train);
    const tokenizer = learnWordPiece(trainTexts.texts, { vocabSize: 2000, maxLength: 64 });
    const encoder = textEncoder(tokenizer.spec);
    const arch = { maxLength: 64, dModel: 32, heads: 2, layers: 1, ffn: 64, classes: 2, pooling: 'mean' as const };
    spam = {
      model: buildEncoder({ ...arch, vocab: tokenizer.vocabSize, seed: 0 }),
      train: encodeDataset(trainTexts, encoder) as Examples,
      heldOut: encodeDataset(pickTexts(texts, split.heldOut), encoder) as Examples,
    };
  });

  it('computes products in float16 and softmax, LayerNorm and the loss in float32, on float32 master weights', () => {
    const trainable = floatParams(spam.model);
    const compiled = compileTraining(spam.model, {
      trainable,
      classes: 2,
      loss: { kind: 'cross-entropy' },
      optimizer: { kind: 'adamw' },
      precision: 'fp16',
    });
    const { graph } = compiled.step;
    const known = inferKnown(graph);
    const typeOf = (v: string) => known.get(v)?.dtype;
    const forwardOps = (op: string) => graph.nodes.filter((n) => n.op === op && !n.name.includes('grad'));
    const products = [...forwardOps('MatMul'), ...forwardOps('Gemm')];
    expect(products.length).toBeGreaterThan(4);
    // Each forward product reads float16 (the backward's, appended after, read float16 gradients too).
    const firstBackward = graph.nodes.findIndex((n) => n.inputs.some((v) => v.endsWith('_grad_seed')));
    for (const n of graph.nodes.slice(0, firstBackward).filter((n) => n.op === 'MatMul' || n.op === 'Gemm')) {
      expect(n.inputs.map(typeOf), n.name).toEqual(n.inputs.map(() => 'float16'));
    }
    for (const op of ['Softmax', 'LayerNormalization', 'LogSoftmax']) {
      const nodes = graph.nodes.slice(0, firstBackward).filter((n) => n.op === op);
      expect(nodes.length, op).toBeGreaterThan(0);
      for (const n of nodes) expect(typeOf(n.inputs[0]), n.name).toBe('float32');
    }
    // The trainees, their optimiser slots and every output stay float32 (but the overflow flag).
    for (const v of graph.inputs.filter((v) => compiled.initial.has(v.name))) expect(v.dtype).toBe('float32');
    expect(graph.outputs.filter((o) => o.dtype !== 'float32').map((o) => o.name)).toEqual(['grads_finite']);
    expect(graph.inputs.map((v) => v.name)).toContain('loss_scale');
    // The eval graph (and so the exported model) is the float32 one.
    expect(compiled.eval.graph.nodes.some((n) => n.op === 'Cast' && n.attrs.to?.value === 10)).toBe(false);
  });

  it('an MLP scores within 1 point of float32 on concentric circles', async () => {
    const model = buildMlp({ inputs: 2, hidden: [32, 32], classes: 2, seed: 3 });
    const acc = await accuracies(model, circles(400, 1), circles(200, 2), { epochs: 40 });
    console.log(`MLP on circles, held-out accuracy: fp32 ${acc.fp32}, fp16 ${acc.fp16}`);
    expect(acc.fp32).toBeGreaterThanOrEqual(0.95);
    expect(Math.abs(acc.fp16 - acc.fp32)).toBeLessThanOrEqual(0.01);
  });

  it('an encoder scores within 1 point of float32 on SpamAssassin emails', async () => {
    const acc = await accuracies(spam.model, spam.train, spam.heldOut, { maxSteps: 60, evalEvery: 60, lr: 3e-3 });
    console.log(`encoder on SpamAssassin, held-out accuracy: fp32 ${acc.fp32}, fp16 ${acc.fp16}`);
    expect(acc.fp32).toBeGreaterThanOrEqual(0.95);
    expect(Math.abs(acc.fp16 - acc.fp32)).toBeLessThanOrEqual(0.01);
  }, 60_000);

  it('skips an update whose gradients overflow, halves the scale, and doubles it after N finite updates', async () => {
    const model = buildMlp({ inputs: 2, hidden: [8], classes: 2, seed: 1 });
    const progress: Progress[] = [];
    const opts = { model, trainable: trainableParams(model.graph, { kind: 'full' }), train: circles(64, 1) };
    // 2^40 overflows float16 (max 65504) at the first gradient: the logits' gradient alone is ~2^40 / batch.
    const one = await train({ ...opts, config: config({ maxSteps: 1, precision: 'fp16', lossScale: 2 ** 40 }) });
    expect(one.lossScale).toEqual({ scale: 2 ** 39, goodSteps: 0, skipped: 1 });
    for (const name of opts.trainable) {
      expect(one.model.graph.initializers.get(name)!.data).toEqual(model.graph.initializers.get(name)!.data);
    }
    const run = await train({
      ...opts,
      config: config({ maxSteps: 40, precision: 'fp16', lossScale: 2 ** 40, lossScaleGrowth: 5 }),
      onProgress: (p) => progress.push(p),
    });
    // The first updates overflow in a row, each halving the scale, until the gradients fit float16.
    const leading = progress.findIndex((p) => !p.skipped);
    expect(leading).toBeGreaterThan(10);
    // From then on: halved on every overflow, doubled after every 5 finite updates in a row.
    let scale = 2 ** 40;
    let good = 0;
    let doublings = 0;
    for (const p of progress) {
      if (p.skipped) [scale, good] = [scale / 2, 0];
      else if (++good === 5) [scale, good, doublings] = [scale * 2, 0, doublings + 1];
      expect(p.lossScale, `step ${p.step}`).toBe(scale);
    }
    expect(doublings).toBeGreaterThan(0);
    const skipped = progress.filter((p) => p.skipped).length;
    expect(run.lossScale).toEqual({ scale, goodSteps: good, skipped });
    const moved = opts.trainable.some(
      (name) => run.model.graph.initializers.get(name)!.data.join() !== model.graph.initializers.get(name)!.data.join(),
    );
    expect(moved).toBe(true);
  });

  it('resumes from a checkpoint to bit-identical weights and loss scale', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ratchet-fp16-'));
    const model = buildMlp({ inputs: 2, hidden: [16], classes: 2, seed: 5 });
    // A scale that overflows at first and grows every 3 updates: the checkpoint at step 10 holds a scale in motion.
    const cfg = config({
      maxSteps: 20,
      checkpointEvery: 10,
      precision: 'fp16',
      lossScale: 2 ** 24,
      lossScaleGrowth: 3,
    });
    const opts = {
      model,
      trainable: trainableParams(model.graph, { kind: 'full' }),
      train: circles(200, 1),
      config: cfg,
    };
    const save = async (c: Parameters<typeof checkpointFiles>[0]) => {
      await saveCheckpoint(dir, c.state.step, checkpointFiles(c));
    };
    const whole = await train({ ...opts, checkpoints: { run: {}, save } });
    expect(await readdir(dir)).toEqual(['step-00000010', 'step-00000020']);
    const checkpoint = await loadCheckpoint(join(dir, 'step-00000010'));
    expect(checkpoint.state.lossScale!.skipped).toBeGreaterThan(0);
    const resumed = await train({ ...opts, resume: checkpoint });
    expect(resumed.lossScale).toEqual(whole.lossScale);
    for (const name of opts.trainable) {
      expect(resumed.model.graph.initializers.get(name)!.data).toEqual(whole.model.graph.initializers.get(name)!.data);
    }
  });
});
