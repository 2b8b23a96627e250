// The MLP train step that bench/train-step.ts times and bench/profile-step.ts profiles: 512-1024-1024-10 on seeded
// random rows, AdamW, cross-entropy, 2 threads, through the engine's real trainer.
import { Rng, type TabularDataset } from '../engine/data/index.ts';
import { buildMlp } from '../engine/models/mlp.ts';
import { trainableParams } from '../engine/models/methods.ts';
import { train } from '../engine/train/trainer.ts';

export const THREADS = 2;
export const LAYERS = [512, 1024, 1024, 10];

function syntheticData(rows: number, width: number, classes: number): TabularDataset {
  const rng = Rng.fromSeed(1);
  return {
    rows,
    width,
    features: Float32Array.from({ length: rows * width }, () => rng.nextFloat() * 2 - 1),
    labels: Int32Array.from({ length: rows }, () => rng.nextInt(classes)),
    labelNames: Array.from({ length: classes }, (_, c) => `class${c}`),
  };
}

/**
 * Trains the MLP for `steps` steps of `batch` rows; `onStep` is called after each, as the trainer reports it (a chunk's
 * steps together, when it ends). `stepsPerRun` as train() takes it; `boundaryEvery` makes every that many steps a
 * chunk boundary (a checkpoint falls due there, to a sink that keeps nothing), so that timing from such a step on
 * covers whole chunks.
 */
export async function trainMlp(
  batch: number,
  steps: number,
  onStep: () => void,
  opts: { stepsPerRun?: number; boundaryEvery?: number } = {},
): Promise<void> {
  const model = buildMlp({ inputs: LAYERS[0], hidden: LAYERS.slice(1, -1), classes: LAYERS.at(-1)!, seed: 1 });
  await train({
    model,
    trainable: trainableParams(model.graph, { kind: 'full' }),
    train: syntheticData(batch * steps, LAYERS[0], LAYERS.at(-1)!),
    config: {
      batchSize: batch,
      maxSteps: steps,
      lr: 1e-3,
      optimizer: { kind: 'adamw' },
      loss: { kind: 'cross-entropy' },
      seed: 1,
      threads: THREADS,
      checkpointEvery: opts.boundaryEvery,
    },
    checkpoints: opts.boundaryEvery ? { run: {}, save: () => {} } : undefined,
    stepsPerRun: opts.stepsPerRun,
    onProgress: onStep,
  });
}
