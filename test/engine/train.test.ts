import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTabularJsonl, stratifiedSplit, takeRows, type TabularDataset } from '../../engine/data/index.ts';
import { circles } from '../helpers/circles.ts';
import { irisJsonl } from '../helpers/iris.ts';
import { accuracy, argmaxRows } from '../../engine/metrics/index.ts';
import { buildMlp } from '../../engine/models/mlp.ts';
import { parseMethod, trainableParams } from '../../engine/models/methods.ts';
import { checkpointFiles, loadCheckpoint, saveCheckpoint, type Checkpoint } from '../../engine/train/checkpoint.ts';
import { train, type TrainConfig } from '../../engine/train/trainer.ts';
import type { Model } from '../../engine/ir/index.ts';
import { InvalidInput } from '../../engine/invalid-input.ts';

function subset(data: TabularDataset, rows: Int32Array): TabularDataset {
  const { features, labels } = takeRows(data, rows);
  return { ...data, rows: rows.length, features, labels };
}

function heldOutAccuracy(logits: Float32Array, data: TabularDataset): number {
  return accuracy(argmaxRows(logits, data.labelNames.length), data.labels);
}

const iris = parseTabularJsonl(irisJsonl(), { source: 'iris' });
const irisSplit = stratifiedSplit(iris.labels, 0.3, 7);
const irisTrain = subset(iris, irisSplit.train);
const irisHeldOut = subset(iris, irisSplit.heldOut);

const adam = (overrides: Partial<TrainConfig> = {}): TrainConfig => ({
  batchSize: 16,
  lr: 0.01,
  optimizer: { kind: 'adamw' },
  loss: { kind: 'cross-entropy' },
  seed: 1,
  ...overrides,
});

const full = (model: Model) => trainableParams(model.graph, { kind: 'full' });
/** Checkpoints saved as `ratchet train` saves them, a directory per step under `dir`. */
const saveIn = (dir: string) => async (c: Checkpoint) => {
  await saveCheckpoint(dir, c.state.step, checkpointFiles(c));
};

