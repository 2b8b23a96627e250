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

// A reduced value (dy or y) with the reduced axes back as size 1, so that it broadcasts against x. Broadcasting
// aligns shapes from the right, so the axes need restoring only when they are not the leading ones.
function unreduce(c: GradContext, v: string, axes: number[]): string {
  const keep = attrValue(c.node.attrs, 'keepdims', 'int', 1);
  const leading = axes.every((a, i) => a === i);
  return keep || leading ? v : c.op('Unsqueeze', [v, c.ints(axes)]);
}

// dy spread back over x's shape.
function spread(c: GradContext, axes: number[]): string {
  if (axes.length === 0) return c.dy;
  return c.op('Expand', [unreduce(c, c.dy, axes), c.shapeTensor(c.x[0])]);
}

// dy * f(), with f of x's shape: the broadcast does the spreading. No axes (noop_with_empty_axes): y = x.
function spreadTimes(c: GradContext, axes: number[], f: () => string): string {
  return axes.length === 0 ? c.dy : c.op('Mul', [unreduce(c, c.dy, axes), f()]);
}

// y = max (or min) over axes: dy goes to the elements equal to y, shared evenly among ties.
const extremum: GradRule = (c) => {
  const axes = reducedAxes(c);
  const share = () => {
    const hit = c.op('Equal', [c.x[0], unreduce(c, c.y[0], axes)]);
    const hits = c.op('Cast', [hit], { to: onnxDataType(c.dtype(c.x[0])) });
    return c.op('Div', [hits, c.op('ReduceSum', [hits, c.ints(axes)], { keepdims: 1 })]);
  };
  return [spreadTimes(c, axes, share)];
};

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
  ReduceMax: extremum,
  ReduceMin: extremum,
  // y = Σ x² over axes: dx = 2 x dy
  ReduceSumSquare: (c) => [spreadTimes(c, reducedAxes(c), () => c.op('Mul', [c.x[0], c.scalar(2)]))],
  // y = √(Σ x²) over axes: dx = dy x / y
  ReduceL2: (c) => {
    const axes = reducedAxes(c);
    return [spreadTimes(c, axes, () => c.op('Div', [c.x[0], unreduce(c, c.y[0], axes)]))];
  },
  // y = log Σ exp(x) over axes: dx = dy softmax(x) = dy exp(x - y)
  ReduceLogSumExp: (c) => {
    const axes = reducedAxes(c);
    return [spreadTimes(c, axes, () => c.op('Exp', [c.op('Sub', [c.x[0], unreduce(c, c.y[0], axes)])]))];
  },
};
