// Pointwise nonlinearities and the softmax family.
import { RATCHET_DOMAIN, attrValue, onnxDataType } from '../../ir/index.ts';
import type { GradContext, GradRule } from '../context.ts';

// The one axis Softmax/LogSoftmax normalise over (opset 13 and later, which addGradients requires).
function softmaxAxis(c: GradContext): number[] {
  const axis = attrValue(c.node.attrs, 'axis', 'int', -1);
  return [axis < 0 ? axis + c.shape(c.x[0]).length : axis];
}

// z = p @ v when that MatMul is all that reads p, contracts p's last axis and keeps its batch axes (no broadcast),
// where p is y, y ⊙ f or (y ⊙ f) · s, f any factor of y's shape or smaller and s a scalar (attention's dropout mask
// and its scale, as a Mul or the engine's own DropoutKeep): y's only reader, that node, means f is not computed from
// y's values (Shape nodes, which read only its shape, aside: the dropout's mask takes y's shape). Otherwise undefined.
function productOf(c: GradContext, y: string): string | undefined {
  const rank = c.shape(y).length;
  const sameBatch = (v: string, upTo: number) =>
    c.shape(v).length === rank && c.shape(y).every((d, i) => i >= upTo || d === c.shape(v)[i]);
  let p = y;
  const [masked, ...others] = c.readers(y).filter((n) => n.op !== 'Shape' || n.domain);
  const mask = masked?.op === 'Mul' ? !masked.domain : masked?.op === 'DropoutKeep' && masked.domain === RATCHET_DOMAIN;
  // (y ⊙ y reads y twice, so it has two readers here.)
  if (others.length === 0 && mask && sameBatch(masked.outputs[0], rank)) {
    p = masked.outputs[0];
    const [scaled, ...rest] = c.readers(p);
    const byScalar = scaled?.op === 'Mul' && scaled.inputs.some((v) => v !== p && c.shape(v).length === 0);
    if (rest.length === 0 && byScalar) p = scaled.outputs[0];
  }
  const readers = c.readers(p);
  if (readers.length !== 1 || readers[0].op !== 'MatMul' || readers[0].inputs[0] !== p) return undefined;
  if (softmaxAxis(c)[0] !== rank - 1) return undefined;
  const z = readers[0].outputs[0];
  return sameBatch(z, rank - 1) ? z : undefined;
}

