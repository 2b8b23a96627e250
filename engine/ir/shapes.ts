// Static shape inference over the IR. Symbolic dims ('batch') flow through; sizes computed from them become
// expressions ('batch*4'). Shape sub-graphs (Shape → Gather → Concat → Reshape, as torch.onnx.export writes them)
// are evaluated on the way, so Reshape/Expand/Slice targets resolve. A node whose op has no rule here, or whose
// inputs are unknown, leaves its outputs out of the result; callers that need them say so.
import { toDType } from '../onnx/codec.ts';
import { attrValue } from './attrs.ts';
import { toNumbers } from './tensor.ts';
import type { Attr, DType, Dim, Graph, Node, TensorData, ValueInfo } from './types.ts';

/** What inference knows about a value: its type, and for small integer tensors (shapes, axes) the elements. */
export interface Known {
  dtype: DType;
  shape: Dim[];
  values?: Dim[];
}

type Ctx = {
  node: Node;
  in: (i: number) => Known | undefined; // undefined: omitted optional input or unknown value
  ints: (i: number) => number[] | undefined; // an input's elements, when all are known numbers
  attrs: Record<string, Attr>;
};
type Rule = (c: Ctx) => (Known | undefined)[] | undefined;

// ---- dim arithmetic ----

/** The product of dims; symbolic factors make an expression such as 'batch*seq*4'. */
export function dimProduct(dims: readonly Dim[]): Dim {
  const symbols = dims.filter((d): d is string => typeof d === 'string');
  const n = dims.reduce<number>((p, d) => (typeof d === 'number' ? p * d : p), 1);
  if (symbols.length === 0) return n;
  if (n === 0) return 0;
  return n === 1 ? symbols.join('*') : [...symbols, n].join('*');
}

function dimSum(dims: readonly Dim[]): Dim {
  return dims.every((d) => typeof d === 'number') ? (dims as number[]).reduce((a, b) => a + b, 0) : dims.join('+');
}

/** Numpy-style broadcast of shapes; two different symbols are assumed equal at run time. */
export function broadcastShapes(...shapes: Dim[][]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const e = s[s.length - rank + i] ?? 1;
      if (e === 1) continue;
      if (d === 1 || typeof d === 'string') d = e;
      else if (typeof e === 'number' && e !== d)
        throw new Error(`cannot broadcast shapes ${shapes.map((s) => `[${s}]`).join(', ')}`);
    }
    out.push(d);
  }
  return out;
}

const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

// ---- rules ----

const same: Rule = (c) => {
  const x = c.in(0);
  return x && [{ dtype: x.dtype, shape: x.shape }];
};

const broadcast =
  (dtype?: DType): Rule =>
  (c) => {
    const inputs = c.node.inputs.map((_, i) => c.in(i));
    if (inputs.some((x) => !x)) return undefined;
    const shapes = inputs.map((x) => x!.shape);
    const out: Known = {
      dtype: dtype ?? inputs[c.node.op === 'Where' ? 1 : 0]!.dtype,
      shape: broadcastShapes(...shapes),
    };
    if (['Add', 'Sub', 'Mul', 'Div'].includes(c.node.op)) out.values = arithmetic(c.node.op, inputs as Known[]);
    return [out];
  };

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

function reduceAxes(c: Ctx): number[] | undefined | 'all' {
  const fromAttr = c.attrs.axes;
  const axes = fromAttr ? attrValue(c.attrs, 'axes', 'ints', []) : c.node.inputs[1] ? c.ints(1) : [];
  if (axes === undefined) return undefined;
  if (axes.length === 0) return attrValue(c.attrs, 'noop_with_empty_axes', 'int', 0) ? [] : 'all';
  return axes;
}

const reduce: Rule = (c) => {
  const x = c.in(0);
  const axes = reduceAxes(c);
  if (!x || axes === undefined) return undefined;
  const r = x.shape.length;
  const set = new Set(axes === 'all' ? x.shape.map((_, i) => i) : axes.map((a) => normAxis(a, r)));
  const keep = attrValue(c.attrs, 'keepdims', 'int', 1);
  const shape = x.shape.flatMap((d, i) => (set.has(i) ? (keep ? [1] : []) : [d]));
  return [{ dtype: x.dtype, shape }];
};

const argReduce: Rule = (c) => {
  const x = c.in(0);
  if (!x) return undefined;
  const axis = normAxis(attrValue(c.attrs, 'axis', 'int', 0), x.shape.length);
  const keep = attrValue(c.attrs, 'keepdims', 'int', 1);
  return [{ dtype: 'int64', shape: x.shape.flatMap((d, i) => (i === axis ? (keep ? [1] : []) : [d])) }];
};

