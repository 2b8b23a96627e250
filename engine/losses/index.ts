import type { DType, Dim, GraphBuilder } from '../ir/index.ts';
import { bceWithLogits } from './bce.ts';
import { softmaxCrossEntropy } from './cross-entropy.ts';
import { TEACHER_LOGITS, distillationLoss } from './distill.ts';
import { meanSquaredError } from './mse.ts';

export { TEACHER_LOGITS, bceWithLogits, distillationLoss, meanSquaredError, softmaxCrossEntropy };

/**
 * The loss a classifier trains with. Cross-entropy and distillation take class indices; BCE-with-logits and MSE take
 * one float per class (one-hot for single-label data), so the host builds their targets from the labels.
 * Distillation also takes the teacher's logits, input `teacher_logits` [batch, classes].
 */
export type LossSpec =
  | { kind: 'cross-entropy'; smoothing?: number }
  | { kind: 'bce-with-logits' }
  | { kind: 'mse' }
  | { kind: 'distill'; temperature: number; alpha: number };

export const lossKinds = ['cross-entropy', 'bce-with-logits', 'mse'] as const;

/** The dtype and shape of the `targets` input a loss takes for a batch of logits [batch, classes]. */
export function targetInfo(spec: LossSpec, classes: number, batch: Dim): { dtype: DType; shape: Dim[] } {
  return spec.kind === 'cross-entropy' || spec.kind === 'distill'
    ? { dtype: 'int64', shape: [batch] }
    : { dtype: 'float32', shape: [batch, classes] };
}

/** Appends the scalar mean loss of `logits` [batch, classes] against `targets` and returns its value name. */
export function appendLoss(b: GraphBuilder, spec: LossSpec, logits: string, targets: string, classes: number): string {
  switch (spec.kind) {
    case 'cross-entropy':
      return softmaxCrossEntropy(b, logits, targets, { classes, smoothing: spec.smoothing });
    case 'bce-with-logits':
      return bceWithLogits(b, logits, targets);
    case 'mse':
      return meanSquaredError(b, logits, targets);
    case 'distill': {
      // The teacher's logits come per row, as the labels do: the same batch dimension.
      const batch = b.graph.inputs.find((v) => v.name === targets)!.shape[0];
      const teacher = b.input(TEACHER_LOGITS, 'float32', [batch, classes]);
      return distillationLoss(b, logits, targets, teacher, { ...spec, classes });
    }
  }
}
