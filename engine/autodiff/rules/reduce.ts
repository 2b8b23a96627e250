// Reductions: the gradient is dy broadcast back over the reduced axes (and divided by the count for a mean).
import { attrValue, dimProduct, onnxDataType } from '../../ir/index.ts';
import type { GradContext, GradRule } from '../context.ts';

// The reduced axes, from the attribute (ReduceMean before opset 18) or the second input; [] means all axes.
function reducedAxes(c: GradContext): number[] {
  const rank = c.shape(c.x[0]).length;
  let axes: number[] | undefined = c.node.attrs.axes ? attrValue(c.node.attrs, 'axes', 'ints', []) : [];
  if (!c.node.attrs.axes && c.x[1]) {
    axes = c.valuesOf(c.x[1]);
    if (!axes) throw new Error(`autodiff: the axes of ${c.node.op} node '${c.node.name}' are not constant`);
  }
  if (axes.length === 0) {
    if (attrValue(c.node.attrs, 'noop_with_empty_axes', 'int', 0)) return [];
    return Array.from({ length: rank }, (_, i) => i);
  }
  return axes.map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q);
}

// dy spread back over x's shape.
function spread(c: GradContext, axes: number[]): string {
  if (axes.length === 0) return c.dy;
  const keep = attrValue(c.node.attrs, 'keepdims', 'int', 1);
  // Expand aligns shapes from the right, so dy needs its reduced axes back only when they are not leading ones.
  const leading = axes.every((a, i) => a === i);
  const dy = keep || leading ? c.dy : c.op('Unsqueeze', [c.dy, c.ints(axes)]);
  return c.op('Expand', [dy, c.shapeTensor(c.x[0])]);
}

export const reduceRules: Record<string, GradRule> = {
  // y = Σ x over axes
  ReduceSum: (c) => [spread(c, reducedAxes(c))],
  // y = Σ x / n over axes
  ReduceMean: (c) => {
    const axes = reducedAxes(c);
    const xs = c.shape(c.x[0]);
    const n = dimProduct(axes.map((a) => xs[a]));
    if (typeof n === 'number') return [c.op('Mul', [spread(c, axes), c.scalar(1 / n)])];
    // A symbolic count (e.g. the mean over the batch): n = size(x) / size(y), computed at run time.
    const count = c.op('Div', [c.op('Size', [c.x[0]]), c.op('Size', [c.y[0]])]);
    return [c.op('Div', [spread(c, axes), c.op('Cast', [count], { to: onnxDataType(c.dtype(c.y[0])) })])];
  },
};
