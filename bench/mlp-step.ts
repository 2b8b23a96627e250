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
 * Trains the MLP for `steps` steps of `batch` rows; `onStep` is called after each with the trainer's elapsed time at
 * its end (a chunk's steps are reported together when it ends, its time spread evenly over them). `stepsPerRun` as
 * train() takes it.
 */
export async function trainMlp(
  batch: number,
  steps: number,
  onStep: (elapsedMs: number) => void,
  opts: { stepsPerRun?: number } = {},
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
    },
    stepsPerRun: opts.stepsPerRun,
    onProgress: (p) => onStep(p.elapsedMs),
  });
}
