// Pointwise nonlinearities and the softmax family.
import { attrValue, onnxDataType } from '../../ir/index.ts';
import type { GradContext, GradRule } from '../context.ts';

const SQRT_1_2PI = 1 / Math.sqrt(2 * Math.PI);

// The one axis Softmax/LogSoftmax normalise over (opset 13 and later, which addGradients requires).
function softmaxAxis(c: GradContext): number[] {
  const axis = attrValue(c.node.attrs, 'axis', 'int', -1);
  return [axis < 0 ? axis + c.shape(c.x[0]).length : axis];
}

export const activationRules: Record<string, GradRule> = {
  // y = max(x, 0): dx = dy where x > 0, as dy times 1 or 0 (ORT's Where with a scalar branch takes about 2.4 times
  // a Mul's time; the Cast and Mul together about 1.5)
  Relu: (c) => {
    const positive = c.op('Greater', [c.x[0], c.scalar(0)]);
    return [c.op('Mul', [c.dy, c.op('Cast', [positive], { to: onnxDataType(c.dtype(c.x[0])) })])];
  },
  // y = x for x >= 0, alpha * x below
  LeakyRelu: (c) => {
    const alpha = attrValue(c.node.attrs, 'alpha', 'float', 0.01);
    const negative = c.op('Greater', [c.scalar(0), c.x[0]]);
    return [c.op('Where', [negative, c.op('Mul', [c.dy, c.scalar(alpha)]), c.dy])];
  },
  // y = σ(x): dx = dy * y * (1 - y)
  Sigmoid: (c) => [c.op('Mul', [c.dy, c.op('Mul', [c.y[0], c.op('Sub', [c.scalar(1), c.y[0]])])])],
  // y = tanh(x): dx = dy * (1 - y²)
  Tanh: (c) => [c.op('Mul', [c.dy, c.op('Sub', [c.scalar(1), c.op('Mul', [c.y[0], c.y[0]])])])],
  // y = erf(x): dx = dy * 2/√π * exp(-x²)
  Erf: (c) => {
    const x = c.x[0];
    const bump = c.op('Exp', [c.op('Neg', [c.op('Mul', [x, x])])]);
    return [c.op('Mul', [c.dy, c.op('Mul', [bump, c.scalar(2 / Math.sqrt(Math.PI))])])];
  },
  // y = x Φ(x): dx = dy * (Φ(x) + x φ(x)), Φ(x) = (1 + erf(x/√2)) / 2, φ(x) = exp(-x²/2) / √(2π).
  // approximate='tanh': y = x/2 (1 + tanh(u)), u = √(2/π) (x + 0.044715 x³):
  // dx = dy * (½(1 + t) + ½ x (1 - t²) √(2/π) (1 + 3·0.044715 x²)), t = tanh(u)
  Gelu: (c) => {
    const x = c.x[0];
    const xx = c.op('Mul', [x, x]);
    if (attrValue(c.node.attrs, 'approximate', 'string', 'none') === 'tanh') {
      const k = Math.sqrt(2 / Math.PI);
      const u = c.op('Mul', [c.op('Add', [x, c.op('Mul', [c.op('Mul', [xx, x]), c.scalar(0.044715)])]), c.scalar(k)]);
      const t = c.op('Tanh', [u]);
      const half = c.op('Mul', [c.op('Add', [c.scalar(1), t]), c.scalar(0.5)]);
      const du = c.op('Mul', [
        c.op('Add', [c.scalar(1), c.op('Mul', [xx, c.scalar(3 * 0.044715)])]),
        c.scalar(0.5 * k),
      ]);
      const slope = c.op('Mul', [c.op('Mul', [x, c.op('Sub', [c.scalar(1), c.op('Mul', [t, t])])]), du]);
      return [c.op('Mul', [c.dy, c.op('Add', [half, slope])])];
    }
    const cdf = c.op('Mul', [
      c.op('Add', [c.scalar(1), c.op('Erf', [c.op('Mul', [x, c.scalar(Math.SQRT1_2)])])]),
      c.scalar(0.5),
    ]);
    const pdf = c.op('Mul', [c.op('Exp', [c.op('Mul', [xx, c.scalar(-0.5)])]), c.scalar(SQRT_1_2PI)]);
    return [c.op('Mul', [c.dy, c.op('Add', [cdf, c.op('Mul', [x, pdf])])])];
  },
  // y = softmax(x): dx = y * (dy - Σ(dy * y))
  Softmax: (c) => {
    const dot = c.op('ReduceSum', [c.op('Mul', [c.dy, c.y[0]]), c.ints(softmaxAxis(c))], { keepdims: 1 });
    return [c.op('Mul', [c.y[0], c.op('Sub', [c.dy, dot])])];
  },
  // y = log softmax(x): dx = dy - exp(y) * Σ dy
  LogSoftmax: (c) => {
    const total = c.op('ReduceSum', [c.dy, c.ints(softmaxAxis(c))], { keepdims: 1 });
    return [c.op('Sub', [c.dy, c.op('Mul', [c.op('Exp', [c.y[0]]), total])])];
  },
};
