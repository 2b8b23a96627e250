// Rules of the engine's own kernels that a forward graph may hold (engine/train/heads.ts puts them there): each
// moves values without arithmetic, so its gradient moves them back the other way.
import { attrValue, float, tensor, tensorAttr } from '../../ir/index.ts';
import type { GradContext, GradRule } from '../context.ts';

/** A heads node's attributes (heads, transposed), for the node that moves its values back. */
const layoutOf = (c: GradContext) => ({
  heads: attrValue(c.node.attrs, 'heads', 'int', 0),
  transposed: attrValue(c.node.attrs, 'transposed', 'ints', []),
});

/** A DropoutKeep node's attributes, for its gradient's node, which draws the same mask. */
const dropoutAttrs = (c: GradContext) => ({
  offset: attrValue(c.node.attrs, 'offset', 'int', 0),
  draws: attrValue(c.node.attrs, 'draws', 'int', 1),
  threshold: attrValue(c.node.attrs, 'threshold', 'int', 0),
  scale: float(attrValue(c.node.attrs, 'scale', 'float', 1)),
});

export const ownKernelRules: Record<string, GradRule> = {
  // y_p = part p of (x + bias) in heads: dx gathers the parts' gradients back (zeros for a part the loss does not
  // read), dbias sums dx over the rows.
  SplitHeads: (c) => {
    const [x, bias] = c.x;
    const zeros = (y: string) =>
      c.op('ConstantOfShape', [c.shapeTensor(y)], { value: tensorAttr(tensor(c.dtype(y), [1], [0])) });
    const dx = c.ownOp(
      'MergeHeads',
      c.y.map((y, i) => c.dys[i] ?? zeros(y)),
      layoutOf(c),
    );
    return [dx, bias && c.needs(1) ? c.reduceTo(dx, bias, c.shape(x)) : undefined];
  },
  // y = x · (kept ? scale : 0), the mask drawn from the key and the node's attributes: dx = dy times the same.
  DropoutKeep: (c) => [c.ownOp('DropoutKeep', [c.dy, c.x[1]], dropoutAttrs(c))],
  // x = the parts side by side: each part's gradient is its share of dx, in its heads.
  MergeHeads: (c) => c.ownOpN('SplitHeads', [c.dy], c.x.length, layoutOf(c)),
};
