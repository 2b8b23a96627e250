// Attention scales its scores before the softmax (engine/models/attention.ts), so the backward pass multiplies the
// scores' gradient by the same constant before the two products that give dQ and dK. On the ONNX ops' step ORT folds
// such a Mul into the MatMuls it feeds (alpha · A·B, its MatMulScaleFusion), but not into the FusedMatMuls the
// engine's own step uses for those products: there the Mul ran as a pass of its own over [batch, H, L, L], and its
// rounding before the products, not after, changed the bits wherever the scale is inexact (heads of 12 or 32). Here
// the constant becomes those FusedMatMuls' alpha, as ORT does on the other step.
import type { Graph, Node } from '../ir/index.ts';

/** Rewrites `graph` (a step graph after autodiff) in place; returns how many Muls it folded. */
export function foldScaleIntoProducts(graph: Graph): number {
  const readers = new Map<string, Node[]>();
  for (const n of graph.nodes) for (const v of n.inputs) readers.set(v, [...(readers.get(v) ?? []), n]);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const scalarOf = (v: string) => {
    const t = graph.initializers.get(v);
    return t?.dtype === 'float32' && t.data.length === 1 ? Number(t.data[0]) : undefined;
  };
  const unscaledProduct = (n: Node) =>
    n.op === 'FusedMatMul' &&
    n.domain === 'com.microsoft' &&
    (n.attrs.alpha?.kind !== 'float' || n.attrs.alpha.value === 1);
  const folded = new Set<Node>();
  for (const mul of graph.nodes) {
    if (mul.op !== 'Mul' || mul.domain || mul.inputs.length !== 2 || outputs.has(mul.outputs[0])) continue;
    const at = mul.inputs.findIndex((v) => scalarOf(v) !== undefined);
    const products = readers.get(mul.outputs[0]) ?? [];
    const once = (p: Node) => p.inputs.filter((v) => v === mul.outputs[0]).length === 1;
    if (at < 0 || products.length === 0 || !products.every((p) => unscaledProduct(p) && once(p))) continue;
    const [scale, x] = [scalarOf(mul.inputs[at])!, mul.inputs[1 - at]];
    for (const p of products) {
      p.inputs = p.inputs.map((v) => (v === mul.outputs[0] ? x : v));
      p.attrs = { ...p.attrs, alpha: { kind: 'float', value: scale } };
    }
    folded.add(mul);
  }
  graph.nodes = graph.nodes.filter((n) => !folded.has(n));
  return folded.size;
}
