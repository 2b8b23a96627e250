import type { GraphBuilder } from '../ir/index.ts';

/** Mean squared error between `predictions` and `targets` (same shape), averaged over every element. */
export function meanSquaredError(b: GraphBuilder, predictions: string, targets: string): string {
  const diff = b.op('Sub', [predictions, targets]);
  return b.op('ReduceMean', [b.op('Mul', [diff, diff])], { keepdims: 0 }, 'loss');
}
