// LoRA (Hu et al., 2021): a frozen weight W learns only a low-rank update, W + (alpha/r)·B·A with A [r, in] and
// B [out, r]. B starts at zero, so the adapted model starts exactly where the base model is. Each layer that reads W
// gets the path scale·(x·Aᵀ)·Bᵀ beside it, which leaves W a frozen initializer and works for every layer layout;
// export folds the adapters back into plain weights, so the served model is the base architecture.
import { Rng } from '../data/rng.ts';
import {
  GraphBuilder,
  attrValue,
  int64s,
  scalar,
  tensor,
  tensorAttr,
  type Graph,
  type Model,
  type Node,
  type TensorData,
} from '../ir/index.ts';
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
const loraScale = (weight: string) => `${weight}.lora_scale`;

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
 * ±1/sqrt(in), as PEFT initialises it), `<W>.lora_B` (zeros) and `<W>.lora_scale` (alpha/r), and beside each layer
 * that reads W the low-rank path scale·(x·Aᵀ)·Bᵀ added to its output (after its bias, when a bias Add follows).
 * W itself is untouched. Train the adapter names (see `adapterNames`).
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
  const factors: Node[] = [];
  const layers = [...graph.nodes];
  for (const [name, { outIn }] of chosen) {
    const w = graph.initializers.get(name)!;
    const [fanIn, fanOut] = outIn ? [w.dims[1], w.dims[0]] : w.dims;
    const bound = 1 / Math.sqrt(fanIn);
    const a = new Float32Array(rank * fanIn);
    for (let i = 0; i < a.length; i++) a[i] = (rng.nextFloat() * 2 - 1) * bound;
    const aName = b.initializer(loraA(name), tensor('float32', [rank, fanIn], a));
    const bName = b.initializer(loraB(name), tensor('float32', [fanOut, rank]));
    const scale = b.initializer(loraScale(name), scalar('float32', alpha / rank));
    // Aᵀ [in, r] and scale·Bᵀ [r, out], small, made once per step; they read only initializers, so they go first.
    const start = graph.nodes.length;
    const aT = b.op('Transpose', [aName], { perm: [1, 0] }, `${name}.lora_At`);
    const scaledBT = b.op('Mul', [b.op('Transpose', [bName], { perm: [1, 0] }), scale], {}, `${name}.lora_sBt`);
    factors.push(...graph.nodes.splice(start));
    for (const layer of layers.filter((n) => n.inputs[1] === name)) addLowRankPath(graph, b, layer, aT, scaledBT);
  }
  graph.nodes = [...factors, ...graph.nodes];
  return { ...model, graph };
}

/**
 * Adds scale·(x·Aᵀ)·Bᵀ to the output of `layer` (a MatMul or Gemm reading W as its second input). The product never
 * forms B·A: the backward pass then needs no [in, out] weight gradient, only rank-r products, as PEFT computes it. A
 * Gemm's alpha scales the path too, as it scales W. A MatMul's bias Add, when one follows, rides along as one more
 * rank, [x·Aᵀ, 1]·[scale·Bᵀ; b] = scale·x·Aᵀ·Bᵀ + b, so that the path's Add stands in for it: one full-size pass
 * fewer than adding both.
 */
