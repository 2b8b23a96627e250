// What a gradient rule sees: the forward node, the gradients flowing into its outputs, and small helpers that
// emit the recurring pieces (scalars, shapes, broadcast reductions) so that each rule reads like its maths.
import {
  GraphBuilder,
  RATCHET_DOMAIN,
  int64s,
  isStatic,
  scalar,
  tensor,
  tensorAttr,
  type AttrInput,
} from '../ir/index.ts';
import type { Known } from '../ir/shapes.ts';
import type { DType, Dim, Node, TensorData } from '../ir/types.ts';

export interface GradContext {
  node: Node;
  /** Forward inputs and outputs by position. */
  x: string[];
  y: string[];
  /** Gradient of the loss w.r.t. output 0 (rules of multi-output ops read `dys`). */
  dy: string;
  dys: (string | undefined)[];
  /**
   * Forward output i, asking the forward node for it when the graph left it out (LayerNormalization's saved
   * statistics, Dropout's mask): the forward kernel computes it anyway, so the backward pass reuses it.
   */
  savedOutput: (i: number) => string;
  /** Whether input i needs a gradient; a rule may skip work for inputs that do not. */
  needs: (i: number) => boolean;
  /** The forward nodes that read value v. */
  readers: (v: string) => Node[];
  /**
   * The gradient of a forward value computed after this node (so its gradient is complete when this node's rule
   * runs), or undefined when the loss does not depend on it.
   */
  gradientOf: (v: string) => string | undefined;
  op: (op: string, inputs: string[], attrs?: Record<string, AttrInput>) => string;
  opN: (op: string, inputs: string[], nOutputs: number, attrs?: Record<string, AttrInput>) => string[];
  /** A scalar constant of the gradient's float type. */
  scalar: (value: number) => string;
  /** A constant tensor (an initializer with a fresh name). */
  constantTensor: (t: TensorData) => string;
  /** An int64 1-D constant (axes, shapes, pads). */
  ints: (values: number[]) => string;
  shape: (v: string) => Dim[];
  dtype: (v: string) => DType;
  /** The static elements of a small integer value (axes, shapes), or undefined when only known at run time. */
  valuesOf: (v: string) => number[] | undefined;
  /** v's shape as an int64 tensor: a constant when static, a Shape node otherwise. */
  shapeTensor: (v: string) => string;
  /** Sums g (of shape gShape, by default output 0's) over the axes along which `target` was broadcast. */
  reduceTo: (g: string, target: string, gShape?: Dim[]) => string;
  opset: number;
  /** The graph runs on one intra-op thread (GradientOptions.oneThread). */
  oneThread: boolean;
  /** Rules may use the engine's own kernels (GradientOptions.ownKernels), through `ownOp`. */
  ownKernels: boolean;
  /** A node of the engine's own kernel `op` (RATCHET_DOMAIN): one output, or `n`. */
  ownOp: (op: string, inputs: string[], attrs?: Record<string, AttrInput>) => string;
  ownOpN: (op: string, inputs: string[], n: number, attrs?: Record<string, AttrInput>) => string[];
  /**
   * ONNX Runtime's FusedMatMul (com.microsoft): op(a) @ op(b), op a transpose of the last two axes where asked. Only
   * where ownKernels: the graph then runs in ONNX Runtime alone and imports the domains it uses.
   */
  fusedMatMul: (a: string, b: string, trans: { a?: boolean; b?: boolean }) => string;
}

export type GradRule = (c: GradContext) => (string | undefined)[];

/** Constants shared across one backward pass: it asks for 1, 0, axes [0] ... many times over. */
export class SharedConstants {
  private readonly names = new Map<string, string>();
  constructor(private readonly b: GraphBuilder) {}

  scalar(dtype: DType, value: number): string {
    return this.get(`${dtype}:${value}`, () => scalar(dtype, value), 'scalar');
  }

  ints(values: number[]): string {
    return this.get(`int64:[${values}]`, () => int64s(values), 'ints');
  }

  /**
   * A [1, rows] row of ones, rows being the product of `rows` (the leading axes of `matrix`'s source, which
   * `matrix` holds as [rows, n]); built from `matrix`'s shape at run time when the rows are symbolic, once per
   * distinct leading shape (a symbolic dimension is the same value throughout the graph).
   */
  onesRow(dtype: DType, rows: Dim[], matrix: string): string {
    const key = `ones:${dtype}:[${rows}]`;
    let name = this.names.get(key);
    if (name) return name;
    if (isStatic(rows)) {
      const count = rows.reduce((a, d) => a * d, 1);
      name = this.b.constant(tensor(dtype, [1, count], new Array(count).fill(1)), 'ones_row');
    } else {
      const rowCount = this.b.op('Slice', [this.b.op('Shape', [matrix]), this.ints([0]), this.ints([1])]);
      const shape = this.b.op('Concat', [this.ints([1]), rowCount], { axis: 0 });
      name = this.b.op('ConstantOfShape', [shape], { value: tensorAttr(tensor(dtype, [1], [1])) }, 'ones_row');
    }
    this.names.set(key, name);
    return name;
  }

