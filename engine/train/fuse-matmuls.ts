// Sibling products, several x·Wᵢ (+ bᵢ) of one input x such as an attention block's Q, K and V projections,
// rewritten as one x·[W₁ W₂ …] (+ [b₁ b₂ …]) split back into the pieces. One wider GEMM runs faster than several
// narrow ones, and the backward pass gets one input gradient instead of a Sum of several. Parameters keep their
// names: the joined weight is a Concat the backward pass splits, so gradients still land on each Wᵢ and bᵢ.
import { GraphBuilder, inferKnown, int64s, type Graph, type Node } from '../ir/index.ts';

interface Member {
  matmul: Node;
  weight: string;
  /** The Add of a 1-D bias that is the product's only consumer, when there is one. */
  biasAdd?: Node;
  bias?: string;
  width: number;
}

/** Rewrites `graph` in place; returns how many groups it fused. */
export function fuseSiblingMatMuls(graph: Graph): number {
  const known = inferKnown(graph);
  const consumers = new Map<string, Node[]>();
  for (const n of graph.nodes) for (const v of n.inputs) consumers.set(v, [...(consumers.get(v) ?? []), n]);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  // Where each value becomes available: -1 for inputs and initializers, else its producer's index.
  const definedAt = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.outputs.forEach((o) => definedAt.set(o, i)));
  const position = new Map(graph.nodes.map((n, i) => [n, i]));

  const staticShape = (v: string) => {
    const shape = known.get(v)?.shape;
    return shape?.every((d): d is number => typeof d === 'number') ? shape : undefined;
  };
  const memberOf = (n: Node): Member | undefined => {
    const shape = staticShape(n.inputs[1]);
    if (n.op !== 'MatMul' || n.domain || shape?.length !== 2 || outputs.has(n.outputs[0])) return undefined;
    const [width] = shape.slice(1);
    const users = consumers.get(n.outputs[0]) ?? [];
    const add = users.length === 1 && users[0].op === 'Add' && !users[0].domain ? users[0] : undefined;
    const bias = add?.inputs.find((v) => v !== n.outputs[0]);
    const biased = bias !== undefined && staticShape(bias)?.join() === `${width}` && add!.inputs[0] === n.outputs[0];
    return { matmul: n, weight: n.inputs[1], width, ...(biased ? { biasAdd: add, bias } : {}) };
  };

  // Frozen weights (initializers) and trained ones form separate groups: the gradient of a joined weight is one
  // Gemm over all its columns, which would compute the frozen columns' gradient only to drop it (LoRA's x·Aᵀ beside
  // x·W is the case that matters: a full-size weight gradient where a rank-r one is needed).
  const groups = new Map<string, Member[]>();
  for (const n of graph.nodes) {
    const m = memberOf(n);
    const key = m && JSON.stringify([n.inputs[0], graph.initializers.has(m.weight)]);
    if (key) groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  let fused = 0;
  for (const members of groups.values()) {
    const x = members[0].matmul.inputs[0];
    if (members.length < 2 || known.get(members[0].weight)?.dtype !== known.get(x)?.dtype) continue;
    const first = Math.min(...members.map((m) => position.get(m.matmul)!));
    // The fused product runs where the first sibling did, so every weight and bias must exist by then.
    const ready = (v: string) => (definedAt.get(v) ?? -1) < first;
    if (!members.every((m) => ready(m.weight) && (m.bias === undefined || ready(m.bias)))) continue;
    const withBias = members.every((m) => m.bias !== undefined);

    const b = new GraphBuilder(graph);
    const before = graph.nodes.length;
    const weight = b.op(
      'Concat',
      members.map((m) => m.weight),
      { axis: 1 },
      'fused_weight',
    );
    let y = b.op('MatMul', [x, weight], {}, 'fused_matmul');
    if (withBias)
      y = b.op('Add', [
        y,
        b.op(
          'Concat',
          members.map((m) => m.bias!),
          { axis: 0 },
          'fused_bias',
        ),
      ]);
    const pieces = members.map((m) => (withBias ? m.biasAdd! : m.matmul).outputs[0]);
    const sizes = b.constant(int64s(members.map((m) => m.width)), 'fused_sizes');
    b.opN('Split', [y, sizes], members.length, { axis: -1 }, 'fused_piece');
    // The pieces take over the names of the values they replace, so consumers need no rewiring.
    graph.nodes[graph.nodes.length - 1].outputs = pieces;
    const added = graph.nodes.splice(before);

    const removed = new Set(members.flatMap((m) => (withBias ? [m.matmul, m.biasAdd!] : [m.matmul])));
    const kept = graph.nodes.filter((n) => !removed.has(n));
    const at = kept.findIndex((n) => position.get(n)! > first);
    graph.nodes = at < 0 ? [...kept, ...added] : [...kept.slice(0, at), ...added, ...kept.slice(at)];
    graph.nodes.forEach((n, i) => position.set(n, i));
    graph.nodes.forEach((n, i) => n.outputs.forEach((o) => definedAt.set(o, i)));
    fused++;
  }
  return fused;
}
