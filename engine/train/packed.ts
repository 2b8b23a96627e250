// The trainable parameters packed end to end into one flat float32 vector, and the optimiser state with them.
// One vector means the optimiser's element-wise update runs as a dozen kernels over all the weights instead of a
// dozen per weight tensor: on a 38-tensor encoder that was 500 of the step's 813 kernels.
import { GraphBuilder, elementCount, tensor, type Graph, type TensorData } from '../ir/index.ts';
import { renameValue } from '../models/graph-edit.ts';

export interface PackedLayout {
  names: string[];
  dims: number[][];
  /** Where each parameter starts in the flat vector. */
  offsets: number[];
  /** The flat vector's length. */
  size: number;
}

/** Training updates float32 values only (the optimiser's scalars and state are float32). */
export function checkTrainable(name: string, t: TensorData): void {
  if (t.dtype !== 'float32') throw new Error(`trainable parameter '${name}' is ${t.dtype}; only float32 trains`);
}

export function packedLayout(params: Array<{ name: string; tensor: TensorData }>): PackedLayout {
  const layout: PackedLayout = { names: [], dims: [], offsets: [], size: 0 };
  for (const { name, tensor: t } of params) {
    checkTrainable(name, t);
    layout.names.push(name);
    layout.dims.push([...t.dims]);
    layout.offsets.push(layout.size);
    layout.size += t.data.length;
  }
  return layout;
}

/** One flat vector from tensors by parameter name, in the layout's order. */
export function pack(layout: PackedLayout, tensors: (name: string) => TensorData): Float32Array {
  const flat = new Float32Array(layout.size);
  layout.names.forEach((name, i) => flat.set(tensors(name).data as Float32Array, layout.offsets[i]));
  return flat;
}

/** The flat vector's parameters by name, as views into it (no copy). */
export function unpack(layout: PackedLayout, flat: Float32Array): Map<string, TensorData> {
  return new Map(
    layout.names.map((name, i) => {
      const start = layout.offsets[i];
      const data = flat.subarray(start, start + elementCount(layout.dims[i]));
      return [name, { dtype: 'float32', dims: [...layout.dims[i]], data }];
    }),
  );
}

/**
 * Replaces the graph inputs named after the layout's parameters by slices of one flat input `flatName`: a Split
 * and a Reshape per parameter of rank above 1 (Reshape aliases its input in ORT, so the split is the only copy).
 */
export function readPackedInput(graph: Graph, layout: PackedLayout, flatName: string): void {
  const named = new Set(layout.names);
  graph.inputs = graph.inputs.filter((v) => !named.has(v.name));
  const b = new GraphBuilder(graph);
  b.input(flatName, 'float32', [layout.size]);
  const appended = graph.nodes.length;
  const sizes = b.constant(
    tensor(
      'int64',
      [layout.names.length],
      BigInt64Array.from(layout.dims, (d) => BigInt(elementCount(d))),
    ),
    'param_sizes',
  );
  // A 1-D parameter is its slice as it comes; the others are reshaped from theirs. One parameter is the whole vector.
  const single = layout.names.length === 1;
  const pieces = layout.names.map((name, i) =>
    single ? flatName : layout.dims[i].length === 1 ? name : b.fresh(`${name}_flat`),
  );
  if (single && layout.dims[0].length === 1) renameValue(graph, layout.names[0], flatName);
  if (!single) {
    const axis = { kind: 'int' as const, value: 0 };
    graph.nodes.push({
      op: 'Split',
      name: 'unpack_params',
      inputs: [flatName, sizes],
      outputs: pieces,
      attrs: { axis },
    });
  }
  layout.names.forEach((name, i) => {
    const dims = layout.dims[i];
    if (dims.length === 1) return;
    const shape = b.constant(tensor('int64', [dims.length], BigInt64Array.from(dims, BigInt)));
    graph.nodes.push({ op: 'Reshape', name: `unpack_${name}`, inputs: [pieces[i], shape], outputs: [name], attrs: {} });
  });
  // The slices feed the forward pass, so they go first in the node order.
  graph.nodes = [...graph.nodes.slice(appended), ...graph.nodes.slice(0, appended)];
}

/** The gradients of the layout's parameters concatenated into one flat vector, matching the packed inputs. */
export function packGradients(b: GraphBuilder, layout: PackedLayout, grads: string[]): string {
  const flat = b.constant(tensor('int64', [1], BigInt64Array.of(-1n)), 'flat_shape');
  const pieces = grads.map((g, i) => (layout.dims[i].length === 1 ? g : b.op('Reshape', [g, flat], {}, 'flat_grad')));
  return pieces.length === 1 ? pieces[0] : b.op('Concat', pieces, { axis: 0 }, 'packed_grad');
}
