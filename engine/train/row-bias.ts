// Broadcasting Adds of the step graph as the engine's own AddRowBias (engine/runtime/native/kernels.c): a layer's
// bias over its output rows, and attention's key mask [batch, 1, 1, L] over the scores [batch, H, L', L]. ORT's
// broadcasting Add runs such sums at a fraction of a plain Add's speed (0.24-0.28 ms for the encoder's scores of
// [32, 4, 64, 64]); the kernel adds the same float32 values in one pass. Only where the step runs with the engine's
// own kernels; a node's meaning is unchanged, so gradients, taken before, stay as they are.
import { RATCHET_DOMAIN, inferShapes, type Dim, type Graph, type Node } from '../ir/index.ts';

/**
 * Whether `bias`, aligned to `x`'s right, repeats along x's rows: the same last axis, x's leading axes up to some
 * point, 1s from there to the last, and at least one of those x's axes not 1 (a broadcast, not an Add of equals).
 */
function rowBias(x: Dim[], bias: Dim[]): boolean {
  if (bias.length === 0 || bias.length > x.length) return false;
  const aligned = [...Array<Dim>(x.length - bias.length).fill(1), ...bias];
  const last = x.length - 1;
  if (aligned[last] !== x[last]) return false;
  let k = 0;
  while (k < last && aligned[k] !== 1 && aligned[k] === x[k]) k++;
  return aligned.slice(k, last).every((d) => d === 1) && x.slice(k, last).some((d) => d !== 1);
}

/** An Add that AddRowBias can take, and whether its bias is its first input. */
export type BiasAdd = { node: Node; biasFirst: boolean };

/**
 * The float32 Adds of `graph` that AddRowBias can take, each with its bias side. Read from the forward graph, whose
 * shapes are known (the packed parameters' Split and the backward pass come later); where inference fails, none.
 */
export function rowBiasAdds(graph: Graph): BiasAdd[] {
  let shapes: ReturnType<typeof inferShapes>;
  try {
    shapes = inferShapes(graph);
  } catch {
    return [];
  }
  return graph.nodes.flatMap((node): BiasAdd[] => {
    if (node.op !== 'Add' || node.domain || node.inputs.length !== 2) return [];
    const [a, b] = node.inputs.map((v) => shapes.get(v));
    if (!a || !b || a.dtype !== 'float32' || b.dtype !== 'float32') return [];
    if (rowBias(a.shape, b.shape)) return [{ node, biasFirst: false }];
    return rowBias(b.shape, a.shape) ? [{ node, biasFirst: true }] : [];
  });
}

/** Makes each Add an AddRowBias, the bias second. */
export function asRowBias(adds: BiasAdd[]): void {
  for (const { node, biasFirst } of adds) {
    node.domain = RATCHET_DOMAIN;
    node.op = 'AddRowBias';
    if (biasFirst) node.inputs.reverse();
  }
}