export const activationRules: Record<string, GradRule> = {
  // y = max(x, 0): dx = dy where x > 0, as dy times 1 or 0 (ORT's Where with a scalar branch takes about 2.4 times
  // a Mul's time; the Cast and Mul together about 1.5); the engine's own kernel does the three in one pass
  Relu: (c) => {
    if (c.ownKernels && c.dtype(c.x[0]) === 'float32') return [c.ownOp('ReluGrad', [c.dy, c.x[0]])];
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
  // y = erf(x): dx = dy * 2/√π * e^(-x²), as (dy 2/√π) / e^(x²): ORT folds the scalar Mul into a MatMul that
  // produces dy, and the quotient saves a negation
  Erf: (c) => {
    const x = c.x[0];
    return [c.op('Div', [c.op('Mul', [c.dy, c.scalar(2 / Math.sqrt(Math.PI))]), c.op('Exp', [c.op('Mul', [x, x])])])];
  },
  // Counted in full-size passes (ORT has no GeluGrad kernel on CPU). Both forms start from dy/2, a scalar Mul that
  // ORT folds into the MatMul that usually produces dy, and add with Add: ORT's variadic Sum with a scalar took
  // four Adds' time.
  // y = x Φ(x), Φ(x) = (1 + erf(u)) / 2, u = x/√2, φ(x) = e^(-u²) / √(2π):
  // dx = dy (Φ(x) + x φ(x)) = dy/2 (1 + erf(u) + √(2/π) x / e^(u²)), nine passes where the form above took 11
  // (the quotient saves a negation).
  // approximate='tanh': y = x/2 (1 + t), t = tanh(u), u = x (k + k a x²), k = √(2/π), a = 0.044715:
  // dx = dy/2 (1 + t + (1 - t²) x u'), x u' = x (k + 3 k a x²), fourteen passes (17 written plainly).
  Gelu: (c) => {
    const x = c.x[0];
    const k = Math.sqrt(2 / Math.PI);
    let slope: string;
    if (attrValue(c.node.attrs, 'approximate', 'string', 'none') === 'tanh') {
      const a = 0.044715;
      const xx = c.op('Mul', [x, x]);
      const cubic = (m: number) => c.op('Mul', [x, c.op('Add', [c.op('Mul', [xx, c.scalar(m * k * a)]), c.scalar(k)])]);
      const t = c.op('Tanh', [cubic(1)]);
      const sech2 = c.op('Sub', [c.scalar(1), c.op('Mul', [t, t])]);
      slope = c.op('Add', [c.op('Add', [t, c.op('Mul', [sech2, cubic(3)])]), c.scalar(1)]);
    } else if (c.ownKernels && c.dtype(x) === 'float32') {
      // Erf and Exp stay ORT's; the engine's own kernels make u and u² in one pass and the rest in another (four
      // passes in all).
      const [u, uu] = c.ownOpN('ScaleSquare', [x, c.scalar(Math.SQRT1_2)], 2);
      return [c.ownOp('GeluGrad', [c.dy, x, c.op('Erf', [u]), c.op('Exp', [uu]), c.scalar(k)])];
    } else {
      const u = c.op('Mul', [x, c.scalar(Math.SQRT1_2)]);
      const bump = c.op('Div', [c.op('Mul', [x, c.scalar(k)]), c.op('Exp', [c.op('Mul', [u, u])])]);
      slope = c.op('Add', [c.op('Add', [c.op('Erf', [u]), bump]), c.scalar(1)]);
    }
    // (Made here, after the own kernel's return: that kernel halves dy itself, and a Mul nothing reads still runs.)
    return [c.op('Mul', [c.op('Mul', [c.dy, c.scalar(0.5)]), slope])];
  },
  // y = softmax(x): dx = y * (dy - Σ(dy * y)).
  // When y's one reader is a product z = y @ v over y's last axis (attention's probabilities times the values),
  // dy = dz vᵀ and Σ_j dy_j y_j = Σ_k dz_k z_k: the sum runs over z's columns, and the full-size dy * y and its
  // reduction give way to ones as large as z (L/dh times smaller in attention). Through p = y ⊙ f (dropout) the same
  // holds: dy = dp ⊙ f, so Σ_j dy_j y_j = Σ_j dp_j p_j = Σ_k dz_k z_k.
  Softmax: (c) => {
    const y = c.y[0];
    const z = productOf(c, y);
    const dz = z && c.gradientOf(z);
    const dot = dz
      ? c.op('ReduceSum', [c.op('Mul', [dz, z]), c.ints([-1])], { keepdims: 1 })
      : c.op('ReduceSum', [c.op('Mul', [c.dy, y]), c.ints(softmaxAxis(c))], { keepdims: 1 });
    if (c.ownKernels && c.dtype(y) === 'float32' && softmaxAxis(c)[0] === c.shape(y).length - 1) {
      return [c.ownOp('SoftmaxGrad', [y, c.dy, dot])];
    }
    return [c.op('Mul', [y, c.op('Sub', [c.dy, dot])])];
  },
  // y = log softmax(x): dx = dy - exp(y) * Σ dy
  LogSoftmax: (c) => {
    const total = c.op('ReduceSum', [c.dy, c.ints(softmaxAxis(c))], { keepdims: 1 });
    return [c.op('Sub', [c.dy, c.op('Mul', [c.op('Exp', [c.y[0]]), total])])];
  },
};