const matmul: Rule = (c) => {
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

const gemm: Rule = (c) => {
  const a = c.in(0);
  const b = c.in(1);
  if (!a || !b) return undefined;
  const m = attrValue(c.attrs, 'transA', 'int', 0) ? a.shape[1] : a.shape[0];
  const n = attrValue(c.attrs, 'transB', 'int', 0) ? b.shape[0] : b.shape[1];
  return [{ dtype: a.dtype, shape: [m, n] }];
};

const transpose: Rule = (c) => {
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

const reshape: Rule = (c) => {
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

const flatten: Rule = (c) => {
  const x = c.in(0);
  if (!x) return undefined;
  const axis = normAxis(attrValue(c.attrs, 'axis', 'int', 1), x.shape.length);
  return [{ dtype: x.dtype, shape: [dimProduct(x.shape.slice(0, axis)), dimProduct(x.shape.slice(axis))] }];
};

const axesOf = (c: Ctx): number[] | undefined =>
  c.attrs.axes ? attrValue(c.attrs, 'axes', 'ints', []) : c.node.inputs[1] ? c.ints(1) : [];

const squeeze: Rule = (c) => {
  const x = c.in(0);
  const axes = axesOf(c);
  if (!x || !axes) return undefined;
  const set = new Set(axes.map((a) => normAxis(a, x.shape.length)));
  const keep = (d: Dim, i: number) => (set.size ? !set.has(i) : d !== 1);
  return [{ dtype: x.dtype, shape: x.shape.filter(keep), values: x.values }];
};

const unsqueeze: Rule = (c) => {
  const x = c.in(0);
  const axes = axesOf(c);
  if (!x || !axes) return undefined;
  const rank = x.shape.length + axes.length;
  const set = new Set(axes.map((a) => normAxis(a, rank)));
  const rest = [...x.shape];
  const shape = Array.from({ length: rank }, (_, i) => (set.has(i) ? 1 : rest.shift()!));
  return [{ dtype: x.dtype, shape, values: x.values }];
};

const concat: Rule = (c) => {
  const inputs = c.node.inputs.map((_, i) => c.in(i));
  if (inputs.some((x) => !x)) return undefined;
  const xs = inputs as Known[];
  const axis = normAxis(attrValue(c.attrs, 'axis', 'int', 0), xs[0].shape.length);
  const shape = [...xs[0].shape];
  shape[axis] = dimSum(xs.map((x) => x.shape[axis]));
  const values = xs.every((x) => x.values) && shape.length === 1 ? xs.flatMap((x) => x.values!) : undefined;
  return [{ dtype: xs[0].dtype, shape, values }];
};

const gather: Rule = (c) => {
  const x = c.in(0);
  const idx = c.in(1);
  if (!x || !idx) return undefined;
  const axis = normAxis(attrValue(c.attrs, 'axis', 'int', 0), x.shape.length);
  const shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
  const at = c.ints(1);
  const values = x.values && at && axis === 0 ? at.map((i) => x.values![normAxis(i, x.values!.length)]) : undefined;
  return [{ dtype: x.dtype, shape, values }];
};

// Slice bounds as ONNX clamps them; a symbolic dim stays itself only for a full slice.
const slice: Rule = (c) => {
  const x = c.in(0);
  if (!x) return undefined;
  const old = c.attrs.starts !== undefined; // opset < 10 keeps the bounds in attributes
  const starts = old ? attrValue(c.attrs, 'starts', 'ints', []) : c.ints(1);
  const ends = old ? attrValue(c.attrs, 'ends', 'ints', []) : c.ints(2);
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
    if (typeof d === 'string') {
      shape[axis] = s === 0 && step === 1 && e >= 2 ** 31 ? d : `${d}[${s}:${e}:${step}]`;
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

const split: Rule = (c) => {
  const x = c.in(0);
  if (!x) return undefined;
  const axis = normAxis(attrValue(c.attrs, 'axis', 'int', 0), x.shape.length);
  const n = c.node.outputs.length;
  const sizes = c.node.inputs[1] ? c.ints(1) : c.attrs.split ? attrValue(c.attrs, 'split', 'ints', []) : undefined;
  const d = x.shape[axis];
  const each = (i: number): Dim => {
    if (sizes) return sizes[i];
    if (typeof d === 'string') return `${d}/${n}`;
    const chunk = Math.ceil(d / n);
    return i < n - 1 ? chunk : d - chunk * (n - 1);
  };
  return c.node.outputs.map((_, i) => ({ dtype: x.dtype, shape: x.shape.map((e, j) => (j === axis ? each(i) : e)) }));
};

const shapeOf: Rule = (c) => {
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

const expand: Rule = (c) => {
  const x = c.in(0);
  const to = c.in(1)?.values;
  return x && to && [{ dtype: x.dtype, shape: broadcastShapes(x.shape, to) }];
};

const tile: Rule = (c) => {
  const x = c.in(0);
  const reps = c.ints(1);
  return (
    x && reps && [{ dtype: x.dtype, shape: x.shape.map((d, i) => (reps[i] === 1 ? d : dimProduct([d, reps[i]]))) }]
  );
};

const constantOfShape: Rule = (c) => {
  const dims = c.in(0)?.values;
  const value = c.attrs.value ? attrValue(c.attrs, 'value', 'tensor', undefined as never) : undefined;
  const dtype = value?.dtype ?? 'float32';
  const values =
    dtype.startsWith('int') && dims?.every((d) => typeof d === 'number')
      ? Array(dimProduct(dims) as number).fill(value ? toNumbers(value)[0] : 0)
      : undefined;
  return dims && [{ dtype, shape: dims, values }];
};

const constant: Rule = (c) => {
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

const cast: Rule = (c) => {
  const x = c.in(0);
  if (!x) return undefined;
  const dtype = toDType(attrValue(c.attrs, 'to', 'int', 0), `Cast node '${c.node.name}' target`);
  return [{ dtype, shape: x.shape, values: dtype.startsWith('int') ? x.values : undefined }];
};

const layerNorm: Rule = (c) => {
  const x = c.in(0);
  if (!x) return undefined;
  const axis = normAxis(attrValue(c.attrs, 'axis', 'int', -1), x.shape.length);
  const stats: Known = { dtype: x.dtype, shape: x.shape.map((d, i) => (i < axis ? d : 1)) };
  return [{ dtype: x.dtype, shape: x.shape }, stats, stats];
};

const dropout: Rule = (c) => {
  const x = c.in(0);
  return (
    x && [
      { dtype: x.dtype, shape: x.shape },
      { dtype: 'bool', shape: x.shape },
    ]
  );
};

const identity: Rule = (c) => {
  const x = c.in(0);
  return x && [x];
};

const rules: Record<string, Rule> = {
  ...Object.fromEntries(
    [
      'Relu',
      'LeakyRelu',
      'Sigmoid',
      'Tanh',
      'Exp',
      'Log',
      'Neg',
      'Sqrt',
      'Erf',
      'Gelu',
      'Abs',
      'Reciprocal',
      'Softmax',
      'LogSoftmax',
      'Clip',
      'Floor',
      'Ceil',
      'Softplus',
      'Elu',
      'Selu',
      'HardSigmoid',
      'CumSum',
      'Trilu',
      'Sin',
      'Cos',
      'ScatterND',
      'ScatterElements',
      'Not',
      'IsNaN',
    ].map((op) => [op, same]),
  ),
  ...Object.fromEntries(
    ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Where'].map((op) => [op, broadcast()]),
  ),
  ...Object.fromEntries(
    ['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'And', 'Or'].map((op) => [op, broadcast('bool')]),
  ),
  ...Object.fromEntries(
    [
      'ReduceSum',
      'ReduceMean',
      'ReduceMax',
      'ReduceMin',
      'ReduceProd',
      'ReduceL2',
      'ReduceLogSumExp',
      'ReduceSumSquare',
    ].map((op) => [op, reduce]),
  ),
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
  Split: split,
  Shape: shapeOf,
  Size: (c) => c.in(0) && [{ dtype: 'int64', shape: [], values: [dimProduct(c.in(0)!.shape)] }],
  Expand: expand,
  Tile: tile,
  ConstantOfShape: constantOfShape,
  Constant: constant,
  Cast: cast,
  LayerNormalization: layerNorm,
  Dropout: dropout,
  Identity: identity,
};

function fromTensor(t: TensorData): Known {
  const small = (t.dtype === 'int64' || t.dtype === 'int32') && t.data.length <= 64;
  return { dtype: t.dtype, shape: t.dims, values: small ? toNumbers(t) : undefined };
}

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
    const rule = node.domain ? undefined : rules[node.op];
    if (!rule) continue;
    const input = (i: number) => (node.inputs[i] ? known.get(node.inputs[i]) : undefined);
    const ctx: Ctx = {
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
