// Trajectory parity with PyTorch: Ratchet's trainer and the same training written in PyTorch
// (test/oracle/torch_trajectory.py: torch.nn layers, torch.optim, torch.optim.lr_scheduler) start from identical
// weights and see the identical batches; every step's loss and the final weights must agree to float32 rounding.
// One recipe per case, each of 200+ updates, covering each piece a training run is built from.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Rng } from '../../engine/data/index.ts';
import type { TabularDataset } from '../../engine/data/index.ts';
import { decodeSafetensors, writeSafetensors } from '../../engine/io/safetensors.ts';
import { tensor, type Model, type TensorData } from '../../engine/ir/index.ts';
import { buildEncoder, type EncoderSpec } from '../../engine/models/encoder.ts';
import { modelForMethod, parseMethod, trainableParams } from '../../engine/models/methods.ts';
import { buildMlp } from '../../engine/models/mlp.ts';
import { cloneGraph } from '../../engine/models/graph-edit.ts';
import type { Examples } from '../../engine/train/examples.ts';
import { isRagged, paddedRows } from '../../engine/text/ragged.ts';
import { epochOrder } from '../../engine/train/steps.ts';
import { totalSteps, train, type TrainConfig } from '../../engine/train/trainer.ts';
import { runOracle } from './python.ts';

const python = () => inject('oraclePython');
let dir: string;
beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), 'ratchet-trajectory-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** 3 classes from 8 standard-normal features by a non-linear rule (the radius and the sign of x0·x1). */
function tabular(rows: number, seed: number): TabularDataset {
  const rng = Rng.fromSeed(seed);
  const width = 8;
  const features = new Float32Array(rows * width);
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let j = 0; j < width; j++) {
      // Box–Muller from two uniforms.
      const z = Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
      features[r * width + j] = z;
      norm += z * z;
    }
    const x = features.subarray(r * width, r * width + 2);
    labels[r] = Math.sqrt(norm) < 2.6 ? 0 : x[0] * x[1] > 0 ? 1 : 2;
  }
  return { rows, width, features, labels, labelNames: ['a', 'b', 'c'] };
}

interface Case {
  model: Model;
  trainable: string[];
  data: Examples;
  config: TrainConfig;
  /** What torch_trajectory.py builds. */
  torchModel: Record<string, unknown>;
  teacher?: Float32Array;
}

const recipe = (overrides: Partial<TrainConfig>): TrainConfig => ({
  batchSize: 32,
  maxSteps: 240,
  lr: 1e-3,
  decay: 'cosine',
  optimizer: { kind: 'adamw', weightDecay: 0.01 },
  loss: { kind: 'cross-entropy' },
  seed: 3,
  threads: 1,
  ...overrides,
});

function mlpCase(config: TrainConfig, extra: Partial<Case> = {}): Case {
  const widths = [8, 64, 64, 3];
  const model = buildMlp({ inputs: 8, hidden: [64, 64], classes: 3, seed: 11 });
  return {
    model,
    trainable: trainableParams(model.graph, { kind: 'full' }),
    data: tabular(600, 5),
    config,
    torchModel: { kind: 'mlp', widths },
    ...extra,
  };
}

/** The MLP with a Dropout (no training_mode input) after each ReLU, as an eval-mode export carries it. */
function withDropout(model: Model): Model {
  const graph = cloneGraph(model.graph);
  for (const relu of graph.nodes.filter((n) => n.op === 'Relu')) {
    const out = relu.outputs[0];
    const dropped = `${out}/dropout`;
    for (const n of graph.nodes) n.inputs = n.inputs.map((i) => (i === out ? dropped : i));
    graph.nodes.splice(graph.nodes.indexOf(relu) + 1, 0, {
      op: 'Dropout',
      name: `${relu.name}/dropout`,
      inputs: [out],
      outputs: [dropped],
      attrs: {},
    });
  }
  return { ...model, graph };
}

