// Shape rules per op: what each op's outputs are, given what is known of its inputs.
import { toDType } from '../onnx/dtypes.ts';
import { attrValue } from './attrs.ts';
import { broadcastShapes, dimProduct, dimSum, normAxis } from './dims.ts';
import { toNumbers } from './tensor.ts';
import type { Attr, DType, Dim, Node, TensorData } from './types.ts';

/** What inference knows about a value: its type, and for small integer tensors (shapes, axes) the elements. */
export interface Known {
  dtype: DType;
  shape: Dim[];
  values?: Dim[];
}

export type ShapeContext = {
  node: Node;
  in: (i: number) => Known | undefined; // undefined: omitted optional input or unknown value
  ints: (i: number) => number[] | undefined; // an input's elements, when all are known numbers
  attrs: Record<string, Attr>;
};
export type ShapeRule = (c: ShapeContext) => (Known | undefined)[] | undefined;

// Integer tensors up to this many elements (shapes, axes, pads) have their elements tracked.
const SMALL = 64;

// The same rule for each of a space-separated list of ops.
const each = (ops: string, rule: ShapeRule) => Object.fromEntries(ops.split(' ').map((op) => [op, rule]));

const same: ShapeRule = (c) => {
  const x = c.in(0);
  return x && [{ dtype: x.dtype, shape: x.shape }];
};

const broadcast =
  (dtype?: DType): ShapeRule =>
  (c) => {
    const inputs = c.node.inputs.map((_, i) => c.in(i));
    if (inputs.some((x) => !x)) return undefined;
    const shapes = inputs.map((x) => x!.shape);
    const out: Known = {
      dtype: dtype ?? inputs[c.node.op === 'Where' ? 1 : 0]!.dtype,
      shape: broadcastShapes(...shapes),
    };
    if (['Add', 'Sub', 'Mul', 'Div'].includes(c.node.op)) out.values = arithmetic(c.node.op, inputs as Known[]);
    if (c.node.op === 'Equal') out.values = equal(inputs as Known[]);
    if (c.node.op === 'Where') out.values = where(inputs as Known[]);
    return [out];
  };

// Element i of a tracked value, a single element standing for all (the broadcasts shape values take).
const elementAt = (v: Dim[], i: number) => v[v.length === 1 ? 0 : i];
const trackedLength = (...vs: Dim[][]) =>
  vs.every((v) => v.length === 1 || v.length === Math.max(...vs.map((w) => w.length)))
    ? Math.max(...vs.map((w) => w.length))
    : undefined;

// Equal on shape values, as 1/0, where it is decided: a symbolic dim (never negative) differs from a negative number
// (torch's expand(-1) test). Where picks from shape values by a decided condition.
function equal([a, b]: Known[]): Dim[] | undefined {
  const n = a.values && b.values ? trackedLength(a.values, b.values) : undefined;
  if (n === undefined || !a.dtype.startsWith('int')) return undefined;
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const [x, y] = [elementAt(a.values!, i), elementAt(b.values!, i)];
    if (typeof x === 'number' && typeof y === 'number') out.push(x === y ? 1 : 0);
    else if (x === y) out.push(1);
    else if ((typeof x === 'number' && x < 0) || (typeof y === 'number' && y < 0)) out.push(0);
    else return undefined;
  }
  return out;
}

function where([cond, a, b]: Known[]): Dim[] | undefined {
  const n = cond.values && a.values && b.values ? trackedLength(cond.values, a.values, b.values) : undefined;
  if (n === undefined || !cond.values!.every((v) => typeof v === 'number')) return undefined;
  return Array.from({ length: n }, (_, i) => elementAt(elementAt(cond.values!, i) ? a.values! : b.values!, i));
}

// Integer arithmetic on shape values (torch computes sizes this way); only when every element is a number.
function arithmetic(op: string, [a, b]: Known[]): Dim[] | undefined {
  if (!a.values || !b.values || !a.dtype.startsWith('int')) return undefined;
  if (![...a.values, ...b.values].every((v) => typeof v === 'number')) return undefined;
  const n = Math.max(a.values.length, b.values.length);
  const at = (v: Dim[], i: number) => v[v.length === 1 ? 0 : i] as number;
  const f = {
    Add: (x: number, y: number) => x + y,
    Sub: (x: number, y: number) => x - y,
    Mul: (x: number, y: number) => x * y,
    Div: (x: number, y: number) => Math.trunc(x / y),
  }[op]!;
  return Array.from({ length: n }, (_, i) => f(at(a.values!, i), at(b.values!, i)));
}

