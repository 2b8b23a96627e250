// Matrix products. Gradients are products again, with transposes folded into Gemm's transA/transB
// wherever the operands are 2-D, so the backward pass costs two GEMMs per forward one and no Transpose.
import { attrValue, float, type AttrInput } from '../../ir/index.ts';
import type { Dim } from '../../ir/index.ts';
import type { GradContext, GradRule } from '../context.ts';

// Swaps the last two axes (the matrix transpose of a batch of matrices).
function transposeLast2(c: GradContext, v: string): string {
  const r = c.shape(v).length;
  const perm = Array.from({ length: r }, (_, i) => (i < r - 2 ? i : 2 * r - 3 - i));
  return c.op('Transpose', [v], { perm });
}

// A Gemm without C, stating only the transposes that are on (0 is the default).
function gemm(c: GradContext, a: string, b: string, transA: number, transB: number, extra: Record<string, AttrInput>) {
  return c.op('Gemm', [a, b], { ...(transA ? { transA } : {}), ...(transB ? { transB } : {}), ...extra });
}

export const linalgRules: Record<string, GradRule> = {
  // Y = A @ B: dA = dY @ Bᵀ, dB = Aᵀ @ dY (summed over broadcast batch axes)
  MatMul: (c) => {
    const [a, b] = c.x;
    const ra = c.shape(a).length;
    const rb = c.shape(b).length;
    if (ra < 2 || rb < 2) {
      throw new Error(`autodiff: MatMul node '${c.node.name}' has a 1-D operand; unsqueeze it to a matrix first`);
    }
    if (rb === 2) {
      // The common layer: activations [..., M, K] times a weight [K, N].
      const da = c.needs(0)
        ? ra === 2
          ? c.op('Gemm', [c.dy, b], { transB: 1 })
          : c.op('MatMul', [c.dy, transposeLast2(c, b)])
        : undefined;
      let db: string | undefined;
      if (c.needs(1)) {
        // Fold the batch axes into the rows: dB = Σ_batch Aᵀ dY = A₂ᵀ dY₂ with A₂ = A as [rows, K].
        // K and N come from the weight, whose shape is static even when the batch is symbolic.
        const [k, n] = c.shape(b);
        const rows = (v: string, cols: Dim) => {
          if (typeof cols !== 'number')
            throw new Error(`autodiff: MatMul node '${c.node.name}' has a weight of symbolic shape`);
          return ra === 2 ? v : c.op('Reshape', [v, c.ints([-1, cols])]);
        };
        db = c.op('Gemm', [rows(a, k), rows(c.dy, n)], { transA: 1 });
      }
      return [da, db];
    }
    const yShape = c.shape(c.y[0]);
    const batch = yShape.slice(0, -2);
    const [m, n] = yShape.slice(-2);
    const [k] = c.shape(a).slice(-1);
    // Batched (attention's products): ORT folds a Transpose of the last two axes into a FusedMatMul's flag only where
    // the Transpose reads no other Transpose; where the engine's own kernels are in use the flag is set here.
    const product = (x: string, y: string, trans: { a?: boolean; b?: boolean }) =>
      c.ownKernels
        ? c.fusedMatMul(x, y, trans)
        : c.op('MatMul', [trans.a ? transposeLast2(c, x) : x, trans.b ? transposeLast2(c, y) : y]);
    return [
      c.needs(0) ? c.reduceTo(product(c.dy, b, { b: true }), a, [...batch, m, k]) : undefined,
      c.needs(1) ? c.reduceTo(product(a, c.dy, { a: true }), b, [...batch, k, n]) : undefined,
    ];
  },
  // Y = α op(A) op(B) + β C, op(X) = X or Xᵀ per transA/transB
  Gemm: (c) => {
    const [a, b, cc] = c.x;
    const ta = attrValue(c.node.attrs, 'transA', 'int', 0);
    const tb = attrValue(c.node.attrs, 'transB', 'int', 0);
    const alpha = attrValue(c.node.attrs, 'alpha', 'float', 1);
    const beta = attrValue(c.node.attrs, 'beta', 'float', 1);
    const scaled: Record<string, AttrInput> = alpha === 1 ? {} : { alpha: float(alpha) };
    // dop(A) = α dY op(B)ᵀ; when A is stored transposed, dA = (dop(A))ᵀ = α op(B) dYᵀ.
    const da = !c.needs(0) ? undefined : ta ? gemm(c, b, c.dy, tb, 1, scaled) : gemm(c, c.dy, b, 0, 1 - tb, scaled);
    // dop(B) = α op(A)ᵀ dY; when B is stored transposed, dB = α dYᵀ op(A).
    const db = !c.needs(1) ? undefined : tb ? gemm(c, c.dy, a, 1, ta, scaled) : gemm(c, a, c.dy, 1 - ta, 0, scaled);
    let dc: string | undefined;
    if (cc && c.needs(2)) {
      const summed = c.reduceTo(c.dy, cc);
      dc = beta === 1 ? summed : c.op('Mul', [summed, c.scalar(beta)]);
    }
    return [da, db, dc];
  },
};
