// Ops that move elements without changing them: the gradient moves them back.
import { attrValue } from '../../ir/index.ts';
import type { GradRule } from '../context.ts';

// dx = dy reshaped to x's shape (also serves Flatten, Squeeze, Unsqueeze).
const reshapeBack: GradRule = (c) => [c.op('Reshape', [c.dy, c.shapeTensor(c.x[0])])];

export const shapeRules: Record<string, GradRule> = {
  Identity: (c) => [c.dy],
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  // y = transpose(x, perm): dx = transpose(dy, perm⁻¹)
  Transpose: (c) => {
    const rank = c.shape(c.x[0]).length;
    const perm = attrValue(
      c.node.attrs,
      'perm',
      'ints',
      Array.from({ length: rank }, (_, i) => rank - 1 - i),
    );
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [c.op('Transpose', [c.dy], { perm: inverse })];
  },
};