function reduceAxes(c: ShapeContext): number[] | undefined | 'all' {
  const fromAttr = c.attrs.axes;
  const axes = fromAttr ? attrValue(c.attrs, 'axes', 'ints', []) : c.node.inputs[1] ? c.ints(1) : [];
  if (axes === undefined) return undefined;
  if (axes.length === 0) return attrValue(c.attrs, 'noop_with_empty_axes', 'int', 0) ? [] : 'all';
  return axes;
}

const reduce: ShapeRule = (c) => {
  const x = c.in(0);
  const axes = reduceAxes(c);
  if (!x || axes === undefined) return undefined;
  const r = x.shape.length;
  const set = new Set(axes === 'all' ? x.shape.map((_, i) => i) : axes.map((a) => normAxis(a, r)));
  const keep = attrValue(c.attrs, 'keepdims', 'int', 1);
  const shape = x.shape.flatMap((d, i) => (set.has(i) ? (keep ? [1] : []) : [d]));
  // The product of a size's dims (engine/train/dropout.ts sizes its masks' rows and columns this way).
  const values =
    c.node.op === 'ReduceProd' && x.values && x.shape.length === 1 && set.has(0) ? [dimProduct(x.values)] : undefined;
  return [{ dtype: x.dtype, shape, values }];
};

const argReduce: ShapeRule = (c) => {
  const x = c.in(0);
  if (!x) return undefined;
  const axis = normAxis(attrValue(c.attrs, 'axis', 'int', 0), x.shape.length);
  const keep = attrValue(c.attrs, 'keepdims', 'int', 1);
  return [{ dtype: 'int64', shape: x.shape.flatMap((d, i) => (i === axis ? (keep ? [1] : []) : [d])) }];
};

const matmul: ShapeRule = (c) => {
  const a = c.in(0);
  const b = c.in(1);
  if (!a || !b) return undefined;
  const as = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  const bs = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
  const batch = broadcastShapes(as.slice(0, -2), bs.slice(0, -2));
  const shape = [
    ...batch,
    ...(a.shape.length === 1 ? [] : [as[as.length - 2]]),
    ...(b.shape.length === 1 ? [] : [bs[bs.length - 1]]),
  ];
  return [{ dtype: a.dtype, shape }];
};

/** com.microsoft's FusedMatMul: MatMul with transA/transB swapping an operand's last two axes first (rank 2 and up). */
const fusedMatMul: ShapeRule = (c) => {
  const swapped = (i: number, flag: string) => {
    const t = c.in(i);
    if (!t || !attrValue(c.attrs, flag, 'int', 0)) return t;
    if (t.shape.length < 2) return undefined;
    return { ...t, shape: [...t.shape.slice(0, -2), t.shape[t.shape.length - 1], t.shape[t.shape.length - 2]] };
  };
  const [a, b] = [swapped(0, 'transA'), swapped(1, 'transB')];
  return a && b ? matmul({ ...c, in: (i) => (i === 0 ? a : i === 1 ? b : c.in(i)) }) : undefined;
};

const gemm: ShapeRule = (c) => {
  const a = c.in(0);
  const b = c.in(1);
  if (!a || !b) return undefined;
  const m = attrValue(c.attrs, 'transA', 'int', 0) ? a.shape[1] : a.shape[0];
  const n = attrValue(c.attrs, 'transB', 'int', 0) ? b.shape[0] : b.shape[1];
  return [{ dtype: a.dtype, shape: [m, n] }];
};

const transpose: ShapeRule = (c) => {
  const x = c.in(0);
  if (!x) return undefined;
  const perm = attrValue(
    c.attrs,
    'perm',
    'ints',
    x.shape.map((_, i) => x.shape.length - 1 - i),
  );
  return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }];
};

const reshape: ShapeRule = (c) => {
  const x = c.in(0);
  const target = c.in(1)?.values;
  if (!x || !target) return undefined;
  const allowZero = attrValue(c.attrs, 'allowzero', 'int', 0);
  const shape = target.map((d, i) => (d === 0 && !allowZero ? x.shape[i] : d));
  const hole = shape.indexOf(-1);
  if (hole >= 0)
    shape[hole] = divideDims(
      x.shape,
      shape.filter((_, i) => i !== hole),
    );
  return [{ dtype: x.dtype, shape, values: x.values }];
};