function addLowRankPath(graph: Graph, b: GraphBuilder, layer: Node, aT: string, scaledBT: string): void {
  const users = graph.nodes.filter((n) => n.inputs.includes(layer.outputs[0]));
  const biasAdd = users.length === 1 && users[0].op === 'Add' ? users[0] : undefined;
  const bias = biasAdd?.inputs.find((v) => graph.initializers.get(v)?.dims.length === 1);
  const folded = layer.op === 'MatMul' ? bias : undefined;
  const last = bias ? biasAdd! : layer;
  const gemmAlpha = layer.op === 'Gemm' ? attrValue(layer.attrs, 'alpha', 'float', 1) : 1;
  const start = graph.nodes.length;
  let down = b.op('MatMul', [layer.inputs[0], aT], {}, 'lora_down');
  let up = gemmAlpha === 1 ? scaledBT : b.op('Mul', [scaledBT, b.constant(scalar('float32', gemmAlpha))]);
  if (folded) {
    const c = (values: number[]) => b.constant(int64s(values));
    const rows = b.op('Slice', [b.op('Shape', [down]), c([0]), c([-1])]);
    const ones = b.op('ConstantOfShape', [b.op('Concat', [rows, c([1])], { axis: 0 })], {
      value: tensorAttr(tensor('float32', [1], [1])),
    });
    down = b.op('Concat', [down, ones], { axis: -1 });
    up = b.op('Concat', [up, b.op('Reshape', [folded, c([1, -1])], {}, 'lora_bias_row')], { axis: 0 });
  }
  const path = b.op('MatMul', [down, up], {}, 'lora_up');
  // The sum takes over the name of the output it extends, so consumers and graph outputs need no rewiring.
  const output = last.outputs[0];
  const base = folded ? layer.outputs[0] : (last.outputs = [b.fresh(`${output}_base`)])[0];
  b.op('Add', [base, path], {}, 'lora_sum');
  const added = graph.nodes.splice(start);
  added.at(-1)!.outputs = [output];
  graph.nodes.splice(graph.nodes.indexOf(last) + 1, 0, ...added);
  if (folded) graph.nodes.splice(graph.nodes.indexOf(biasAdd!), 1);
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
 * The plain model a LoRA model stands for: each adapted weight becomes W + scale·B·A (same name, same layout as the
 * base model) and the low-rank paths and adapters are dropped. A model without adapters is returned as is.
 */
export function mergeLora(model: Model): Model {
  const weights = [...model.graph.initializers.keys()].filter((n) => model.graph.initializers.has(loraA(n)));
  if (weights.length === 0) return model;
  const graph = cloneGraph(model.graph);
  // Every value computed from an adapter lies on a low-rank path; the Add that joins a path to its layer's output
  // is the one node with a single such input, and its output takes the layer's output back, or is the layer's bias
  // Add again where the path carried the bias (a Reshape of a 1-D initializer that a path node reads).
  const fromAdapters = new Set(weights.flatMap((w) => [loraA(w), loraB(w), loraScale(w)]));
  const producer = new Map(graph.nodes.flatMap((n) => n.outputs.map((v) => [v, n] as const)));
  const biasRow = (v: string) => {
    const row = producer.get(v);
    const isRow = row?.op === 'Reshape' && graph.initializers.get(row.inputs[0])?.dims.length === 1;
    return isRow ? row : undefined;
  };
  const carried = new Map<string, string>();
  const rows = new Set<Node>();
  const kept: Node[] = [];
  for (const node of graph.nodes) {
    const onPath = node.inputs.filter((v) => fromAdapters.has(v));
    if (onPath.length === 0) kept.push(node);
    else if (node.op === 'Add' && onPath.length === 1 && node.inputs.length === 2) {
      const base = node.inputs.find((v) => !fromAdapters.has(v))!;
      const bias = carried.get(onPath[0]);
      if (bias) kept.push({ ...node, inputs: [base, bias] });
      else {
        graph.nodes = kept;
        renameValue(graph, base, node.outputs[0]);
      }
    } else {
      const row = node.inputs.map(biasRow).find((r) => r !== undefined);
      if (row) rows.add(row);
      const bias = row?.inputs[0] ?? onPath.map((v) => carried.get(v)).find((v) => v !== undefined);
      for (const v of node.outputs) {
        fromAdapters.add(v);
        if (bias) carried.set(v, bias);
      }
    }
  }
  graph.nodes = kept.filter((n) => !rows.has(n));
  for (const weight of weights) {
    const [a, bMat, w, scale] = [loraA, loraB, (n: string) => n, loraScale].map((f) =>
      graph.initializers.get(f(weight)),
    );
    if (!a || !bMat || !w || !scale) throw new Error(`LoRA merge: '${weight}' lacks its A, B, scale or base weight`);
    const reader = graph.nodes.find((n) => (n.op === 'MatMul' || n.op === 'Gemm') && n.inputs[1] === weight);
    if (!reader) throw new Error(`LoRA merge: no layer reads '${weight}'`);
    graph.initializers.set(weight, merged(w, a, bMat, Number(scale.data[0]), isOutIn(reader)));
    for (const f of [loraA, loraB, loraScale]) graph.initializers.delete(f(weight));
  }
  // The constants only the paths read (the ones column's shape) go with them.
  const read = new Set(graph.nodes.flatMap((n) => n.inputs));
  const left = new Set(graph.nodes.map((n) => n.name));
  const pathInputs = model.graph.nodes.filter((n) => !left.has(n.name)).flatMap((n) => n.inputs);
  for (const v of pathInputs) if (!read.has(v)) graph.initializers.delete(v);
  return { ...model, graph };
}
