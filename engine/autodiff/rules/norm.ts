// Normalisation and regularisation layers whose forward kernels save what their gradients need.
import { attrValue, onnxDataType } from '../../ir/index.ts';
import type { GradRule } from '../context.ts';

export const normRules: Record<string, GradRule> = {
  // y = x̂ * scale + bias, x̂ = (x - μ) σ⁻¹ over the axes from `axis` on:
  // dscale = Σ dy x̂, dbias = Σ dy (over the leading axes), and with g = dy * scale
  // dx = σ⁻¹ (g - mean(g) - x̂ mean(g x̂))
  LayerNormalization: (c) => {
    const [x, scale, bias] = c.x;
    const shape = c.shape(x);
    const raw = attrValue(c.node.attrs, 'axis', 'int', -1);
    const axis = raw < 0 ? raw + shape.length : raw;
    const normAxes = Array.from({ length: shape.length - axis }, (_, i) => axis + i);
    // The saved statistics have stash_type's float type, float32 by default; bring them to x's type.
    const asX = (v: string) => (c.dtype(x) === 'float32' ? v : c.op('Cast', [v], { to: onnxDataType(c.dtype(x)) }));
    const mean = asX(c.savedOutput(1));
    const invStd = asX(c.savedOutput(2));
    const xhat = c.op('Mul', [c.op('Sub', [x, mean]), invStd]);
    // ReduceMean takes its axes as an input from opset 18, as an attribute before.
    const meanOver = (v: string) =>
      c.opset >= 18
        ? c.op('ReduceMean', [v, c.ints(normAxes)], { keepdims: 1 })
        : c.op('ReduceMean', [v], { axes: normAxes, keepdims: 1 });
    let dx: string | undefined;
    if (c.needs(0)) {
      const g = c.op('Mul', [c.dy, scale]);
      const centred = c.op('Sub', [
        c.op('Sub', [g, meanOver(g)]),
        c.op('Mul', [xhat, meanOver(c.op('Mul', [g, xhat]))]),
      ]);
      dx = c.op('Mul', [centred, invStd]);
    }
    return [
      dx,
      c.needs(1) ? c.reduceTo(c.op('Mul', [c.dy, xhat]), scale) : undefined,
      bias && c.needs(2) ? c.reduceTo(c.dy, bias) : undefined,
    ];
  },
  // Training mode: y = x * mask / (1 - ratio), so dx = dy * mask / (1 - ratio), with the mask the forward pass
  // drew. Without a training_mode input Dropout is the identity.
  Dropout: (c) => {
    const [, ratio, trainingMode] = c.x;
    if (!trainingMode) return [c.dy];
    const kept = c.op('Where', [c.savedOutput(1), c.dy, c.scalar(0)]);
    const keep = ratio
      ? c.op('Sub', [c.scalar(1), c.op('Cast', [ratio], { to: onnxDataType(c.dtype(c.y[0])) })])
      : c.scalar(0.5);
    return [c.op('Div', [kept, keep])];
  },
};