// The dim that makes prod(known) * result = prod(total): cancel shared symbols, divide the numbers.
function divideDims(total: Dim[], known: Dim[]): Dim {
  const symbols = total.filter((d): d is string => typeof d === 'string');
  let n = dimProduct(total.filter((d) => typeof d === 'number')) as number;
  for (const d of known) {
    if (typeof d === 'number') n /= d;
    else {
      const i = symbols.indexOf(d);
      if (i < 0) return `(${dimProduct(total)})/(${dimProduct(known)})`;
      symbols.splice(i, 1);
    }
  }
  return dimProduct([...symbols, n]);
}

const flatten: ShapeRule = (c) => {
  const x = c.in(0);
  if (!x) return undefined;
  const axis = normAxis(attrValue(c.attrs, 'axis', 'int', 1), x.shape.length);
  return [{ dtype: x.dtype, shape: [dimProduct(x.shape.slice(0, axis)), dimProduct(x.shape.slice(axis))] }];
};

const axesOf = (c: ShapeContext): number[] | undefined =>
  c.attrs.axes ? attrValue(c.attrs, 'axes', 'ints', []) : c.node.inputs[1] ? c.ints(1) : [];

const squeeze: ShapeRule = (c) => {
  const x = c.in(0);
  const axes = axesOf(c);
  if (!x || !axes) return undefined;
  const set = new Set(axes.map((a) => normAxis(a, x.shape.length)));
  const keep = (d: Dim, i: number) => (set.size ? !set.has(i) : d !== 1);
  return [{ dtype: x.dtype, shape: x.shape.filter(keep), values: x.values }];
};

const unsqueeze: ShapeRule = (c) => {
  const x = c.in(0);
  const axes = axesOf(c);
  if (!x || !axes) return undefined;
  const rank = x.shape.length + axes.length;
  const set = new Set(axes.map((a) => normAxis(a, rank)));
  const rest = [...x.shape];
  const shape = Array.from({ length: rank }, (_, i) => (set.has(i) ? 1 : rest.shift()!));
  return [{ dtype: x.dtype, shape, values: x.values }];
};

const concat: ShapeRule = (c) => {
  const inputs = c.node.inputs.map((_, i) => c.in(i));
  if (inputs.some((x) => !x)) return undefined;
  const xs = inputs as Known[];
  const axis = normAxis(attrValue(c.attrs, 'axis', 'int', 0), xs[0].shape.length);
  const shape = [...xs[0].shape];
  shape[axis] = dimSum(xs.map((x) => x.shape[axis]));
  const values = xs.every((x) => x.values) && shape.length === 1 ? xs.flatMap((x) => x.values!) : undefined;
  return [{ dtype: xs[0].dtype, shape, values }];
};

const gather: ShapeRule = (c) => {
  const x = c.in(0);
  const idx = c.in(1);
  if (!x || !idx) return undefined;
  const axis = normAxis(attrValue(c.attrs, 'axis', 'int', 0), x.shape.length);
  const shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
  const at = c.ints(1);
  const values = x.values && at && axis === 0 ? at.map((i) => x.values![normAxis(i, x.values!.length)]) : undefined;
  return [{ dtype: x.dtype, shape, values }];
};

// Slice bounds as ONNX clamps them; a symbolic dim stays itself only for a full slice. A symbolic end on a static
// axis, from 0 with step 1, is taken to be the slice's length: torch.onnx.export cuts buffers (BERT's position_ids
// [1, max_positions]) to the sequence length this way, and the sequence fits the buffer.
const slice: ShapeRule = (c) => {
  const x = c.in(0);
  if (!x) return undefined;
  const old = c.attrs.starts !== undefined; // opset < 10 keeps the bounds in attributes
  const starts = old ? attrValue(c.attrs, 'starts', 'ints', []) : c.in(1)?.values;
  const ends = old ? attrValue(c.attrs, 'ends', 'ints', []) : c.in(2)?.values;
  const axes = old ? attrValue(c.attrs, 'axes', 'ints', []) : c.node.inputs[3] ? c.ints(3) : [];
  const steps = !old && c.node.inputs[4] ? c.ints(4) : [];
  if (!starts || !ends || !axes || !steps) return undefined;
  const r = x.shape.length;
  const shape = [...x.shape];
  const values = x.values ? [...x.values] : undefined;
  let sliced = values;
  starts.forEach((s, k) => {
    const axis = normAxis(axes[k] ?? k, r);
    const step = steps[k] ?? 1;
    const d = shape[axis];
    const e = ends[k];
    if (typeof d === 'string' || typeof s === 'string' || typeof e === 'string') {
      const full = s === 0 && step === 1 && (typeof e === 'string' ? typeof d === 'number' || e === d : e >= 2 ** 31);
      shape[axis] = full ? (typeof e === 'string' ? e : d) : `${d}[${s}:${e}:${step}]`;
      sliced = undefined;
      return;
    }
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
    const lo = step > 0 ? clamp(s, 0, d) : clamp(s, -1, d - 1);
    const hi = step > 0 ? clamp(e, 0, d) : clamp(e, -1, d - 1);
    shape[axis] = Math.max(0, Math.ceil((hi - lo) / step));
    if (sliced && axis === 0) sliced = Array.from({ length: shape[0] as number }, (_, i) => sliced![lo + i * step]);
  });
  return [{ dtype: x.dtype, shape, values: sliced }];
};

