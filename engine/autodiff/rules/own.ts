// Rules of the engine's own kernels that a forward graph may hold (engine/train/heads.ts puts them there): each
// moves values without arithmetic, so its gradient moves them back the other way.
import { tensor, tensorAttr } from '../../ir/index.ts';
import type { GradRule } from '../context.ts';

export const ownKernelRules: Record<string, GradRule> = {
  // y_p = part p of (x + bias) in heads: dx gathers the parts' gradients back (zeros for a part the loss does not
  // read), dbias sums dx over the rows.
  SplitHeads: (c) => {
    const [x, layout, bias] = c.x;
    const zeros = (y: string) =>
      c.op('ConstantOfShape', [c.shapeTensor(y)], { value: tensorAttr(tensor(c.dtype(y), [1], [0])) });
    const dx = c.ownOp('MergeHeads', [layout, ...c.y.map((y, i) => c.dys[i] ?? zeros(y))]);
    const dbias = bias && c.needs(2) ? c.reduceTo(dx, bias, c.shape(x)) : undefined;
    return [dx, undefined, dbias];
  },
  // x = the parts side by side: each part's gradient is its share of dx, in its heads.
  MergeHeads: (c) => [undefined, ...c.ownOpN('SplitHeads', [c.dy, c.x[0]], c.x.length - 1)],
};
