// Attention's heads moved in and out by the engine's own SplitHeads and MergeHeads (engine/runtime/native/kernels.c)
// where the step runs with its own kernels. The forward graph splits the Q, K, V projection (x·W + b) into heads
// with an Add, a Split and, for each part, a Reshape and a Transpose; each of those is a pass over the values, and
// the backward pass mirrors them. SplitHeads makes the parts from x and b in one pass, MergeHeads puts the heads'
// context back to [batch, L, d] (and their gradients, rules/own.ts): the same values, copied, and the bias added
// with Add's float32 sum. Rewritten before autodiff, so the gradients are taken of the kernels themselves.
import { RATCHET_DOMAIN, inferKnown, type Attr, type Dim, type Graph, type Node } from '../ir/index.ts';

const PERMS: Record<string, number> = { '0,2,1,3': 0, '0,2,3,1': 1 };

/** The kernels' attributes: H heads, and for each part 1 where its heads are [rows, H, dh, L]. */
const layoutAttrs = (heads: number, transposed: number[]): Record<string, Attr> => ({
  heads: { kind: 'int', value: heads },
  transposed: { kind: 'ints', value: transposed },
});

/** Rewrites `graph` in place; returns how many SplitHeads and MergeHeads nodes it made. */
export function useHeadKernels(graph: Graph): number {
  let known: ReturnType<typeof inferKnown>;
  try {
    known = inferKnown(graph);
  } catch {
    return 0;
  }
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const readers = new Map<string, Node[]>();
  for (const n of graph.nodes) for (const v of n.inputs) readers.set(v, [...(readers.get(v) ?? []), n]);
  const producer = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  /** The one node reading v, when v is read by one node only and is no graph output. */
  const onlyReader = (v: string, op: string) => {
    const r = readers.get(v);
    return r?.length === 1 && r[0].op === op && !r[0].domain && !outputs.has(v) ? r[0] : undefined;
  };
  const shape = (v: string) => known.get(v)?.shape;
  const float32 = (v: string) => known.get(v)?.dtype === 'float32';
  const same = (a: Dim[] | undefined, b: Dim[] | undefined) => !!a && !!b && a.join() === b.join();
  const perm = (n: Node) => {
    const p = n.attrs.perm;
    return p?.kind === 'ints' ? PERMS[p.value.join()] : undefined;
  };
  const removed = new Set<Node>();
  // The inputs of the nodes taken apart, some of them constants (shapes, sizes) that may go unread now.
  const unhooked: string[] = [];
  let made = 0;

  /** Reshape [rows, L, H·dh] → [rows, L, H, dh], then Transpose into heads: H and the part's layout entry. */
  const heads = (v: string) => {
    const reshape = onlyReader(v, 'Reshape');
    const transpose = reshape && onlyReader(reshape.outputs[0], 'Transpose');
    const [x, y] = [shape(v), reshape && shape(reshape.outputs[0])];
    const t = transpose && perm(transpose);
    if (t === undefined || !x || x.length !== 3 || y?.length !== 4 || !same(x.slice(0, 2), y.slice(0, 2))) return;
    const [H, dh] = y.slice(2);
    if (typeof H !== 'number' || typeof dh !== 'number' || x[2] !== H * dh) return;
    return { H, t, nodes: [reshape!, transpose!], output: transpose!.outputs[0] };
  };

  for (const node of [...graph.nodes]) {
    if (removed.has(node) || node.domain) continue;
    // The parts: a Split's outputs on the last axis, or a value of its own.
    const split = node.op === 'Split' && onlyReader(node.inputs[0], 'Split') === node ? node : undefined;
    const values = split ? split.outputs : node.op === 'Reshape' ? [node.inputs[0]] : [];
    if (split && shape(split.inputs[0])?.length !== 3) continue;
    if (split && ![-1, 2].includes(split.attrs.axis?.kind === 'int' ? split.attrs.axis.value : 0)) continue;
    if (!split && (values.length === 0 || producer.get(values[0])?.op === 'Split')) continue;
    const parts = values.map(heads);
    if (parts.length === 0 || parts.some((p) => !p || p.H !== parts[0]!.H)) continue;
    const source = split ? split.inputs[0] : values[0];
    if (!float32(source) || (split && !values.every((v) => same(shape(v), shape(values[0]))))) continue;
    // x + b, read by nothing else, with b [width]: the kernel adds it.
    const add = producer.get(source);
    const width = shape(source)![2];
    const bias =
      add?.op === 'Add' && !add.domain && (readers.get(source)?.length ?? 0) === 1 && !outputs.has(source)
        ? add.inputs.findIndex((v) => same(shape(v), [width]) && float32(v))
        : -1;
    const x = bias >= 0 ? add!.inputs[1 - bias] : source;
    if (bias >= 0 && !same(shape(x), shape(source))) continue;
    const first = bias >= 0 ? add! : (split ?? parts[0]!.nodes[0]);
    const gone = [...(bias >= 0 ? [add!] : []), ...(split ? [split] : []), ...parts.flatMap((p) => p!.nodes)];
    for (const n of gone) if (n !== first) removed.add(n);
    unhooked.push(...first.inputs);
    Object.assign(first, {
      op: 'SplitHeads',
      domain: RATCHET_DOMAIN,
      inputs: [x, ...(bias >= 0 ? [add!.inputs[bias]] : [])],
      outputs: parts.map((p) => p!.output),
      attrs: layoutAttrs(
        parts[0]!.H,
        parts.map((p) => p!.t),
      ),
    });
    made++;
  }

  // The heads' context [rows, H, L, dh] → Transpose [rows, L, H, dh] → Reshape [rows, L, H·dh].
  for (const transpose of [...graph.nodes]) {
    if (removed.has(transpose) || transpose.op !== 'Transpose' || transpose.domain || perm(transpose) !== 0) continue;
    const reshape = onlyReader(transpose.outputs[0], 'Reshape');
    const [y, x] = [shape(transpose.inputs[0]), reshape && shape(reshape.outputs[0])];
    if (!float32(transpose.inputs[0]) || y?.length !== 4 || x?.length !== 3) continue;
    const [H, L, dh] = y.slice(1);
    if (typeof H !== 'number' || typeof dh !== 'number' || !same(x, [y[0], L, H * dh])) continue;
    removed.add(reshape!);
    unhooked.push(...transpose.inputs);
    Object.assign(transpose, {
      op: 'MergeHeads',
      domain: RATCHET_DOMAIN,
      inputs: [transpose.inputs[0]],
      outputs: [reshape!.outputs[0]],
      attrs: layoutAttrs(H, [0]),
    });
    made++;
  }
  graph.nodes = graph.nodes.filter((n) => !removed.has(n));
  // The Reshapes' shapes and the Splits' sizes: left in the graph, ONNX Runtime would warn of each unused one.
  const read = new Set(graph.nodes.flatMap((n) => n.inputs));
  for (const v of new Set([...unhooked, ...[...removed].flatMap((n) => n.inputs)])) {
    if (!read.has(v) && graph.initializers.has(v) && !outputs.has(v)) graph.initializers.delete(v);
  }
  return made;
}