// GatherND(data, indices): indices' shape but its last axis, then data's dims past batch_dims + that axis's size.
const gatherND: ShapeRule = (c) => {
  const [data, indices] = [c.in(0), c.in(1)];
  const depth = indices?.shape.at(-1);
  if (!data || !indices || typeof depth !== 'number') return undefined;
  const batchDims = attrValue(c.attrs, 'batch_dims', 'int', 0);
  return [{ dtype: data.dtype, shape: [...indices.shape.slice(0, -1), ...data.shape.slice(batchDims + depth)] }];
};

const split: ShapeRule = (c) => {
  const x = c.in(0);
  if (!x) return undefined;
  const axis = normAxis(attrValue(c.attrs, 'axis', 'int', 0), x.shape.length);
  const n = c.node.outputs.length;
  const sizes = c.node.inputs[1] ? c.ints(1) : c.attrs.split ? attrValue(c.attrs, 'split', 'ints', []) : undefined;
  // Sizes given but not known here (more than SMALL of them, as a packed parameter vector's): no equal parts guessed.
  if (c.node.inputs[1] && !sizes) return undefined;
  const d = x.shape[axis];
  const sizeOf = (i: number): Dim => {
    if (sizes) return sizes[i];
    if (typeof d === 'string') return `${d}/${n}`;
    const chunk = Math.ceil(d / n);
    return i < n - 1 ? chunk : d - chunk * (n - 1);
  };
  return c.node.outputs.map((_, i) => ({ dtype: x.dtype, shape: x.shape.map((e, j) => (j === axis ? sizeOf(i) : e)) }));
};

const shapeOf: ShapeRule = (c) => {
  const x = c.in(0);
  if (!x) return undefined;
  const r = x.shape.length;
  const clamp = (v: number) => Math.min(Math.max(normAxis(v, r), 0), r);
  const values = x.shape.slice(
    clamp(attrValue(c.attrs, 'start', 'int', 0)),
    clamp(attrValue(c.attrs, 'end', 'int', r)),
  );
  return [{ dtype: 'int64', shape: [values.length], values }];
};

const expand: ShapeRule = (c) => {
  const x = c.in(0);
  const to = c.in(1)?.values;
  return x && to && [{ dtype: x.dtype, shape: broadcastShapes(x.shape, to) }];
};

const tile: ShapeRule = (c) => {
  const x = c.in(0);
  const reps = c.ints(1);
  return (
    x && reps && [{ dtype: x.dtype, shape: x.shape.map((d, i) => (reps[i] === 1 ? d : dimProduct([d, reps[i]]))) }]
  );
};

const constantOfShape: ShapeRule = (c) => {
  const dims = c.in(0)?.values;
  const value = c.attrs.value?.kind === 'tensor' ? c.attrs.value.value : undefined;
  const dtype = value?.dtype ?? 'float32';
  const count = dims?.every((d) => typeof d === 'number') ? (dimProduct(dims) as number) : undefined;
  const values =
    dtype.startsWith('int') && count !== undefined && count <= SMALL
      ? Array(count).fill(value ? toNumbers(value)[0] : 0)
      : undefined;
  return dims && [{ dtype, shape: dims, values }];
};

const constant: ShapeRule = (c) => {
  const a = Object.entries(c.attrs)[0];
  if (!a) return undefined;
  const [name, attr] = a;
  if (attr.kind === 'tensor') return [fromTensor(attr.value)];
  if (name === 'value_int') return [{ dtype: 'int64', shape: [], values: [attr.value as number] }];
  if (name === 'value_ints')
    return [{ dtype: 'int64', shape: [(attr.value as number[]).length], values: attr.value as number[] }];
  if (name === 'value_float') return [{ dtype: 'float32', shape: [] }];
  if (name === 'value_floats') return [{ dtype: 'float32', shape: [(attr.value as number[]).length] }];
  return undefined;
};

