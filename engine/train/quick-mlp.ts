// The out-of-fold check's quick model for feature rows (out-of-fold.ts): a one-hidden-layer MLP trained by the
// engine's trainer through ONNX Runtime.
import type { TabularDataset } from '../data/index.ts';
import type { Model } from '../ir/index.ts';
import { trainableParams } from '../models/methods.ts';
import { buildMlp } from '../models/mlp.ts';
import { withSession } from '../runtime/index.ts';
import { batchOf, subsetOf, type Examples } from './examples.ts';
import { sessionLogits } from './score.ts';
import { train } from './trainer.ts';

const QUICK_MLP = { hidden: [32], lr: 1e-2, epochs: 20, batchSize: 32 };
/**
 * The quick MLP's kernels (a 32-unit layer) are too small to gain from a second thread: one thread trained it in
 * 0.6-0.9x the time of two (bench/quick-models.ts), to the same probabilities.
 */
export const QUICK_THREADS = 1;
/** Held-out rows the quick model predicts in one run. */
const QUICK_RUN_ROWS = 128;
/** Updates the quick model makes in one run: each run hands the weights back through fresh buffers. */
const QUICK_STEPS_PER_RUN = 4;

/** What the engine's training of a quick model takes from out-of-fold.ts's options. */
export interface QuickTrainingOptions {
  epochs?: number;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: () => void;
}

/** The quick MLP's folds over standardised feature rows: the held rows' logits of a model trained on the others. */
export function mlpFolds(
  data: TabularDataset,
  options: QuickTrainingOptions,
): (trainRows: Int32Array, heldRows: Int32Array, seed: number) => Promise<Float32Array> {
  const classes = data.labelNames.length;
  return (trainRows, heldRows, seed) => {
    const model = buildMlp({ inputs: data.width, hidden: QUICK_MLP.hidden, classes, seed });
    const { lr, epochs, batchSize } = QUICK_MLP;
    const training = { lr, epochs: options.epochs ?? epochs, batchSize, seed };
    return trainedLogits(model, subsetOf(data, trainRows), subsetOf(data, heldRows), training, options);
  };
}

/**
 * The held rows' logits of `model` trained by the engine's trainer on `trainSet`: AdamW without weight decay, the
 * learning rate on a cosine to 0. (bench/quick-models.ts also trains the fastText this way, as the check did before
 * quick-fasttext.ts.)
 */
export async function trainedLogits<T extends Examples>(
  model: Model,
  trainSet: T,
  heldSet: T,
  training: { lr: number; epochs: number; batchSize: number; seed: number },
  options: Omit<QuickTrainingOptions, 'epochs'>,
): Promise<Float32Array> {
  const threads = options.threads ?? QUICK_THREADS;
  const classes = heldSet.labelNames.length;
  const result = await train({
    model,
    trainable: trainableParams(model.graph, { kind: 'full' }),
    train: trainSet,
    config: {
      ...training,
      decay: 'cosine',
      optimizer: { kind: 'adamw', weightDecay: 0 },
      loss: { kind: 'cross-entropy' },
      threads,
    },
    stepsPerRun: QUICK_STEPS_PER_RUN,
    signal: options.signal,
    onProgress: options.onProgress && (() => options.onProgress!()),
  });
  if (result.stopped === 'aborted') throw new Error('out-of-fold training was aborted');
  return withSession(result.model, { threads }, (session) =>
    sessionLogits(session, heldSet, classes, (ix) => batchOf(heldSet, ix).inputs, QUICK_RUN_ROWS),
  );
}