/** A small encoder on random token rows labelled by whether any id is below 8; `windows` windows of 12 tokens. */
function encoderCase(windows = 1): Case {
  const spec: EncoderSpec = {
    vocab: 40,
    maxLength: 12,
    windows,
    dModel: 16,
    heads: 2,
    layers: 2,
    ffn: 32,
    classes: 2,
    pooling: 'mean',
    seed: 4,
  };
  const model = buildEncoder(spec);
  const rng = Rng.fromSeed(9);
  const rows = 256;
  // Texts fill the windows in order, so a short one leaves its last windows empty (all padding).
  const width = spec.maxLength * windows;
  const ids = new BigInt64Array(rows * width);
  const mask = new Float32Array(rows * width);
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const length = 3 + rng.nextInt(width - 2);
    let sevens = 0;
    for (let t = 0; t < length; t++) {
      const id = 1 + rng.nextInt(spec.vocab - 1);
      ids[r * width + t] = BigInt(id);
      mask[r * width + t] = 1;
      if (id < 8) sevens++;
    }
    labels[r] = sevens > 0 ? 1 : 0;
  }
  const data = {
    rows,
    inputs: {
      input_ids: tensor('int64', [rows, width], ids),
      attention_mask: tensor('float32', [rows, width], mask),
    },
    labels,
    labelNames: ['no', 'yes'],
  };
  return {
    model,
    trainable: trainableParams(model.graph, { kind: 'full' }),
    data,
    config: recipe({ batchSize: 16, maxSteps: 200, warmupSteps: 20 }),
    torchModel: { kind: 'encoder', ...spec },
  };
}

/** Writes the case for torch_trajectory.py, runs both trainers and returns Ratchet's and PyTorch's results. */
async function runBoth(name: string, c: Case) {
  const { config, data } = c;
  const steps = totalSteps(config, data.rows);
  const perEpoch = Math.ceil(data.rows / config.batchSize);
  const epochs = Math.ceil((steps * (config.accumulation ?? 1)) / perEpoch);
  const orders = new Int32Array(epochs * data.rows);
  let rng = Rng.fromSeed(config.seed).state();
  for (let e = 0; e < epochs; e++) {
    const { order, nextRng } = epochOrder(data.rows, rng);
    orders.set(order, e * data.rows);
    rng = nextRng;
  }
  const tensors = new Map<string, TensorData>();
  for (const p of c.trainable) tensors.set(`w:${p}`, c.model.graph.initializers.get(p)!);
  for (const [p, t] of c.model.graph.initializers) if (!c.trainable.includes(p)) tensors.set(`w:${p}`, t);
  if ('inputs' in data)
    for (const [k, t] of Object.entries(data.inputs)) tensors.set(k, isRagged(t) ? paddedRows(t) : t);
  else tensors.set('features', tensor('float32', [data.rows, data.width], data.features));
  tensors.set('labels', tensor('int64', [data.rows], BigInt64Array.from(data.labels, BigInt)));
  if (c.teacher) tensors.set('teacher', tensor('float32', [data.rows, c.teacher.length / data.rows], c.teacher));
  tensors.set('order', tensor('int64', [epochs, data.rows], BigInt64Array.from(orders, BigInt)));
  const caseDir = join(dir, name);
  await rm(caseDir, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(caseDir));
  await writeSafetensors(join(caseDir, 'in.safetensors'), tensors);
  await writeFile(
    join(caseDir, 'config.json'),
    JSON.stringify({ ...config, steps, model: c.torchModel, trainable: c.trainable }),
  );

  const ours: number[] = [];
  const result = await train({
    model: c.model,
    trainable: c.trainable,
    train: data,
    config,
    teacherLogits: c.teacher,
    onProgress: (p) => ours.push(p.loss),
  });
  await runOracle(python(), join(import.meta.dirname, 'torch_trajectory.py'), [caseDir]);
  const torch = decodeSafetensors(new Uint8Array(await readFile(join(caseDir, 'out.safetensors')))).tensors;
  return { ours, theirs: Array.from(torch.get('loss')!.data as Float32Array), model: result.model, torch };
}

/**
 * float32 agreement. Rounding differs between the two (summation order), and a ReLU input within rounding of 0 can
 * take the other side in one run, after which the runs differ by ~1e-4: so each step's loss must agree within 1e-3
 * (relative), the mean gap over all steps within 1e-4, and each final parameter within 5e-3 of its L2 norm (after
 * such a flip the weights it feeds part by up to 1.3e-3 of their norm by the end). A real
 * difference in the maths (a factor in the update, the schedule one step off, a wrong gradient) opens gaps of
 * 5e-3 to 1e-2 and more.
 */
