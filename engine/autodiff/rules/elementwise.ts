// Arithmetic with numpy broadcasting: each gradient is summed back to its input's shape (reduceTo).
import type { GradRule } from '../context.ts';

export const elementwiseRules: Record<string, GradRule> = {
  // y = a + b
  Add: (c) => [c.needs(0) ? c.reduceTo(c.dy, c.x[0]) : undefined, c.needs(1) ? c.reduceTo(c.dy, c.x[1]) : undefined],
  // y = a - b
  Sub: (c) => [
    c.needs(0) ? c.reduceTo(c.dy, c.x[0]) : undefined,
    c.needs(1) ? c.op('Neg', [c.reduceTo(c.dy, c.x[1])]) : undefined,
  ],
  // y = a * b
  Mul: (c) => [
    c.needs(0) ? c.reduceTo(c.op('Mul', [c.dy, c.x[1]]), c.x[0]) : undefined,
    c.needs(1) ? c.reduceTo(c.op('Mul', [c.dy, c.x[0]]), c.x[1]) : undefined,
  ],
  // y = a / b: da = dy / b, db = -dy * y / b
  Div: (c) => {
    const da = c.needs(0) || c.needs(1) ? c.op('Div', [c.dy, c.x[1]]) : '';
    return [
      c.needs(0) ? c.reduceTo(da, c.x[0]) : undefined,
      c.needs(1) ? c.op('Neg', [c.reduceTo(c.op('Mul', [da, c.y[0]]), c.x[1])]) : undefined,
    ];
  },
  // y = -x
  Neg: (c) => [c.op('Neg', [c.dy])],
  // y = x0 + x1 + ...
  Sum: (c) => c.x.map((x, i) => (c.needs(i) ? c.reduceTo(c.dy, x) : undefined)),
  // y = exp(x): dx = dy * y
  Exp: (c) => [c.op('Mul', [c.dy, c.y[0]])],
  // y = log(x): dx = dy / x
  Log: (c) => [c.op('Div', [c.dy, c.x[0]])],
  // y = sqrt(x): dx = dy * 0.5 / y
  Sqrt: (c) => [c.op('Div', [c.op('Mul', [c.dy, c.scalar(0.5)]), c.y[0]])],
  // y = |x|: dx = dy * sign(x)
  Abs: (c) => [c.op('Where', [c.op('Greater', [c.scalar(0), c.x[0]]), c.op('Neg', [c.dy]), c.dy])],
  // y = 1 / x: dx = -dy * y²
  Reciprocal: (c) => [c.op('Neg', [c.op('Mul', [c.dy, c.op('Mul', [c.y[0], c.y[0]])])])],
  // y = a ^ p: da = dy * p * a^(p-1), dp = dy * y * log(a)
  Pow: (c) => {
    const [a, p] = c.x;
    const da = c.needs(0)
      ? c.reduceTo(c.op('Mul', [c.dy, c.op('Mul', [p, c.op('Pow', [a, c.op('Sub', [p, c.scalar(1)])])])]), a)
      : undefined;
    const dp = c.needs(1) ? c.reduceTo(c.op('Mul', [c.dy, c.op('Mul', [c.y[0], c.op('Log', [a])])]), p) : undefined;
    return [da, dp];
  },
  // y = cond ? a : b
  Where: (c) => {
    const [cond, a, b] = c.x;
    const zero = c.scalar(0);
    return [
      undefined,
      c.needs(1) ? c.reduceTo(c.op('Where', [cond, c.dy, zero]), a) : undefined,
      c.needs(2) ? c.reduceTo(c.op('Where', [cond, zero, c.dy]), b) : undefined,
    ];
  },
  // y = max(a, b): the gradient goes to a where a >= b (a tie goes to the first input)
  Max: (c) => pickGradient(c, c.op('Greater', [c.x[1], c.x[0]])),
  // y = min(a, b): to a where a <= b
  Min: (c) => pickGradient(c, c.op('Greater', [c.x[0], c.x[1]])),
  // y = clamp(x, lo, hi): dy passes where lo <= x <= hi
  Clip: (c) => {
    const [x, lo, hi] = c.x;
    const zero = c.scalar(0);
    let dx = c.dy;
    if (hi) dx = c.op('Where', [c.op('Greater', [x, hi]), zero, dx]);
    if (lo) dx = c.op('Where', [c.op('Greater', [lo, x]), zero, dx]);
    return [dx];
  },
};

// For two-input Max/Min: `toSecond` is true where the second input won.
function pickGradient(c: Parameters<GradRule>[0], toSecond: string): (string | undefined)[] {
  if (c.x.length !== 2)
    throw new Error(`autodiff: ${c.node.op} node '${c.node.name}' has ${c.x.length} inputs; only 2 are supported`);
  const zero = c.scalar(0);
  return [
    c.needs(0) ? c.reduceTo(c.op('Where', [toSecond, zero, c.dy]), c.x[0]) : undefined,
    c.needs(1) ? c.reduceTo(c.op('Where', [toSecond, c.dy, zero]), c.x[1]) : undefined,
  ];
}
