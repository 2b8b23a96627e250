import type { Graph, Node } from '../ir/index.ts';

/**
 * The float initializers of rank ≥ 1 that feed, through any chain of nodes, a graph output: the weights a
 * method may train. Rank-0 initializers are constants of the computation (e.g. 0.5 in a GELU), not weights.
 */
export function weightsOnPathToOutput(graph: Graph): string[] {
  const producer = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const reached = new Set<string>();
  const stack = graph.outputs.map((o) => o.name);
  while (stack.length > 0) {
    const value = stack.pop()!;
    if (reached.has(value)) continue;
    reached.add(value);
    const node = producer.get(value);
    if (node) stack.push(...node.inputs.filter((i) => i !== ''));
  }
  return [...graph.initializers]
    .filter(([name, t]) => reached.has(name) && (t.dtype === 'float32' || t.dtype === 'float64') && t.dims.length > 0)
    .map(([name]) => name);
}

/** The node producing `value`, if any. */
export function producerOf(graph: Graph, value: string): Node | undefined {
  return graph.nodes.find((n) => n.outputs.includes(value));
}

export interface Head {
  /** The Gemm or MatMul that produces the classes' scores. */
  node: Node;
  weight: string;
  bias?: string;
  /** True when weight is [classes, hidden] (Gemm transB=1, torch's layout), false for [hidden, classes]. */
  transposed: boolean;
}

/**
 * The classifier's last linear layer: the output must come from Gemm(x, W, b), or from Add(MatMul(x, W), b) or
 * MatMul(x, W), with W (and b) initializers — the layouts torch.onnx.export and the MLP builder write.
 */
export function findHead(graph: Graph): Head {
  const output = graph.outputs[0].name;
  const isWeight = (v: string | undefined) => v !== undefined && graph.initializers.has(v);
  let node = producerOf(graph, output);
  let bias: string | undefined;
  if (node?.op === 'Add') {
    bias = node.inputs.find(isWeight);
    const other = node.inputs.find((i) => i !== bias);
    node = other === undefined ? undefined : producerOf(graph, other);
  }
  if (node?.op === 'Gemm' && isWeight(node.inputs[1]) && bias === undefined) {
    const transB = node.attrs.transB;
    const transposed = transB !== undefined && transB.kind === 'int' && transB.value === 1;
    return { node, weight: node.inputs[1], bias: isWeight(node.inputs[2]) ? node.inputs[2] : undefined, transposed };
  }
  if (node?.op === 'MatMul' && isWeight(node.inputs[1]))
    return { node, weight: node.inputs[1], bias, transposed: false };
  throw new Error(
    `cannot find the classifier head: output '${output}' must come from a Gemm or MatMul (+ Add) with weight initializers`,
  );
}
