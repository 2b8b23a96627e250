// Static shape inference over the IR. Symbolic dims ('batch') flow through; sizes computed from them become
// expressions ('batch*4'). Shape sub-graphs (Shape → Gather → Concat → Reshape, as torch.onnx.export writes them)
// are evaluated on the way, so Reshape/Expand/Slice targets resolve. A node whose op has no rule, or whose
// inputs are unknown, leaves its outputs out of the result; callers that need them say so.
import { RATCHET_DOMAIN } from './domains.ts';
import {
  fromTensor,
  microsoftShapeRules,
  ownKernelShapeRules,
  shapeRules,
  type Known,
  type ShapeContext,
} from './shape-rules.ts';
import type { Graph, ValueInfo } from './types.ts';

export type { Known } from './shape-rules.ts';

/** Infers the dtype and shape of every value it can: graph inputs, initializers and node outputs. */
export function inferShapes(g: Graph): Map<string, ValueInfo> {
  const result = new Map<string, ValueInfo>();
  for (const [name, k] of inferKnown(g)) result.set(name, { name, dtype: k.dtype, shape: k.shape });
  return result;
}

/** inferShapes, plus the elements of small integer values (axes, shapes) where they are static. */
export function inferKnown(g: Graph): Map<string, Known> {
  const known = new Map<string, Known>();
  for (const [name, t] of g.initializers) known.set(name, fromTensor(t));
  for (const v of g.inputs) known.set(v.name, { dtype: v.dtype, shape: v.shape, values: known.get(v.name)?.values });
  for (const node of g.nodes) {
    const rule = !node.domain
      ? shapeRules[node.op]
      : node.domain === RATCHET_DOMAIN
        ? ownKernelShapeRules[node.op]
        : node.domain === 'com.microsoft'
          ? microsoftShapeRules[node.op]
          : undefined;
    if (!rule) continue;
    const input = (i: number) => (node.inputs[i] ? known.get(node.inputs[i]) : undefined);
    const ctx: ShapeContext = {
      node,
      in: input,
      ints: (i) => {
        const v = input(i)?.values;
        return v && v.every((d) => typeof d === 'number') ? (v as number[]) : undefined;
      },
      attrs: node.attrs,
    };
    let outs: (Known | undefined)[] | undefined;
    try {
      outs = rule(ctx);
    } catch (e) {
      throw new Error(`shape inference failed at node '${node.name}' (${node.op}): ${(e as Error).message}`);
    }
    node.outputs.forEach((name, i) => {
      const o = outs?.[i];
      if (name && o) known.set(name, o);
    });
  }
  return known;
}
