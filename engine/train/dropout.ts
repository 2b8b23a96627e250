// Dropout while training, for models whose metadata says their Dropout nodes drop (DROPOUT_MODE_KEY, as a pretrained
// BERT's do): each such node becomes a mask drawn from a counter-based hash of the element's index, the node and a
// key the trainer feeds per micro-batch. ONNX Runtime's own Dropout draws from a generator that lives in its session,
// so a run resumed from a checkpoint (a new session) would draw other masks than the uninterrupted run; the hash
// depends on the update's number alone, so a resumed run draws the same masks, on any execution provider.
// Everywhere else (the eval graph, the exported model) a Dropout without a training_mode input is the identity.
import {
  GraphBuilder,
  RATCHET_DOMAIN,
  float,
  inferShapes,
  int64s,
  onnxDataType,
  scalar,
  tensor,
  type DType,
  type Dim,
  type Graph,
  type Model,
  type Node,
} from '../ir/index.ts';
import { DROPOUT_MODE_KEY } from '../models/layout.ts';

/** The int64 scalar input the trainer feeds each micro-batch (see `dropoutKey`). */
export const DROPOUT_KEY = 'dropout_key';

const MASK32 = 0xffffffff;
/** Spreads the nodes' counters apart (2^32 / golden ratio), so that no two nodes hash the same counters in one batch. */
const NODE_STRIDE = 0x9e3779b9;
/**
 * Odd multipliers: the counter's (a Weyl sequence), the one between the two xor-shifts, and the draws'. The draws'
 * top two bytes pass pairwise chi-square tests of independence for every two of the four (test/engine/dropout.test.ts).
 */
const COUNTER_MUL = 0x9e3779b1;
const MIX_MUL = 0x7feb352d;
const DRAW_MULS = [0x846ca68b, 0x9e3779b9, 0x915f77f5, 0xae3cc725];

/** True when the model's Dropout nodes are meant to drop while training (see models/layout.ts). */
export const dropsInTraining = (model: Model) => model.metadata[DROPOUT_MODE_KEY] === 'train';

/** The constant ratio of a Dropout node: its second input, which must be a scalar initializer. */
function ratioOf(graph: Graph, node: Node): number {
  const t = node.inputs[1] ? graph.initializers.get(node.inputs[1]) : undefined;
  if (!t || t.data.length !== 1) throw new Error(`Dropout node '${node.name}' needs a constant ratio to train`);
  const ratio = Number(t.data[0]);
  if (!(ratio >= 0 && ratio < 1)) throw new Error(`Dropout node '${node.name}' has ratio ${ratio}, not in [0, 1)`);
  return ratio;
}

/**
 * How many elements one hash serves (4, 2 or 1), and the axis that splits them: the last axis of static size that
 * 4 divides, else the last that 2 does (-1 if none). x's element count is then a multiple of `draws`, and one part of
 * x (of `draws` equal parts) reads as [rows, cols] around the axis: rows the axes before it, cols its share of the
 * axis and those after.
 */
function drawSplit(shape: readonly Dim[] | undefined): { axis: number; draws: number } {
  for (const draws of [4, 2]) {
    const axis = (shape ?? []).map((d) => typeof d === 'number' && d > 0 && d % draws === 0).lastIndexOf(true);
    if (axis >= 0) return { axis, draws };
  }
  return { axis: -1, draws: 1 };
}

/**
 * Rewrites each Dropout node of `graph` without a training_mode input, in place, into y = x · 1 / (1 - ratio) where
 * the element's draw is at least ratio · 2^32, else x · 0; adds the DROPOUT_KEY input. Returns the number rewritten.
 * With `draws` = 4, 2 or 1 as x's static axes allow (`drawSplit`), element e of n takes draw e div (n / draws) of
 * the hash of counter e mod (n / draws) + the micro-batch's key + the node's number · NODE_STRIDE (mod 2^32):
 * elements e, e + n/draws, … share a hash. h = xorshift16(xorshift16(counter · COUNTER_MUL) · MIX_MUL), and
 * draw j is h · DRAW_MULS[j] (uint32 arithmetic: Mul wraps, BitShift shifts), whose top bits, which the threshold
 * decides on, depend on all of h. The counters times COUNTER_MUL, as [rows, cols], are a row's part plus a column's,
 * added by broadcast from two short Ranges: the hash's input is the first full-size tensor, of n / draws elements.
 * Where a MatMul is all that reads the Dropout (attention's probabilities), y = (x · kept) · 1 / (1 - ratio): ORT
 * folds that scalar into the product (a FusedMatMul's alpha), and the backward pass's into the product that makes
 * the gradient, so the mask costs no pass to scale.
 * With `ownKernels`, the engine's own DropoutKeep draws the same mask and multiplies by it in one pass (kernels.c).
 */