// Range(start, limit, delta) has ceil((limit - start) / delta) elements; torch writes arange(seq) as Range(0, seq, 1).
const range: ShapeRule = (c) => {
  const x = c.in(0);
  const [start, limit, delta] = [0, 1, 2].map((i) => c.in(i)?.values?.[0]);
  if (!x || start === undefined || limit === undefined || delta === undefined) return undefined;
  if (typeof start === 'number' && typeof limit === 'number' && typeof delta === 'number') {
    const n = Math.max(Math.ceil((limit - start) / delta), 0);
    const values = n <= SMALL ? Array.from({ length: n }, (_, i) => start + i * delta) : undefined;
    return [{ dtype: x.dtype, shape: [n], values }];
  }
  const length = start === 0 && delta === 1 ? limit : `range(${start},${limit},${delta})`;
  return [{ dtype: x.dtype, shape: [length] }];
};

// OneHot(indices, depth, values): indices' shape with `depth` inserted at axis, in values' type.
const oneHot: ShapeRule = (c) => {
  const [indices, depth, values] = [0, 1, 2].map((i) => c.in(i));
  if (!indices || !depth?.values || !values) return undefined;
  const rank = indices.shape.length + 1;
  const axis = normAxis(attrValue(c.attrs, 'axis', 'int', -1), rank);
  const shape = [...indices.shape.slice(0, axis), depth.values[0], ...indices.shape.slice(axis)];
  return [{ dtype: values.dtype, shape }];
};

const pad: ShapeRule = (c) => {
  const x = c.in(0);
  const pads = c.ints(1);
  const r = x?.shape.length ?? 0;
  const axes = c.node.inputs[3] ? c.ints(3) : Array.from({ length: r }, (_, i) => i);
  if (!x || !pads || !axes) return undefined;
  const shape = [...x.shape];
  axes.forEach((a, k) => {
    const axis = normAxis(a, r);
    const added = pads[k] + pads[k + axes.length];
    const d = shape[axis];
    shape[axis] = typeof d === 'number' ? d + added : added === 0 ? d : `${d}+${added}`;
  });
  return [{ dtype: x.dtype, shape }];
};

const cast: ShapeRule = (c) => {
  const x = c.in(0);
  if (!x) return undefined;
  const dtype = toDType(attrValue(c.attrs, 'to', 'int', 0), `Cast node '${c.node.name}' target`);
  return [{ dtype, shape: x.shape, values: dtype.startsWith('int') ? x.values : undefined }];
};

const layerNorm: ShapeRule = (c) => {
  const x = c.in(0);
  if (!x) return undefined;
  const axis = normAxis(attrValue(c.attrs, 'axis', 'int', -1), x.shape.length);
  // Mean and InvStdDev come in stash_type's float type (float32 unless stated), whatever x's type.
  const dtype = toDType(
    attrValue(c.attrs, 'stash_type', 'int', 1),
    `LayerNormalization node '${c.node.name}' stash_type`,
  );
  const stats: Known = { dtype, shape: x.shape.map((d, i) => (i < axis ? d : 1)) };
  return [{ dtype: x.dtype, shape: x.shape }, stats, stats];
};

const dropout: ShapeRule = (c) => {
  const x = c.in(0);
  return (
    x && [
      { dtype: x.dtype, shape: x.shape },
      { dtype: 'bool', shape: x.shape },
    ]
  );
};

const identity: ShapeRule = (c) => {
  const x = c.in(0);
  return x && [x];
};

