// Reverse-mode autodiff on the IR: appends to the graph the nodes that compute d(loss)/d(wrt).
import {
  GraphBuilder,
  DEFAULT_OPSET,
  RATCHET_DOMAIN,
  elementCount,
  inferKnown,
  int64s,
  isFloat,
  isStatic,
  tensor,
  tensorAttr,
  type Graph,
  type Node,
} from '../ir/index.ts';
import type { Known } from '../ir/shapes.ts';
import { SharedConstants, makeContext } from './context.ts';
import { NoGradientRuleError } from './errors.ts';
import { gradientRules } from './rules/index.ts';
import { ownKernelRules } from './rules/own.ts';

/** The rule for a node: by op type in ONNX's default domain, or among the engine's own kernels. */
const ruleOf = (n: Node) =>
  !n.domain ? gradientRules[n.op] : n.domain === RATCHET_DOMAIN ? ownKernelRules[n.op] : undefined;

export interface GradientOptions {
  /** The value to differentiate; a scalar, or any shape (then d(Σ loss) is taken). */
  loss: string;
  /** Graph inputs or initializers to differentiate with respect to. */
  wrt: string[];
  /**
   * Opset the graph is run at (default 20). The backward pass uses op forms that hold from opset 13 on (axes as
   * inputs); Gather's gradient uses a scatter with reduction from 16 and a one-hot product before.
   */
  opset?: number;
  /**
   * The graph will run on one intra-op thread (default false): Gather's gradient may then use ScatterND, whose
   * reduction is only deterministic on one thread (rules/shape.ts).
   */
  oneThread?: boolean;
  /**
   * The graph will run in the native runner (default false): rules may use the engine's own kernels
   * (RATCHET_DOMAIN), and the model must then import that domain.
   */
  ownKernels?: boolean;
}

/**
 * Appends the backward pass to `graph` and returns, for each name in `wrt`, the value holding its gradient
 * (same shape). Only nodes on a path from a wrt value to the loss get backward nodes; integer and boolean
 * values (shapes, indices, masks) carry no gradient, so shape sub-graphs are constants to the backward pass.
 */
export function addGradients(graph: Graph, opts: GradientOptions): Map<string, string> {
  const { loss, wrt } = opts;
  const opset = opts.opset ?? DEFAULT_OPSET;
  if (opset < 13) {
    throw new Error(`addGradients: needs opset 13 or later (it passes axes as inputs); the graph's is ${opset}`);
  }
  const known = inferKnown(graph);
  // A value of unknown type (its op has no shape rule) counts as differentiable: treating it as a constant
  // would silently zero the gradients behind it; as it is, its node must have a rule, or addGradients says so.
  const isDifferentiable = (v: string) => {
    const k = known.get(v);
    return k === undefined || isFloat(k.dtype);
  };
  for (const w of wrt) {
    if (!known.has(w)) throw new Error(`addGradients: '${w}' is not an input or initializer of graph '${graph.name}'`);
    if (!isFloat(known.get(w)!.dtype))
      throw new Error(`addGradients: '${w}' is ${known.get(w)!.dtype}; only float values have gradients`);
  }
  if (!known.has(loss) && !graph.nodes.some((n) => n.outputs.includes(loss))) {
    throw new Error(`addGradients: loss '${loss}' is not a value of graph '${graph.name}'`);
  }

  // Values that depend on a wrt value through float values only.
  const fromWrt = new Set(wrt);
  for (const n of graph.nodes) {
    if (n.inputs.some((i) => fromWrt.has(i))) for (const o of n.outputs) if (isDifferentiable(o)) fromWrt.add(o);
  }
  // Values the loss depends on.
  const toLoss = new Set([loss]);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i];
    if (n.outputs.some((o) => toLoss.has(o))) for (const v of n.inputs) if (v) toLoss.add(v);
  }
  const onPath = (v: string) => fromWrt.has(v) && toLoss.has(v);
  const active = graph.nodes.filter((n) => n.outputs.some(onPath) && n.inputs.some(onPath));
  for (const n of active) if (!ruleOf(n)) throw new NoGradientRuleError(n.name, n.op);

  const lossInfo = known.get(loss);
  if (!lossInfo) throw new Error(`addGradients: the shape of loss '${loss}' could not be inferred`);

  const b = new GraphBuilder(graph);
  const constants = new SharedConstants(b);
  // Gradient contributions per value, summed when the value feeds several nodes.
  const contributions = new Map<string, string[]>();
  const add = (v: string, g: string) => contributions.set(v, [...(contributions.get(v) ?? []), g]);
  const total = (v: string): string | undefined => {
    const gs = contributions.get(v);
    if (!gs) return undefined;
    if (gs.length === 1) return gs[0];
    // Added pairwise: ORT's variadic Sum took about twice an Add's time on [32, 64, 64] (profile of the encoder step).
    const sum = gs.reduce((acc, g) => b.op('Add', [acc, g], {}, `${v}_grad`));
    contributions.set(v, [sum]);
    return sum;
  };

  const readers = new Map<string, Node[]>();
  for (const n of graph.nodes) for (const v of n.inputs) readers.set(v, [...(readers.get(v) ?? []), n]);
  const around = { readers: (v: string) => readers.get(v) ?? [], gradientOf: total };

  add(loss, seed(b, lossInfo, loss));
  for (let i = active.length - 1; i >= 0; i--) {
    const node = active[i];
    const dys = node.outputs.map((o) => (onPath(o) ? total(o) : undefined));
    if (dys.every((d) => d === undefined)) continue;
    const needs = (k: number) => Boolean(node.inputs[k]) && onPath(node.inputs[k]);
    const ctx = makeContext(b, constants, known, node, dys, needs, around, opset, {
      oneThread: opts.oneThread ?? false,
      ownKernels: opts.ownKernels ?? false,
    });
    const grads = ruleOf(node)!(ctx);
    grads.forEach((g, k) => {
      if (g && needs(k)) add(node.inputs[k], g);
    });
  }

  const result = new Map<string, string>();
  for (const w of wrt) result.set(w, total(w) ?? zerosLike(b, known.get(w)!, w));
  return result;
}

// d(loss)/d(loss): ones of the loss's shape.
function seed(b: GraphBuilder, k: Known, loss: string): string {
  if (isStatic(k.shape))
    return b.constant(tensor(k.dtype, k.shape, new Array(elementCount(k.shape)).fill(1)), `${loss}_grad_seed`);
  return b.op('ConstantOfShape', [b.op('Shape', [loss])], { value: tensorAttr(tensor(k.dtype, [1], [1])) });
}

// A wrt value the loss does not depend on has gradient zero.
function zerosLike(b: GraphBuilder, k: Known, w: string): string {
  const shape = isStatic(k.shape) ? b.constant(int64s(k.shape), 'shape') : b.op('Shape', [w]);
  return b.op('ConstantOfShape', [shape], { value: tensorAttr(tensor(k.dtype, [1], [0])) }, `${w}_grad`);
}
