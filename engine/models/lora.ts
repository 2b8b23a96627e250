// LoRA (Hu et al., 2021): a frozen weight W learns only a low-rank update, W + (alpha/r)·B·A with A [r, in] and
// B [out, r]. B starts at zero, so the adapted model starts exactly where the base model is. The effective weight is
// one Gemm node in front of the layer that reads W, which leaves W a frozen initializer and works for every layer
// layout; export folds the adapters back into plain weights, so the served model is the base architecture.
import { Rng } from '../data/rng.ts';
import { GraphBuilder, float, tensor, type Graph, type Model, type Node, type TensorData } from '../ir/index.ts';
import { cloneGraph, renameValue } from './graph-edit.ts';
import { InvalidInput } from '../invalid-input.ts';

export interface LoraSpec {
  rank: number;
  alpha: number;
  /** A regular expression over initializer names: the MatMul/Gemm weights that get adapters. */
  target: string;
  /** Weights that never get adapters (e.g. a head that trains in full). */
  exclude?: string[];
  seed: number;
}

export const loraA = (weight: string) => `${weight}.lora_A`;
export const loraB = (weight: string) => `${weight}.lora_B`;

/** True when `node` reads `weight` as [out, in] (torch's Linear layout, Gemm transB=1), false for [in, out]. */
function isOutIn(node: Node): boolean {
  const transB = node.attrs.transB;
  return node.op === 'Gemm' && transB?.kind === 'int' && transB.value === 1;
}

/** The 2-D weights read as the B operand of a MatMul or Gemm whose names match `target`, with their layout. */
function targets(graph: Graph, spec: LoraSpec): Map<string, { outIn: boolean }> {
  const pattern = new RegExp(spec.target);
  const found = new Map<string, { outIn: boolean }>();
  for (const node of graph.nodes) {
    if (node.op !== 'MatMul' && node.op !== 'Gemm') continue;
    const name = node.inputs[1];
    const w = graph.initializers.get(name);
    if (!w || w.dims.length !== 2 || w.dtype !== 'float32') continue;
    if (!pattern.test(name) || spec.exclude?.includes(name)) continue;
    if (node.op === 'Gemm' && node.attrs.transA?.kind === 'int' && node.attrs.transA.value === 1) continue;
    const outIn = isOutIn(node);
    if (found.has(name) && found.get(name)!.outIn !== outIn) {
      throw new Error(`LoRA: weight '${name}' is read as both [in, out] and [out, in]; cannot adapt it`);
    }
    found.set(name, { outIn });
  }
  return found;
}

/**
 * `model` with rank-`spec.rank` adapters on every matching weight: initializers `<W>.lora_A` (uniform in
 * ±1/sqrt(in), as PEFT initialises it) and `<W>.lora_B` (zeros), and a node computing W + (alpha/r)·B·A that the
 * layers read instead of W. W itself is untouched. Train the adapter names (see `adapterNames`).
 */
export function injectLora(model: Model, spec: LoraSpec): Model {
  const { rank, alpha } = spec;
  if (!Number.isInteger(rank) || rank < 1) throw new InvalidInput(`LoRA rank must be a positive integer, got ${rank}`);
  if (!(Number.isFinite(alpha) && alpha > 0)) throw new InvalidInput(`LoRA alpha must be a number > 0, got ${alpha}`);
  const graph = cloneGraph(model.graph);
  const chosen = targets(graph, spec);
  if (chosen.size === 0) {
    throw new InvalidInput(`LoRA: no MatMul/Gemm weight matches the target pattern /${spec.target}/`);
  }
  const rng = Rng.fromSeed(spec.seed);
  const b = new GraphBuilder(graph);
  const adapters: Node[] = [];
  const before = graph.nodes.length;
  for (const [name, { outIn }] of chosen) {
    const w = graph.initializers.get(name)!;
    const [fanIn, fanOut] = outIn ? [w.dims[1], w.dims[0]] : w.dims;
    const bound = 1 / Math.sqrt(fanIn);
    const a = new Float32Array(rank * fanIn);
    for (let i = 0; i < a.length; i++) a[i] = (rng.nextFloat() * 2 - 1) * bound;
    const aName = b.initializer(loraA(name), tensor('float32', [rank, fanIn], a));
    const bName = b.initializer(loraB(name), tensor('float32', [fanOut, rank]));
    // [out, in] = B·A; [in, out] = Aᵀ·Bᵀ. Gemm's alpha carries the scale and C the frozen weight.
    const scale = alpha / rank;
    const effective = outIn
      ? b.op('Gemm', [bName, aName, name], { alpha: float(scale) }, `${name}.lora_effective`)
      : b.op('Gemm', [aName, bName, name], { alpha: float(scale), transA: 1, transB: 1 }, `${name}.lora_effective`);
    const adapter = graph.nodes.pop()!;
    for (const n of graph.nodes) n.inputs = n.inputs.map((i) => (i === name ? effective : i));
    adapters.push(adapter);
  }
  // The adapters read only initializers, so they go first: the node list stays topologically sorted.
  graph.nodes = [...adapters, ...graph.nodes.slice(0, before)];
  return { ...model, graph };
}

/** The adapter initializers of a model `injectLora` produced, in graph order. */
export function adapterNames(graph: Graph): string[] {
  return [...graph.initializers.keys()].filter((n) => n.endsWith('.lora_A') || n.endsWith('.lora_B'));
}

/** W + scale·B·A ([out, in]) or W + scale·(B·A)ᵀ ([in, out]), summed in float64 and rounded once. */
function merged(w: TensorData, a: TensorData, bMat: TensorData, scale: number, outIn: boolean): TensorData {
  const [rank, fanIn] = a.dims;
  const fanOut = bMat.dims[0];
  const [wv, av, bv] = [w.data, a.data, bMat.data] as Float32Array[];
  const out = new Float32Array(wv.length);
  for (let o = 0; o < fanOut; o++) {
    for (let i = 0; i < fanIn; i++) {
      let delta = 0;
      for (let k = 0; k < rank; k++) delta += bv[o * rank + k] * av[k * fanIn + i];
      const at = outIn ? o * fanIn + i : i * fanOut + o;
      out[at] = wv[at] + scale * delta;
    }
  }
  return tensor('float32', [...w.dims], out);
}

/**
 * The plain model a LoRA model stands for: each adapter node is folded into its weight (same name, same layout as
 * the base model) and the adapters are dropped. A model without adapters is returned as is.
 */
export function mergeLora(model: Model): Model {
  const isAdapter = (n: Node) =>
    n.op === 'Gemm' && n.inputs.length === 3 && n.inputs.some((i) => i === loraA(n.inputs[2]));
  if (!model.graph.nodes.some(isAdapter)) return model;
  const graph = cloneGraph(model.graph);
  for (const node of graph.nodes.filter(isAdapter)) {
    const weight = node.inputs[2];
    const [a, bMat, w] = [loraA(weight), loraB(weight), weight].map((n) => graph.initializers.get(n));
    if (!a || !bMat || !w) throw new Error(`LoRA merge: adapter of '${weight}' lacks its A, B or base weight`);
    const alpha = node.attrs.alpha;
    const scale = alpha?.kind === 'float' ? alpha.value : 1;
    graph.initializers.set(weight, merged(w, a, bMat, scale, node.inputs[0] === loraB(weight)));
    graph.initializers.delete(loraA(weight));
    graph.initializers.delete(loraB(weight));
    graph.nodes = graph.nodes.filter((n) => n !== node);
    renameValue(graph, node.outputs[0], weight);
  }
  return { ...model, graph };
}
