// The residual stream's gradient sums folded into LayerNorm's own gradient kernel (engine/runtime/native/kernels.c):
// where the backward pass adds the kernel's dx to the stream's other gradient (an Add of two tensors of one shape,
// the kernel's output read by that Add alone), the kernel takes the other as its seventh input and adds it in the same
// pass, one full-size pass fewer. Float32 addition is commutative, so the sum has the Add's bits either way round.
// Only where the step runs with the engine's own kernels.
import { RATCHET_DOMAIN, inferShapes, type Graph, type Node } from '../ir/index.ts';

export function foldGradientAdds(graph: Graph): void {
  let shapes: ReturnType<typeof inferShapes>;
  try {
    shapes = inferShapes(graph);
  } catch {
    return;
  }
  const producers = new Map<string, Node>();
  const readers = new Map<string, number>();
  for (const node of graph.nodes) {
    for (const v of node.outputs) producers.set(v, node);
    for (const v of node.inputs) readers.set(v, (readers.get(v) ?? 0) + 1);
  }
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const sameShape = (a: string, b: string) => {
    const [x, y] = [shapes.get(a), shapes.get(b)];
    return Boolean(x && y && x.dtype === 'float32' && x.dtype === y.dtype && x.shape.join() === y.shape.join());
  };
  // Each Add folded, with the kernel it goes into and the kernel's new input.
  const folds = new Map<Node, { kernel: Node; addend: string }>();
  const kernels = new Set<Node>();
  for (const node of graph.nodes) {
    if (node.op !== 'Add' || node.domain || node.inputs.length !== 2) continue;
    for (const k of [0, 1]) {
      const [own, addend] = [node.inputs[k], node.inputs[1 - k]];
      const kernel = producers.get(own);
      const foldable =
        kernel?.domain === RATCHET_DOMAIN &&
        kernel.op === 'LayerNormGradX' &&
        kernel.inputs.length === 6 &&
        !kernels.has(kernel) &&
        readers.get(own) === 1 &&
        !outputs.has(own) &&
        sameShape(own, addend);
      if (!foldable) continue;
      folds.set(node, { kernel, addend });
      kernels.add(kernel);
      break;
    }
  }
  // Each kernel in its Add's place: both of the Add's inputs are made before it, and so are the kernel's own.
  graph.nodes = graph.nodes.flatMap((node): Node[] => {
    if (kernels.has(node)) return [];
    const fold = folds.get(node);
    if (!fold) return [node];
    return [{ ...fold.kernel, inputs: [...fold.kernel.inputs, fold.addend], outputs: [...node.outputs] }];
  });
}
