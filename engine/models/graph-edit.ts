import type { Graph } from '../ir/index.ts';

/** A copy of `g` whose node list, node input/output lists and initializer map can be edited freely. */
export function cloneGraph(g: Graph): Graph {
  return {
    name: g.name,
    nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs] })),
    inputs: g.inputs.map((v) => ({ ...v, shape: [...v.shape] })),
    outputs: g.outputs.map((v) => ({ ...v, shape: [...v.shape] })),
    initializers: new Map(g.initializers),
  };
}

/** Renames value `from` to `to` everywhere in `g`: its producer, its consumers, graph inputs and outputs. */
export function renameValue(g: Graph, from: string, to: string): void {
  for (const n of g.nodes) {
    n.inputs = n.inputs.map((v) => (v === from ? to : v));
    n.outputs = n.outputs.map((v) => (v === from ? to : v));
  }
  for (const v of [...g.inputs, ...g.outputs]) if (v.name === from) v.name = to;
}
