import { scalar, tensor, type GraphBuilder } from '../ir/index.ts';

/**
 * Mean softmax cross-entropy of `logits` [batch, classes] against int64 class indices `labels` [batch], with
 * label smoothing as PyTorch defines it: the target puts 1 - smoothing + smoothing/C on the label and smoothing/C
 * on every class. Built on LogSoftmax, which subtracts the row maximum, so large logits do not overflow.
 */
export function softmaxCrossEntropy(
  b: GraphBuilder,
  logits: string,
  labels: string,
  opts: { classes: number; smoothing?: number },
): string {
  const { classes, smoothing = 0 } = opts;
  if (!(smoothing >= 0 && smoothing < 1)) throw new Error(`label smoothing must be in [0, 1), got ${smoothing}`);
  const logProbs = b.op('LogSoftmax', [logits], { axis: -1 }, 'log_probs');
  const off = smoothing / classes;
  const onOff = b.constant(tensor('float32', [2], [off, 1 - smoothing + off]), 'one_hot_values');
  const depth = b.constant(scalar('int64', classes), 'classes');
  const target = b.op('OneHot', [labels, depth, onOff], { axis: -1 }, 'target');
  // Mean over batch × classes, times -classes: the batch mean of -Σ_c target·log p.
  const meanTerm = b.op('ReduceMean', [b.op('Mul', [target, logProbs])], { keepdims: 0 });
  return b.op('Mul', [meanTerm, b.constant(scalar('float32', -classes))], {}, 'loss');
}
