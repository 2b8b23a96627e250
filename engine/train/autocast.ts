// Mixed precision (`precision: 'fp16'`): the training graph's forward pass rewritten, in place, to compute in float16
// where that is safe, as torch.autocast does on CUDA. The trainable parameters stay float32 graph inputs (the master
// weights the optimiser updates); each is cast to float16 where a float16 op reads it, so its gradient comes back
// through the Cast's gradient rule as float32.
//
// Every op falls in one of three classes (autocast's lists, cut to the ops Ratchet's models use):
//   - float16: the matrix products, where half precision pays (tensor cores on CUDA);
//   - follow: elementwise and data-movement ops run in float16 when their operands are float16 already, in float32
//     when any operand is a float32 activation (the widest type wins, as torch promotes): an attention mask's -1e9
//     bias stays float32, and so does the residual stream that a LayerNorm feeds;
//   - float32: everything else, notably Softmax, LogSoftmax, LayerNormalization, reductions, Exp/Log/Pow, and any
//     op this file does not know.
// Weights (trainable inputs, float initializers, and what data-movement ops make of weights alone, such as the
// concatenated weights of fused projections) are not activations: they take the type of the op reading them, so a
// bias added to a float16 product is added in float16. A frozen initializer read in float16 is stored as a
// float16 copy, not cast on every step. The graph's float outputs come back as float32, so the loss that follows
// (and its log-softmax) runs in float32.
import { GraphBuilder, inferKnown, onnxDataType, toNumbers, tensor, type Graph, type Node } from '../ir/index.ts';
import { renameValue } from '../models/graph-edit.ts';

type Precision = 'float16' | 'float32';

const HALF_OPS = new Set(['MatMul', 'Gemm']);
const FOLLOW_OPS = new Set(
  (
    'Add Sub Mul Div Neg Abs Relu LeakyRelu Tanh Sigmoid Gelu Erf Where Max Min Clip Identity ' +
    'Reshape Flatten Squeeze Unsqueeze Transpose Expand Concat Split Slice Gather'
  ).split(' '),
);
/** Follow ops that only move elements: what they make of weights alone is a weight (not Gather: rows picked by data). */
const MOVES = new Set('Identity Reshape Flatten Squeeze Unsqueeze Transpose Expand Concat Split Slice'.split(' '));
/** Ops that read only their input's shape: any float type will do. */
const SHAPE_OPS = new Set(['Shape', 'Size']);

/**
 * Rewrites `graph` (topologically sorted, its data inputs, `weights` among its inputs) to compute in mixed precision,
 * as described above. `outputs` (e.g. the logits the loss reads) stay float32 values of the same names.
 */
export function autocastHalf(graph: Graph, weights: readonly string[], outputs: readonly string[]): void {
  const known = inferKnown(graph);
  const isFloat32 = (v: string) => Boolean(v) && known.get(v)?.dtype === 'float32';
  const weight = new Set([...weights, ...[...graph.initializers.keys()].filter(isFloat32)]);
  // The precision each float32 value of the original graph is computed in, and its copies in the other one.
  const computedIn = new Map<string, Precision>();
  const copies = new Map<string, string>();
  const b = new GraphBuilder(graph);
  const nodes = graph.nodes;
  graph.nodes = [];

  const inPrecision = (v: string, p: Precision): string => {
    if ((computedIn.get(v) ?? 'float32') === p) return v;
    const key = `${p}:${v}`;
    let copy = copies.get(key);
    if (!copy) {
      const init = graph.initializers.get(v);
      copy =
        init && p === 'float16'
          ? b.constant(tensor('float16', init.dims, toNumbers(init)), `${v}_fp16`)
          : b.op('Cast', [v], { to: onnxDataType(p) }, `${v}_${p === 'float16' ? 'fp16' : 'fp32'}`);
      copies.set(key, copy);
    }
    return copy;
  };

  for (const node of nodes) {
    const floats = node.inputs.flatMap((v, i) => (isFloat32(v) ? [i] : []));
    const p = precisionOf(node, floats, (i) => node.inputs[i], weight, computedIn);
    // Weights joined or reshaped (fused sibling projections concatenate theirs) are weights still.
    const movesWeights = MOVES.has(node.op) && floats.length > 0 && floats.every((i) => weight.has(node.inputs[i]));
    if (p) for (const i of floats) node.inputs[i] = inPrecision(node.inputs[i], p);
    for (const o of node.outputs) if (isFloat32(o)) computedIn.set(o, p ?? 'float32');
    if (movesWeights) for (const o of node.outputs) if (isFloat32(o)) weight.add(o);
    graph.nodes.push(node);
  }
  // An initializer now read only through its float16 copy would be a dead weight in the model.
  const read = new Set(graph.nodes.flatMap((n) => n.inputs));
  for (const key of copies.keys()) {
    const v = key.slice('float16:'.length);
    if (key.startsWith('float16:') && graph.initializers.has(v) && !read.has(v)) graph.initializers.delete(v);
  }
  for (const o of outputs) {
    if (computedIn.get(o) !== 'float16') continue;
    const half = b.fresh(`${o}_fp16`);
    renameValue(graph, o, half);
    b.op('Cast', [half], { to: onnxDataType('float32') });
    // The Cast produces the float32 value under the old name (which the builder still counts as taken).
    graph.nodes.at(-1)!.outputs = [o];
    for (const v of graph.outputs) if (v.name === half) v.name = o;
  }
}

/** The precision `node` computes in; undefined for ops that read only shapes. */
function precisionOf(
  node: Node,
  floats: number[],
  input: (i: number) => string,
  weight: Set<string>,
  computedIn: Map<string, Precision>,
): Precision | undefined {
  if (SHAPE_OPS.has(node.op)) return undefined;
  if (HALF_OPS.has(node.op)) return 'float16';
  if (!FOLLOW_OPS.has(node.op)) return 'float32';
  const activations = floats.map(input).filter((v) => !weight.has(v));
  if (activations.length === 0) return 'float32';
  return activations.every((v) => computedIn.get(v) === 'float16') ? 'float16' : 'float32';
}
