// Dropout while training, for models whose metadata says their Dropout nodes drop (DROPOUT_MODE_KEY, as a pretrained
// BERT's do): each such node becomes a mask drawn from a counter-based hash of the element's index, the node and a
// key the trainer feeds per micro-batch. ONNX Runtime's own Dropout draws from a generator that lives in its session,
// so a run resumed from a checkpoint (a new session) would draw other masks than the uninterrupted run; the hash
// depends on the update's number alone, so a resumed run draws the same masks, on any execution provider.
// Everywhere else (the eval graph, the exported model) a Dropout without a training_mode input is the identity.
import { GraphBuilder, onnxDataType, scalar, type Graph, type Model, type Node } from '../ir/index.ts';
import { DROPOUT_MODE_KEY } from '../models/layout.ts';

/** The int64 scalar input the trainer feeds each micro-batch (see `dropoutKey`). */
export const DROPOUT_KEY = 'dropout_key';

const MASK32 = 0xffffffff;
/** Spreads the nodes' keys apart (2^32 / golden ratio), so that no two nodes hash the same inputs in one batch. */
const NODE_STRIDE = 0x9e3779b9;

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
 * Rewrites each Dropout node of `graph` without a training_mode input, in place, into y = x · 1 / (1 - ratio) where
 * the element's hash is at least ratio · 2^32, else x · 0; adds the DROPOUT_KEY input. Returns the number rewritten.
 * The hash is lowbias32 (Chris Wellons' hash-prospector; its second multiplier below 2^31, as the masks have been
 * drawn since they were hashed in int64) of the element's index ⊕ the node's key (the micro-batch's key ⊕ a constant
 * per node), in uint32 arithmetic: Mul wraps modulo 2^32 and BitShift shifts, vectorised, where the int64 form
 * needed a mask after every product and a division for every shift (ORT's int64 Div is a scalar loop: in a MiniLM
 * step the masks cost about a fifth of the kernels' time).
 */
export function activateDropout(graph: Graph): number {
  const dropouts = graph.nodes.filter((n) => n.op === 'Dropout' && !n.inputs[2]);
  if (dropouts.length === 0) return 0;
  const b = new GraphBuilder(graph);
  const key = b.input(DROPOUT_KEY, 'int64', []);
  const bits = (v: number) => b.constant(scalar('uint32', v), 'dropout_const');
  const toBits = (x: string) => b.op('Cast', [x], { to: onnxDataType('uint32') });
  const xorShift = (x: string, n: number) =>
    b.op('BitwiseXor', [x, b.op('BitShift', [x, bits(n)], { direction: 'RIGHT' })]);
  const times = (x: string, m: number) => b.op('Mul', [x, bits(m)]);
  dropouts.forEach((node, i) => {
    const ratio = ratioOf(graph, node);
    const before = graph.nodes.length;
    const x = node.inputs[0];
    // Every node added here, the key's cast included, goes in the Dropout's place below.
    const nodeKey = b.op('BitwiseXor', [toBits(key), bits(Math.imul(i, NODE_STRIDE) >>> 0)]);
    const int64 = (v: number) => b.constant(scalar('int64', v), 'dropout_const');
    const index = toBits(b.op('Range', [int64(0), b.op('Size', [x]), int64(1)]));
    let h = b.op('BitwiseXor', [index, nodeKey]);
    h = xorShift(times(xorShift(times(xorShift(h, 16), 0x7feb352d), 15), 0x446ca68b), 16);
    const threshold = bits(Math.min(MASK32, Math.round(ratio * 2 ** 32)));
    const kept = b.op('GreaterOrEqual', [b.op('Reshape', [h, b.op('Shape', [x])]), threshold]);
    // The mask as a factor, 1 / (1 - ratio) or 0, so that the forward pass and its gradient are each one Mul
    // (ORT's Where with a scalar branch takes about 2.4 times a Mul's time).
    const scale = b.constant(scalar('float32', 1 / (1 - ratio)), 'dropout_scale');
    const factor = b.op('Mul', [b.op('Cast', [kept], { to: onnxDataType('float32') }), scale]);
    b.op('Mul', [x, factor]);
    // The new nodes take the Dropout's place, so the node list stays topologically sorted.
    const added = graph.nodes.splice(before);
    added.at(-1)!.outputs = [node.outputs[0]];
    graph.nodes.splice(graph.nodes.indexOf(node), 1, ...added);
  });
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