export const shapeRules: Record<string, ShapeRule> = {
  ...each('Relu LeakyRelu Sigmoid Tanh Exp Log Neg Sqrt Erf Gelu Abs Reciprocal Softmax LogSoftmax Clip', same),
  ...each('Floor Ceil Softplus Elu Selu HardSigmoid CumSum Trilu Sin Cos ScatterND ScatterElements Not', same),
  ...each('Add Sub Mul Div Pow Max Min Sum Mean Where BitwiseAnd BitwiseXor BitShift', broadcast()),
  ...each('Equal Greater Less GreaterOrEqual LessOrEqual And Or', broadcast('bool')),
  ...each('ReduceSum ReduceMean ReduceMax ReduceMin ReduceProd ReduceL2 ReduceLogSumExp ReduceSumSquare', reduce),
  IsNaN: (c) => c.in(0) && [{ dtype: 'bool', shape: c.in(0)!.shape }],
  ArgMax: argReduce,
  ArgMin: argReduce,
  MatMul: matmul,
  Gemm: gemm,
  Transpose: transpose,
  Reshape: reshape,
  Flatten: flatten,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Concat: concat,
  Gather: gather,
  GatherElements: (c) => c.in(1) && c.in(0) && [{ dtype: c.in(0)!.dtype, shape: c.in(1)!.shape }],
  Slice: slice,
  GatherND: gatherND,
  Split: split,
  Shape: shapeOf,
  Size: (c) => c.in(0) && [{ dtype: 'int64', shape: [], values: [dimProduct(c.in(0)!.shape)] }],
  Expand: expand,
  Tile: tile,
  ConstantOfShape: constantOfShape,
  Constant: constant,
  Cast: cast,
  Pad: pad,
  OneHot: oneHot,
  Range: range,
  LayerNormalization: layerNorm,
  Dropout: dropout,
  Identity: identity,
};

/** Rules of the com.microsoft operators the engine writes (ORT's contrib ops). */
export const microsoftShapeRules: Record<string, ShapeRule> = { FusedMatMul: fusedMatMul };

/** Rules of the engine's own kernels (RATCHET_DOMAIN, engine/runtime/native/kernels.c). */
export const ownKernelShapeRules: Record<string, ShapeRule> = {
  // param', M', V': each as param.
  AdamW: (c) => c.in(0) && [0, 1, 2].map(() => ({ dtype: c.in(0)!.dtype, shape: c.in(0)!.shape })),
  // u and u² (ScaleSquare), x - μ and dy·(x - μ) (CenterRows): each as input 0.
  ...each(
    'ScaleSquare CenterRows',
    (c) => c.in(0) && [0, 1].map(() => ({ dtype: c.in(0)!.dtype, shape: c.in(0)!.shape })),
  ),
  // As input 0: dx as dy (ReluGrad, GeluGrad, LayerNormGradX) or y (SoftmaxGrad); x + bias as x (AddRowBias); x's
  // kept values as x (DropoutKeep).
  ...each(
    'ReluGrad GeluGrad SoftmaxGrad LayerNormGradX AddRowBias DropoutKeep',
    (c) => c.in(0) && [{ dtype: c.in(0)!.dtype, shape: c.in(0)!.shape }],
  ),
  // Attributes heads (H) and transposed (an entry a part): part p of x [rows…, L, width] as [rows…, H, L, dh], or
  // [rows…, H, dh, L] where its entry is 1.
  SplitHeads: (c) => {
    const [x, H, parts] = [
      c.in(0),
      attrValue(c.attrs, 'heads', 'int', 0),
      attrValue(c.attrs, 'transposed', 'ints', []),
    ];
    const [L, width] = x?.shape.slice(-2) ?? [];
    if (!x || typeof width !== 'number' || H < 1 || parts.length === 0) return undefined;
    const dh = width / (H * parts.length);
    const rows = x.shape.slice(0, -2);
    return parts.map((t) => ({ dtype: x.dtype, shape: [...rows, H, ...(t ? [dh, L] : [L, dh])] }));
  },
  // The parts back into [rows…, L, parts · H · dh].
  MergeHeads: (c) => {
    const [y, H, parts] = [
      c.in(0),
      attrValue(c.attrs, 'heads', 'int', 0),
      attrValue(c.attrs, 'transposed', 'ints', []),
    ];
    if (!y || parts.length === 0) return undefined;
    const [a, b] = y.shape.slice(-2);
    const [L, dh] = parts[0] ? [b, a] : [a, b];
    return [{ dtype: y.dtype, shape: [...y.shape.slice(0, -3), L, dimProduct([dh, H * parts.length])] }];
  },
  // Zeros of `shape` (input 2) with the updates' rows added in.
  ScatterAddRows: (c) => {
    const dims = c.in(2)?.values;
    return c.in(1) && dims && [{ dtype: c.in(1)!.dtype, shape: dims }];
  },
};

/** What an initializer tells: its type, and the elements when it is a small integer tensor. */
export function fromTensor(t: TensorData): Known {
  const small = (t.dtype === 'int64' || t.dtype === 'int32') && t.data.length <= SMALL;
  return { dtype: t.dtype, shape: t.dims, values: small ? toNumbers(t) : undefined };
}
