// Normalisation and regularisation layers whose forward kernels save what their gradients need.
import { attrValue, isStatic, onnxDataType, type Dim } from '../../ir/index.ts';
import type { GradRule } from '../context.ts';

export const normRules: Record<string, GradRule> = {
  // y = x̂ * scale + bias, x̂ = (x - μ) σ⁻¹ over the N elements of the axes from `axis` on, g = dy * scale:
  // dbias = Σ dy, dscale = Σ dy x̂ (over the leading axes), dx = σ⁻¹ (g - mean(g) - x̂ mean(g x̂)).
  // Written for few full-size passes (ORT's CPU build has no LayerNormalizationGrad): with xc = x - μ and
  // p = dy xc as matrices of N columns, dscale = (σ⁻¹)ᵀ p is one GEMM (the rows weighted by σ⁻¹), mean(g) and
  // mean(g xc) are dy and p times the column scale/N, and dx = g σ⁻¹ + xc (-σ⁻³ mean(g xc)) - σ⁻¹ mean(g), whose
  // last two factors hold one value per row: seven passes over x's size (xc, p, g, g σ⁻¹, the xc term, two Adds)
  // where the form above takes nine. Adds, not one Sum: ORT's variadic Sum, broadcasting, took three Adds' time.
  LayerNormalization: (c) => {
    const [x, scale, bias] = c.x;
    const shape = c.shape(x);
    const raw = attrValue(c.node.attrs, 'axis', 'int', -1);
    const normShape = shape.slice(raw < 0 ? raw + shape.length : raw);
    if (!isStatic(normShape)) {
      throw new Error(`autodiff: LayerNormalization node '${c.node.name}' normalises over symbolic sizes`);
    }
    const n = normShape.reduce((a, d) => a * d, 1);
    const dbias = bias && c.needs(2) ? c.reduceTo(c.dy, bias) : undefined;
    if (!c.needs(0) && !c.needs(1)) return [undefined, undefined, dbias];
    // Over several axes the values are worked on as [rows, N] matrices, the statistics as [rows, 1] columns.
    const flat = normShape.length > 1;
    const matrix = (v: string, cols: number) => (flat ? c.op('Reshape', [v, c.ints([-1, cols])]) : v);
    // The saved statistics have stash_type's float type, float32 by default; bring them to x's type.
    const asX = (v: string) => (c.dtype(x) === 'float32' ? v : c.op('Cast', [v], { to: onnxDataType(c.dtype(x)) }));
    const invStd = matrix(asX(c.savedOutput(2)), 1);
    const dy = matrix(c.dy, n);
    const mean = matrix(asX(c.savedOutput(1)), 1);
    // xc = x - μ and p = dy·xc: the engine's own kernel makes both in one pass.
    const [xc, pc] =
      c.ownKernels && c.dtype(x) === 'float32'
        ? c.ownOpN('CenterRows', [matrix(x, n), dy, mean], 2)
        : [c.op('Sub', [matrix(x, n), mean]), undefined];
    const p = pc ?? c.op('Mul', [dy, xc]);
    let dscale: string | undefined;
    if (c.needs(1)) {
      const rowsOfP = flat || shape.length === 2 ? p : c.op('Reshape', [p, c.ints([-1, n])]);
      const weighted = c.op('MatMul', [c.op('Reshape', [invStd, c.ints([1, -1])]), rowsOfP]);
      dscale = c.reduceTo(c.op('Reshape', [weighted, c.ints(normShape)]), scale, normShape);
    }
    let dx: string | undefined;
    if (c.needs(0)) {
      // scale over the N columns (expanded where it broadcasts), as a row and as the column -scale/N, whose
      // products with dy and p are -mean(g) and -mean(g xc): the factors below need no negation of their own.
      const full = sameDims(c.shape(scale), normShape) ? scale : c.op('Expand', [scale, c.ints(normShape)]);
      const row = flat ? c.op('Reshape', [full, c.ints([n])]) : full;
      const column = c.op('Reshape', [c.op('Mul', [row, c.scalar(-1 / n)]), c.ints([n, 1])]);
      const invVar = c.op('Mul', [invStd, invStd]);
      const xcFactor = c.op('Mul', [invVar, c.op('Mul', [invStd, c.op('MatMul', [p, column])])]);
      const shift = c.op('Mul', [invStd, c.op('MatMul', [dy, column])]);
      if (c.ownKernels && c.dtype(x) === 'float32') {
        // The engine's own kernel: the sum below in one pass (in its order) where it takes five.
        const own = c.ownOp('LayerNormGradX', [dy, row, invStd, xc, xcFactor, shift]);
        return [flat ? c.op('Reshape', [own, c.shapeTensor(x)]) : own, dscale, dbias];
      }
      const terms = c.op('Add', [c.op('Mul', [c.op('Mul', [dy, row]), invStd]), c.op('Mul', [xc, xcFactor])]);
      const sum = c.op('Add', [terms, shift]);
      dx = flat ? c.op('Reshape', [sum, c.shapeTensor(x)]) : sum;
    }
    return [dx, dscale, dbias];
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

const sameDims = (a: Dim[], b: Dim[]) => a.length === b.length && a.every((d, i) => d === b[i]);