export function activateDropout(graph: Graph, ownKernels = false): number {
  const dropouts = graph.nodes.filter((n) => n.op === 'Dropout' && !n.inputs[2]);
  if (dropouts.length === 0) return 0;
  const shapes = inferShapes(graph);
  const readers = new Map<string, Node[]>();
  for (const n of graph.nodes) for (const v of n.inputs) readers.set(v, [...(readers.get(v) ?? []), n]);
  const b = new GraphBuilder(graph);
  const key = b.input(DROPOUT_KEY, 'int64', []);
  const constant = (dtype: DType, v: number) => b.constant(scalar(dtype, v), 'dropout_const');
  const bits = (v: number) => constant('uint32', v);
  const cast = (x: string, dtype: DType) => b.op('Cast', [x], { to: onnxDataType(dtype) });
  const xorShift16 = (x: string) => b.op('BitwiseXor', [x, b.op('BitShift', [x, bits(16)], { direction: 'RIGHT' })]);
  /** 0, 1, …, count - 1 as uint32, from an int64 scalar count. */
  const indices = (count: string) =>
    cast(b.op('Range', [constant('int32', 0), cast(count, 'int32'), constant('int32', 1)]), 'uint32');
  dropouts.forEach((node, n) => {
    const ratio = ratioOf(graph, node);
    // Every node added from here on, the key's cast included, goes in the Dropout's place below.
    const before = graph.nodes.length;
    const x = node.inputs[0];
    const shape = shapes.get(x)?.shape;
    const { axis, draws: perHash } = drawSplit(shape);
    const offset = Math.imul(n, NODE_STRIDE) >>> 0;
    const threshold = Math.min(MASK32, Math.round(ratio * 2 ** 32));
    const scale = () => b.constant(scalar('float32', 1 / (1 - ratio)), 'dropout_scale');
    const [reader, ...others] = readers.get(node.outputs[0]) ?? [];
    const beforeProduct = reader?.op === 'MatMul' && others.length === 0;
    // The new nodes take the Dropout's place, so the node list stays topologically sorted.
    const inPlaceOfDropout = () => {
      const added = graph.nodes.splice(before);
      added.at(-1)!.outputs = [node.outputs[0]];
      graph.nodes.splice(graph.nodes.indexOf(node), 1, ...added);
    };
    if (ownKernels && shapes.get(x)?.dtype === 'float32') {
      // x · (kept ? scale : 0) in one pass; before a product x · kept, and the product takes the scale as below.
      const attrs = { offset, draws: perHash, threshold, scale: float(beforeProduct ? 1 : 1 / (1 - ratio)) };
      const kept = b.domainOp(RATCHET_DOMAIN, 'DropoutKeep', [x, key], 1, attrs, 'dropped')[0];
      if (beforeProduct) b.op('Mul', [kept, scale()]);
      return inPlaceOfDropout();
    }
    // One part as [rows, cols] around the split axis, or around the last (x's rank need not be known then): products of
    // shape slices, each with a factor so that none is empty, which shape inference evaluates.
    const product = (dims: string, factor: number) =>
      b.op('ReduceProd', [b.op('Concat', [dims, b.constant(int64s([factor]), 'dims')], { axis: 0 })], { keepdims: 0 });
    const slice = (range: { start?: number; end?: number }) => b.op('Shape', [x], range);
    const rows = product(slice({ end: axis >= 0 ? axis : -1 }), 1);
    const cols =
      axis >= 0
        ? product(slice({ start: axis + 1 }), Number(shape![axis]) / perHash)
        : product(slice({ start: -1 }), 1);
    const times = (v: string, m: string | number) => b.op('Mul', [v, typeof m === 'number' ? bits(m) : m]);
    const start = times(b.op('Add', [cast(key, 'uint32'), bits(offset)]), COUNTER_MUL);
    const rowPart = b.op('Add', [times(indices(rows), times(cast(cols, 'uint32'), COUNTER_MUL)), start]);
    const counter = b.op('Add', [
      b.op('Unsqueeze', [rowPart, b.constant(int64s([1]), 'axes')]),
      times(indices(cols), COUNTER_MUL),
    ]);
    const h = b.op('Reshape', [xorShift16(times(xorShift16(counter), MIX_MUL)), b.constant(int64s([1, -1]), 'shape')]);
    const draws = times(h, b.constant(tensor('uint32', [perHash, 1], DRAW_MULS.slice(0, perHash)), 'dropout_draws'));
    const kept = b.op('GreaterOrEqual', [draws, bits(threshold)]);
    // The mask as a factor, so that the forward pass and its gradient are each one Mul (ORT's Where with a scalar
    // branch takes about 2.4 times a Mul's time): 1 or 0 before a product, which takes the scale, else the scale or 0.
    const asShapeOfX = (factor: string) => b.op('Reshape', [factor, b.op('Shape', [x])]);
    if (beforeProduct) {
      b.op('Mul', [b.op('Mul', [x, asShapeOfX(cast(kept, 'float32'))]), scale()]);
    } else {
      b.op('Mul', [x, asShapeOfX(b.op('Mul', [cast(kept, 'float32'), scale()]))]);
    }
    inPlaceOfDropout();
  });
  // The ratios are read now as constants of the rewrite; left in the graph, ONNX Runtime would warn of each unused one.
  const read = new Set(graph.nodes.flatMap((n) => n.inputs));
  for (const ratio of new Set(dropouts.map((n) => n.inputs[1]))) {
    if (ratio && !read.has(ratio) && !graph.outputs.some((o) => o.name === ratio)) graph.initializers.delete(ratio);
  }
  return dropouts.length;
}

/** 32 well-mixed bits from two (Math.imul arithmetic, as in lowbias32). */
function mix(a: number, b: number): number {
  let x = (a ^ Math.imul(b, 0x9e3779b9)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** The key of micro-batch `micro` of update `update` in a run seeded `seed`: the same on every resume. */
export const dropoutKey = (seed: number, update: number, micro: number): bigint =>
  BigInt(mix(mix(seed, update), micro));
