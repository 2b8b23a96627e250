import { scalar, type GraphBuilder } from '../ir/index.ts';

/**
 * Mean binary cross-entropy of `logits` against float targets in [0, 1] (same shape), in the stable form
 * max(x, 0) - x·y + log(1 + exp(-|x|)), which never exponentiates a large positive number.
 */
export function bceWithLogits(b: GraphBuilder, logits: string, targets: string): string {
  const positive = b.op('Relu', [logits]);
  const abs = b.op('Add', [positive, b.op('Relu', [b.op('Neg', [logits])])], {}, 'abs');
  const softplusTail = b.op('Log', [
    b.op('Add', [b.constant(scalar('float32', 1)), b.op('Exp', [b.op('Neg', [abs])])]),
  ]);
  const perElement = b.op('Add', [b.op('Sub', [positive, b.op('Mul', [logits, targets])]), softplusTail]);
  return b.op('ReduceMean', [perElement], { keepdims: 0 }, 'loss');
}
