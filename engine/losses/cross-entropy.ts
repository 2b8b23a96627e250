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
  opts: { classes: number; smoothing?: number; name?: string },
): string {
  const { classes, smoothing = 0, name = 'loss' } = opts;
  if (!(smoothing >= 0 && smoothing < 1)) throw new Error(`label smoothing must be in [0, 1), got ${smoothing}`);
  const logProbs = b.op('LogSoftmax', [logits], { axis: -1 }, 'log_probs');
  // Row c of this C×C table is the smoothed target for class c, so the targets are one Gather of the labels.
  const off = smoothing / classes;
  const table = new Float32Array(classes * classes).fill(off);
  for (let c = 0; c < classes; c++) table[c * classes + c] = 1 - smoothing + off;
  const target = b.op(
    'Gather',
    [b.constant(tensor('float32', [classes, classes], table), 'smoothed_targets'), labels],
    {
      axis: 0,
    },
  );
  // Mean over batch × classes, times -classes: the batch mean of -Σ_c target·log p.
  const meanTerm = b.op('ReduceMean', [b.op('Mul', [target, logProbs])], { keepdims: 0 });
  return b.op('Mul', [meanTerm, b.constant(scalar('float32', -classes))], {}, name);
}