  private get(key: string, make: () => TensorData, hint: string): string {
    let name = this.names.get(key);
    if (!name) this.names.set(key, (name = this.b.constant(make(), hint)));
    return name;
  }
}

export function makeContext(
  b: GraphBuilder,
  constants: SharedConstants,
  known: Map<string, Known>,
  node: Node,
  dys: (string | undefined)[],
  needs: (i: number) => boolean,
  around: Pick<GradContext, 'readers' | 'gradientOf'>,
  opset: number,
  { oneThread, ownKernels }: { oneThread: boolean; ownKernels: boolean },
): GradContext {
  const info = (v: string) => {
    const k = known.get(v);
    if (!k) throw new Error(`autodiff: the shape of '${v}' (at node '${node.name}', ${node.op}) could not be inferred`);
    return k;
  };
  const floatType = info(node.outputs[0]).dtype;
  const op = (o: string, inputs: string[], attrs: Record<string, AttrInput> = {}) => b.op(o, inputs, attrs);
  const c: GradContext = {
    node,
    x: node.inputs,
    y: node.outputs,
    dy: dys[0]!,
    dys,
    needs,
    ...around,
    savedOutput: (i) => {
      while (node.outputs.length <= i) node.outputs.push('');
      if (!node.outputs[i]) node.outputs[i] = b.fresh(`${node.name}_saved_${i}`);
      return node.outputs[i];
    },
    op,
    opN: (o, inputs, n, attrs = {}) => b.opN(o, inputs, n, attrs),
    scalar: (value) => constants.scalar(floatType, value),
    constantTensor: (t) => b.constant(t),
    ints: (values) => constants.ints(values),
    shape: (v) => info(v).shape,
    dtype: (v) => info(v).dtype,
    valuesOf: (v) => {
      const vals = known.get(v)?.values;
      return vals && vals.every((d) => typeof d === 'number') ? (vals as number[]) : undefined;
    },
    shapeTensor: (v) => {
      const s = info(v).shape;
      return isStatic(s) ? constants.ints(s) : op('Shape', [v]);
    },
    reduceTo: (g, target, gs = info(node.outputs[0]).shape) => {
      const ts = info(target).shape;
      const lead = gs.length - ts.length;
      const leadAxes = Array.from({ length: lead }, (_, i) => i);
      const oneAxes = ts.flatMap((d, i) => (d === 1 && gs[i + lead] !== 1 ? [i + lead] : []));
      if (lead === 0 && oneAxes.length === 0) return g;
      const [n] = ts;
      if (oneAxes.length === 0 && ts.length === 1 && typeof n === 'number') {
        // A vector's gradient summed over every leading axis (a bias, a norm's scale): a row of ones times the
        // gradient as a [rows, n] matrix. ORT's GEMM does that 2-4x faster than ReduceSum over leading axes.
        const matrix = lead === 1 ? g : op('Reshape', [g, c.ints([-1, n])]);
        const ones = constants.onesRow(floatType, gs.slice(0, -1), matrix);
        return op('Reshape', [op('MatMul', [ones, matrix]), c.ints([n])]);
      }
      if (oneAxes.length === 0) return op('ReduceSum', [g, c.ints(leadAxes)], { keepdims: 0 });
      const summed = op('ReduceSum', [g, c.ints([...leadAxes, ...oneAxes])], { keepdims: 1 });
      return lead === 0 ? summed : op('Squeeze', [summed, c.ints(leadAxes)]);
    },
    opset,
    oneThread,
    ownKernels,
    ownOp: (o, inputs, attrs) => b.domainOp(RATCHET_DOMAIN, o, inputs, 1, attrs)[0],
    ownOpN: (o, inputs, n, attrs) => b.domainOp(RATCHET_DOMAIN, o, inputs, n, attrs),
    fusedMatMul: (x, y, trans) =>
      b.domainOp('com.microsoft', 'FusedMatMul', [x, y], 1, { transA: trans.a ? 1 : 0, transB: trans.b ? 1 : 0 })[0],
  };
  return c;
}