describe('trainer', () => {
  it('trains an MLP from scratch to >= 95 % held-out accuracy on Iris', async () => {
    const model = buildMlp({ inputs: 4, hidden: [16], classes: 3, seed: 1 });
    const result = await train({
      model,
      trainable: full(model),
      train: irisTrain,
      eval: irisHeldOut,
      config: adam({ epochs: 60 }),
    });
    expect(result.stopped).toBe('completed');
    expect(result.ep).toBe('cpu');
    const last = result.evals.at(-1)!;
    expect(last.step).toBe(result.step);
    expect(heldOutAccuracy(last.logits, irisHeldOut)).toBeGreaterThanOrEqual(0.95);
  });

  it('learns concentric circles, which a linear model cannot', async () => {
    const [data, heldOut] = [circles(400, 1), circles(200, 2)];
    const run = async (hidden: number[]) => {
      const model = buildMlp({ inputs: 2, hidden, classes: 2, seed: 3 });
      const result = await train({
        model,
        trainable: full(model),
        train: data,
        eval: heldOut,
        config: adam({ epochs: 40, batchSize: 32, lr: 0.02 }),
      });
      return heldOutAccuracy(result.evals.at(-1)!.logits, heldOut);
    };
    expect(await run([32, 32])).toBeGreaterThanOrEqual(0.95);
    // Balanced classes: a linear boundary through rings does no better than chance, give or take.
    expect(await run([])).toBeLessThan(0.7);
  });

  it('accumulating two micro-batches makes the same update as one batch of twice the size', async () => {
    const model = buildMlp({ inputs: 4, hidden: [8], classes: 3, seed: 2 });
    const sgd = { optimizer: { kind: 'sgd' as const, momentum: 0 }, maxSteps: 1, lr: 0.5 };
    const one = await train({
      model,
      trainable: full(model),
      train: irisTrain,
      config: adam({ ...sgd, batchSize: 32 }),
    });
    const two = await train({
      model,
      trainable: full(model),
      train: irisTrain,
      config: adam({ ...sgd, batchSize: 16, accumulation: 2 }),
    });
    const before = model.graph.initializers.get('0.weight')!.data as Float32Array;
    const a = one.model.graph.initializers.get('0.weight')!.data as Float32Array;
    const b = two.model.graph.initializers.get('0.weight')!.data as Float32Array;
    expect(a).not.toEqual(before);
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 5));
  });

  it('also trains with BCE-with-logits and MSE on one-hot targets', async () => {
    const run = async (loss: TrainConfig['loss']) => {
      const model = buildMlp({ inputs: 4, hidden: [16], classes: 3, seed: 1 });
      const result = await train({
        model,
        trainable: full(model),
        train: irisTrain,
        eval: irisHeldOut,
        config: adam({ epochs: 60, loss }),
      });
      const losses = result.evals.map((e) => e.loss);
      return { accuracy: heldOutAccuracy(result.evals.at(-1)!.logits, irisHeldOut), losses };
    };
    // Held-out accuracy, not the fall of the loss after the first epoch: that fall measured how badly the
    // initialisation started (the He-uniform one began BCE at 2.1 and MSE at 40.6), not how far the loss learns.
    for (const loss of [{ kind: 'bce-with-logits' }, { kind: 'mse' }] as const) {
      const { accuracy, losses } = await run(loss);
      expect(accuracy, loss.kind).toBeGreaterThanOrEqual(0.9);
      expect(losses.at(-1)!, loss.kind).toBeLessThan(0.5 * losses[0]);
    }
  });

  it('clips the global gradient norm: one plain SGD step moves the weights by at most lr · maxNorm', async () => {
    const model = buildMlp({ inputs: 4, hidden: [8], classes: 3, seed: 3 });
    const trainable = full(model);
    const step = (clipNorm?: number) =>
      train({
        model,
        trainable,
        train: irisTrain,
        config: adam({ maxSteps: 1, lr: 1, clipNorm, decay: 'constant', optimizer: { kind: 'sgd', momentum: 0 } }),
      });
    const moved = (result: Awaited<ReturnType<typeof step>>) => {
      let squares = 0;
      for (const name of trainable) {
        const before = model.graph.initializers.get(name)!.data as Float32Array;
        const after = result.model.graph.initializers.get(name)!.data as Float32Array;
        before.forEach((v, i) => (squares += (after[i] - v) ** 2));
      }
      return Math.sqrt(squares);
    };
    // Unclipped, the step is the whole gradient, far longer than the clip; clipped, it has the clip's length.
    expect(moved(await step())).toBeGreaterThan(0.1);
    expect(moved(await step(0.01))).toBeCloseTo(0.01, 4);
  });

  it('trains only what the method selects; frozen weights stay bit-identical', async () => {
    const model = buildMlp({ inputs: 4, hidden: [8, 8], classes: 3, seed: 4 });
    const changed = async (method: string) => {
      const trainable = trainableParams(model.graph, parseMethod(method));
      const result = await train({ model, trainable, train: irisTrain, config: adam({ maxSteps: 5 }) });
      const names = [...model.graph.initializers.keys()];
      return names.filter((n) => {
        const before = model.graph.initializers.get(n)!.data;
        const after = result.model.graph.initializers.get(n)!.data;
        return Buffer.compare(Buffer.from(before.buffer), Buffer.from(after.buffer)) !== 0;
      });
    };
    expect(await changed('head')).toEqual(['4.weight', '4.bias']);
    expect(await changed('bitfit')).toEqual(['0.bias', '2.bias', '4.bias']);
    expect(await changed('freeze:^0\\.')).toEqual(['2.weight', '2.bias', '4.weight', '4.bias']);
  });

  // Parameters train packed into one vector, except large ones (over 65,536 values) which train on their own: a
  // 4×16,400 first layer is one of those, its 16,400×3 second layer is packed with the biases.
  it.each([
    ['every parameter packed', [8]],
    ['a large parameter on its own beside the packed ones', [16_400]],
  ])('resumes from a checkpoint to bit-identical weights: %s', async (_, hidden) => {
    const dir = await mkdtemp(join(tmpdir(), 'ratchet-train-'));
    const model = buildMlp({ inputs: 4, hidden, classes: 3, seed: 5 });
    // 7 steps per epoch of 105 rows: the checkpoint at step 10 falls mid-epoch.
    const config = adam({ maxSteps: 20, checkpointEvery: 10, evalEvery: 5 });
    const opts = { model, trainable: full(model), train: irisTrain, eval: irisHeldOut, config };
    const whole = await train({ ...opts, checkpoints: { run: {}, save: saveIn(dir) } });
    expect(await readdir(dir)).toEqual(['step-00000010', 'step-00000020']);
    const checkpoint = await loadCheckpoint(join(dir, 'step-00000010'));
    // Checkpoints name every parameter and its Adam moments' sums, however the step graph packs them.
    expect([...checkpoint.tensors.keys()].sort()).toEqual(
      opts.trainable.flatMap((p) => [p, `m_sum:${p}`, `v_sum:${p}`]).sort(),
    );
    const resumed = await train({ ...opts, resume: checkpoint });
    expect(resumed.step).toBe(20);
    for (const name of opts.trainable) {
      expect(resumed.model.graph.initializers.get(name)!.data).toEqual(whole.model.graph.initializers.get(name)!.data);
    }
  });

  // Before AdamW kept its moments' sums (m_sum = m/(1-β1), v_sum = v/(1-β2)) checkpoints held m and v: a job
  // checkpointed by the earlier version must resume under this one, to the same weights within float32 rounding.
  it('resumes a checkpoint that holds AdamW moments in the earlier layout (m and v)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ratchet-train-'));
    const model = buildMlp({ inputs: 4, hidden: [8], classes: 3, seed: 5 });
    const config = adam({ maxSteps: 20, checkpointEvery: 10, optimizer: { kind: 'adamw', beta1: 0.8, beta2: 0.99 } });
    const opts = { model, trainable: full(model), train: irisTrain, config };
    const whole = await train({ ...opts, checkpoints: { run: {}, save: saveIn(dir) } });
    const checkpoint = await loadCheckpoint(join(dir, 'step-00000010'));
    const earlier = new Map(checkpoint.tensors);
    for (const [slot, moment, factor] of [
      ['m_sum', 'm', 0.2],
      ['v_sum', 'v', 0.01],
    ] as const) {
      for (const p of opts.trainable) {
        const t = earlier.get(`${slot}:${p}`)!;
        earlier.delete(`${slot}:${p}`);
        earlier.set(`${moment}:${p}`, { ...t, data: (t.data as Float32Array).map((x) => x * factor) });
      }
    }
    const resumed = await train({ ...opts, resume: { ...checkpoint, tensors: earlier } });
    expect(resumed.step).toBe(20);
    for (const name of opts.trainable) {
      const want = whole.model.graph.initializers.get(name)!.data as Float32Array;
      const got = resumed.model.graph.initializers.get(name)!.data as Float32Array;
      got.forEach((x, i) => expect(Math.abs(x - want[i])).toBeLessThan(1e-5 * (1 + Math.abs(want[i]))));
    }
  });

  it('stops at the end of the run in progress when aborted, and checkpoints there', async () => {
    const model = buildMlp({ inputs: 4, hidden: [8], classes: 3, seed: 6 });
    for (const stepsPerRun of [1, undefined]) {
      const dir = await mkdtemp(join(tmpdir(), 'ratchet-abort-'));
      const controller = new AbortController();
      const result = await train({
        model,
        trainable: full(model),
        train: irisTrain,
        config: adam({ maxSteps: 100 }),
        checkpoints: { run: {}, save: saveIn(dir) },
        signal: controller.signal,
        stepsPerRun,
        onProgress: (p) => p.step === 3 && controller.abort(),
      });
      expect(result.stopped).toBe('aborted');
      // One step a run stops at the step itself; chunks at the end of the chunk that made it (at most 16 steps).
      if (stepsPerRun === 1) expect(result.step).toBe(3);
      expect(result.step).toBeGreaterThanOrEqual(3);
      expect(result.step).toBeLessThan(3 + 16);
      const checkpoint = await loadCheckpoint(join(dir, `step-${String(result.step).padStart(8, '0')}`));
      expect(checkpoint.state.step).toBe(result.step);
    }
  });

  it('an abort just after a periodic checkpoint writes that step once, not twice', async () => {
    const model = buildMlp({ inputs: 4, hidden: [8], classes: 3, seed: 6 });
    const controller = new AbortController();
    const written: number[] = [];
    const result = await train({
      model,
      trainable: full(model),
      train: irisTrain,
      config: adam({ maxSteps: 100, checkpointEvery: 2 }),
      checkpoints: {
        run: {},
        save: ({ state: { step } }) => {
          written.push(step);
          if (step === 4) controller.abort();
        },
      },
      signal: controller.signal,
    });
    expect(result).toMatchObject({ stopped: 'aborted', step: 4 });
    expect(written).toEqual([2, 4]);
  });

  it('stops early when the eval loss stops improving', async () => {
    const model = buildMlp({ inputs: 4, hidden: [8], classes: 3, seed: 7 });
    // A learning rate this large makes plain SGD diverge, so the eval loss soon rises and stays up.
    const result = await train({
      model,
      trainable: full(model),
      train: irisTrain,
      eval: irisHeldOut,
      config: adam({ maxSteps: 200, evalEvery: 1, patience: 3, lr: 50, optimizer: { kind: 'sgd', momentum: 0.9 } }),
    });
    expect(result.stopped).toBe('early-stopped');
    expect(result.step).toBeLessThan(200);
  });

  it("runs on the CPU when 'auto' finds no CUDA provider, and says which it used", async () => {
    const model = buildMlp({ inputs: 4, hidden: [4], classes: 3, seed: 8 });
    const result = await train({
      model,
      trainable: full(model),
      train: irisTrain,
      config: adam({ maxSteps: 1, ep: 'auto' }),
    });
    expect(result.ep).toBe('cpu');
  });

  it('refuses bad settings with a message naming them', async () => {
    const model = buildMlp({ inputs: 4, hidden: [4], classes: 3, seed: 9 });
    const run = (config: Partial<TrainConfig>) =>
      train({ model, trainable: full(model), train: irisTrain, config: adam(config) });
    await expect(run({ epochs: 0 })).rejects.toThrow(/epochs must be a positive integer/);
    await expect(run({ epochs: 1, batchSize: 2.5 })).rejects.toThrow(/batch size/);
    await expect(run({ epochs: 1, lr: -1 })).rejects.toThrow(/learning rate/);
    await expect(run({})).rejects.toThrow(/epochs or max steps/);
    await expect(run({ epochs: 1, optimizer: { kind: 'adamw', beta2: 1 } })).rejects.toThrow(
      /beta2 must be in \[0, 1\)/,
    );
    // Bad settings are bad input: a job's activity fails at once on them instead of retrying.
    await expect(run({ epochs: 1, lr: 0 })).rejects.toBeInstanceOf(InvalidInput);
  });
});