async function expectParity(name: string, c: Case) {
  const { ours, theirs, model, torch } = await runBoth(name, c);
  expect(ours.length).toBeGreaterThanOrEqual(200);
  expect(theirs.length).toBe(ours.length);
  const lossGaps = ours.map((l, i) => Math.abs(l - theirs[i]) / Math.max(1, Math.abs(theirs[i])));
  const worstStep = lossGaps.indexOf(Math.max(...lossGaps));
  const at = `step ${worstStep + 1}: ratchet ${ours[worstStep]}, torch ${theirs[worstStep]}`;
  expect(lossGaps[worstStep], at).toBeLessThan(1e-3);
  expect(lossGaps.reduce((a, b) => a + b) / lossGaps.length, 'mean gap').toBeLessThan(1e-4);
  // The losses fell: the run trained, so agreeing is not agreeing on doing nothing.
  expect(ours.slice(-20).reduce((a, b) => a + b) / 20).toBeLessThan(ours.slice(0, 20).reduce((a, b) => a + b) / 20);
  // An attention key bias adds the same q·b to every key's score, so softmax cancels it: its gradient is zero but
  // for rounding, and AdamW scales that noise up to full steps. It moves at random in both runs, by design.
  for (const p of c.trainable.filter((name) => !name.endsWith('attn.k.bias'))) {
    const mine = model.graph.initializers.get(p)!.data as Float32Array;
    const theirsW = torch.get(`w:${p}`)!.data as Float32Array;
    const start = c.model.graph.initializers.get(p)!.data as Float32Array;
    let [gap, norm, moved] = [0, 0, 0];
    for (let i = 0; i < mine.length; i++) {
      gap += (mine[i] - theirsW[i]) ** 2;
      norm += theirsW[i] ** 2;
      moved += (theirsW[i] - start[i]) ** 2;
    }
    expect(Math.sqrt(gap / norm), `parameter ${p}: relative L2 gap`).toBeLessThan(5e-3);
    // It trained: moved by far more than the gap.
    expect(Math.sqrt(moved / gap), `parameter ${p}: moved / gap`).toBeGreaterThan(100);
  }
}

describe('training matches PyTorch step by step', () => {
  it('MLP, AdamW with weight decay, cosine decay (the CLI recipe)', () => expectParity('adamw', mlpCase(recipe({}))));

  it('MLP, SGD with momentum and weight decay, warm-up then linear decay', () =>
    expectParity(
      'sgd',
      mlpCase(
        recipe({
          lr: 0.05,
          warmupSteps: 30,
          decay: 'linear',
          optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-3 },
        }),
      ),
    ));

  it('MLP, warm-up + cosine, gradient clipping and label smoothing', () =>
    expectParity(
      'clip-smooth',
      mlpCase(recipe({ lr: 3e-3, warmupSteps: 25, clipNorm: 0.5, loss: { kind: 'cross-entropy', smoothing: 0.1 } })),
    ));

  it('MLP, gradient accumulation over 4 micro-batches', () =>
    expectParity('accumulation', mlpCase(recipe({ batchSize: 8, accumulation: 4 }))));

  it('MLP with Dropout layers, in eval mode', () => {
    const c = mlpCase(recipe({}));
    return expectParity('dropout', {
      ...c,
      model: withDropout(c.model),
      torchModel: { ...c.torchModel, dropout: 0.5, eval_mode: true },
    });
  });

  it('LoRA adapters on a frozen MLP', () => {
    const c = mlpCase(recipe({ lr: 5e-3 }));
    const model = modelForMethod(c.model, parseMethod('lora:4,alpha=8'), 7);
    return expectParity('lora', {
      ...c,
      model,
      trainable: trainableParams(model.graph, parseMethod('lora:4,alpha=8')),
      torchModel: { ...c.torchModel, lora: { rank: 4, alpha: 8 } },
    });
  });

  it('the distillation loss (T = 2, alpha = 0.5) against a teacher', () => {
    const c = mlpCase(recipe({ loss: { kind: 'distill', temperature: 2, alpha: 0.5 } }));
    const rng = Rng.fromSeed(2);
    const teacher = Float32Array.from({ length: c.data.rows * 3 }, () => (rng.nextFloat() - 0.5) * 6);
    return expectParity('distill', { ...c, teacher });
  });

  it('the text encoder, AdamW with warm-up', () => expectParity('encoder', encoderCase()));

  it('the text encoder reading a text as 3 windows', () => expectParity('encoder-windows', encoderCase(3)));
});
