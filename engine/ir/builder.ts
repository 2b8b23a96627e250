import { toAttr, type AttrInput } from './attrs.ts';
import type { Attr, DType, Dim, Graph, TensorData } from './types.ts';

export function emptyGraph(name = 'main'): Graph {
  return { name, nodes: [], inputs: [], outputs: [], initializers: new Map() };
}

/**
 * Appends inputs, initializers and nodes to a Graph, giving every value and node a unique name. Several builders
 * (and addGradients) may append to one graph in turn: each picks up the names the others added before naming.
 */
export class GraphBuilder {
  readonly graph: Graph;
  private readonly valueNames = new Set<string>();
  private readonly nodeNames = new Set<string>();
  // How much of the graph the name sets cover; whatever lies beyond was appended by someone else.
  private readonly seen = { inputs: 0, nodes: 0, initializers: 0 };
  // Next suffix to try per hint, so naming stays O(1) when a hint like 'matmul' is used thousands of times.
  // Shared by value and node names: a skipped suffix costs nothing, uniqueness is checked against the right set.
  private readonly suffixes = new Map<string, number>();

  constructor(graph: Graph = emptyGraph()) {
    this.graph = graph;
    this.sync();
  }

  input(name: string, dtype: DType, shape: Dim[]): string {
    this.claim(name);
    this.graph.inputs.push({ name, dtype, shape: [...shape] });
    return name;
  }

  initializer(name: string, t: TensorData): string {
    this.claim(name);
    this.graph.initializers.set(name, t);
    this.seen.initializers = this.graph.initializers.size;
    return name;
  }

  constant(t: TensorData, hint = 'const'): string {
    const name = this.fresh(hint);
    this.graph.initializers.set(name, t);
    this.seen.initializers = this.graph.initializers.size;
    return name;
  }

  op(op: string, inputs: string[], attrs: Record<string, AttrInput> = {}, hint?: string): string {
    return this.opN(op, inputs, 1, attrs, hint)[0];
  }

  opN(op: string, inputs: string[], nOutputs: number, attrs: Record<string, AttrInput> = {}, hint?: string): string[] {
    const base = hint ?? op.toLowerCase();
    const outputs = Array.from({ length: nOutputs }, (_, i) => this.fresh(nOutputs === 1 ? base : `${base}_${i}`));
    const converted: Record<string, Attr> = {};
    for (const [k, v] of Object.entries(attrs)) converted[k] = toAttr(k, v);
    this.graph.nodes.push({ op, name: this.freshNode(op), inputs: [...inputs], outputs, attrs: converted });
    return outputs;
  }

  /** A node of a domain other than ONNX's own; the model must import that domain (Model.extraOpsets). */
  domainOp(
    domain: string,
    op: string,
    inputs: string[],
    nOutputs: number,
    attrs: Record<string, AttrInput> = {},
    hint?: string,
  ): string[] {
    const outputs = this.opN(op, inputs, nOutputs, attrs, hint);
    this.graph.nodes[this.graph.nodes.length - 1].domain = domain;
    return outputs;
  }

  output(name: string, dtype: DType, shape: Dim[]): void {
    this.graph.outputs.push({ name, dtype, shape: [...shape] });
  }

  /** A value name not yet used in the graph, derived from `hint`. */
  fresh(hint: string): string {
    return this.unique(hint, this.valueNames);
  }

  private freshNode(op: string): string {
    return this.unique(op, this.nodeNames);
  }

  private unique(hint: string, used: Set<string>): string {
    this.sync();
    let name = hint;
    let i = this.suffixes.get(hint) ?? 1;
    while (used.has(name)) name = `${hint}_${i++}`;
    this.suffixes.set(hint, i);
    used.add(name);
    return name;
  }

  private claim(name: string): void {
    this.sync();
    if (this.valueNames.has(name)) throw new Error(`GraphBuilder: value name '${name}' is already used in the graph`);
    this.valueNames.add(name);
  }

  private sync(): void {
    const g = this.graph;
    for (; this.seen.inputs < g.inputs.length; this.seen.inputs++) this.valueNames.add(g.inputs[this.seen.inputs].name);
    for (; this.seen.nodes < g.nodes.length; this.seen.nodes++) {
      const n = g.nodes[this.seen.nodes];
      this.nodeNames.add(n.name);
      for (const o of n.outputs) this.valueNames.add(o);
    }
    // Initializers can also be deleted (a parameter turned into an input), so a changed count means a rescan.
    if (g.initializers.size !== this.seen.initializers) {
      for (const name of g.initializers.keys()) this.valueNames.add(name);
      this.seen.initializers = g.initializers.size;
    }
  }
}
