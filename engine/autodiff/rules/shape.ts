// Ops that move elements without changing them: the gradient moves them back.
import { attrValue, dimProduct, isFloat, onnxDataType, tensor, tensorAttr, type Dim } from '../../ir/index.ts';
import type { GradContext, GradRule } from '../context.ts';

// dx = dy reshaped to x's shape (also serves Flatten, Squeeze, Unsqueeze).
const reshapeBack: GradRule = (c) => [c.op('Reshape', [c.dy, c.shapeTensor(c.x[0])])];

export const shapeRules: Record<string, GradRule> = {
  Identity: (c) => [c.dy],
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  // y = transpose(x, perm): dx = transpose(dy, perm⁻¹)
  Transpose: (c) => {
    const rank = c.shape(c.x[0]).length;
    const perm = attrValue(
      c.node.attrs,
      'perm',
      'ints',
      Array.from({ length: rank }, (_, i) => rank - 1 - i),
    );
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [c.op('Transpose', [c.dy], { perm: inverse })];
  },
  // y = broadcast of x
  Expand: (c) => [c.reduceTo(c.dy, c.x[0])],
  // y = x as another float type; integer casts carry no gradient (they never lie on a path)
  Cast: (c) => [isFloat(c.dtype(c.x[0])) ? c.op('Cast', [c.dy], { to: onnxDataType(c.dtype(c.x[0])) }) : undefined],
  // y = the inputs joined along axis: dy splits back into their pieces
  Concat: (c) => {
    const rank = c.shape(c.x[0]).length;
    const raw = attrValue(c.node.attrs, 'axis', 'int', 0);
    const axis = raw < 0 ? raw + rank : raw;
    const sizes = c.x.map((x) => c.shape(x)[axis]);
    if (!sizes.every((d): d is number => typeof d === 'number')) {
      throw new Error(`autodiff: Concat node '${c.node.name}' joins inputs of symbolic size along axis ${axis}`);
    }
    if (c.x.length === 1) return [c.dy];
    const parts = c.opN('Split', [c.dy, c.ints(sizes)], c.x.length, { axis });
    return parts.map((p, i) => (c.needs(i) ? p : undefined));
  },
  // y0, y1, ... = x cut along axis: dx is the gradients joined back, zeros for pieces the loss does not use
  Split: (c) => {
    const rank = c.shape(c.x[0]).length;
    const raw = attrValue(c.node.attrs, 'axis', 'int', 0);
    const zeros = (y: string) =>
      c.op('ConstantOfShape', [c.shapeTensor(y)], { value: tensorAttr(tensor(c.dtype(y), [1], [0])) });
    const pieces = c.y.map((y, i) => c.dys[i] ?? zeros(y));
    return [c.op('Concat', pieces, { axis: raw < 0 ? raw + rank : raw })];
  },
  // y = x[starts:ends] (step 1): dx is dy padded with zeros back to x's extent
  Slice: (c) => {
    const [x, startsIn, endsIn, axesIn, stepsIn] = c.x;
    const shape = c.shape(x);
    const constant = (v: string | undefined, name: string) => {
      const values = v ? c.valuesOf(v) : undefined;
      if (v && !values) throw new Error(`autodiff: the ${name} of Slice node '${c.node.name}' are not constant`);
      return values;
    };
    const starts = constant(startsIn, 'starts')!;
    const ends = constant(endsIn, 'ends')!;
    const axes = constant(axesIn, 'axes') ?? starts.map((_, i) => i);
    const steps = constant(stepsIn, 'steps') ?? starts.map(() => 1);
    const pads = new Array<number>(2 * shape.length).fill(0);
    axes.forEach((a, k) => {
      const axis = a < 0 ? a + shape.length : a;
      const d = shape[axis];
      if (steps[k] !== 1)
        throw new Error(`autodiff: Slice node '${c.node.name}' has step ${steps[k]}; only step 1 has a gradient rule`);
      if (typeof d !== 'number') {
        // A symbolic axis: only "from a non-negative start to the end" has a padding known before run time.
        if (starts[k] < 0 || ends[k] < 2 ** 31)
          throw new Error(`autodiff: Slice node '${c.node.name}' bounds a symbolic axis`);
        pads[axis] = starts[k];
        return;
      }
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
      pads[axis] = clamp(starts[k]);
      pads[axis + shape.length] = d - Math.max(clamp(ends[k]), clamp(starts[k]));
    });
    return [c.op('Pad', [c.dy, c.ints(pads)])];
  },
  // y = x with zeros around it (mode 'constant'): dx is dy without the border, a slice from each axis's begin pad to
  // minus its end pad, so symbolic dims need not be known
  Pad: (c) => {
    const [x, padsIn, , axesIn] = c.x;
    const rank = c.shape(x).length;
    const mode = attrValue(c.node.attrs, 'mode', 'string', 'constant');
    const pads = c.valuesOf(padsIn);
    const axes = axesIn ? c.valuesOf(axesIn) : Array.from({ length: rank }, (_, i) => i);
    if (mode !== 'constant' || !pads || !axes || pads.some((p) => p < 0)) {
      throw new Error(
        `autodiff: Pad node '${c.node.name}' has a gradient rule for constant, non-negative, constant pads only`,
      );
    }
    const begins = pads.slice(0, axes.length);
    const ends = pads.slice(axes.length).map((p) => (p > 0 ? -p : Number.MAX_SAFE_INTEGER));
    return [c.op('Slice', [c.dy, c.ints(begins), c.ints(ends), c.ints(axes)])];
  },
  // y = data[indices] along axis (an embedding lookup at axis 0): dx scatter-adds dy rows into zeros, so a row
  // looked up several times gets the sum of their gradients
  Gather: (c) => [c.needs(0) ? gatherGradient(c) : undefined],
};

function gatherGradient(c: GradContext): string {
  const [data, indices] = c.x;
  const shape = c.shape(data);
  const q = c.shape(indices).length;
  const raw = attrValue(c.node.attrs, 'axis', 'int', 0);
  const axis = raw < 0 ? raw + shape.length : raw;
  // Scatter along the leading axis: bring `axis` to the front of data, and the index axes of dy (which sit at
  // `axis`) to the front of dy; for the common axis 0 both permutations are the identity.
  const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
  const dataPerm = [axis, ...range(0, axis), ...range(axis + 1, shape.length)];
  const dyPerm = [...range(axis, axis + q), ...range(0, axis), ...range(axis + q, shape.length - 1 + q)];
  const index = c.dtype(indices) === 'int64' ? indices : c.op('Cast', [indices], { to: onnxDataType('int64') });
  const updates = axis === 0 ? c.dy : c.op('Transpose', [c.dy], { perm: dyPerm });
  const scattered =
    c.opset >= 16
      ? scatterAdd(
          c,
          index,
          updates,
          axis === 0 ? c.shapeTensor(data) : c.op('Gather', [c.shapeTensor(data), c.ints(dataPerm)]),
        )
      : oneHotProduct(
          c,
          index,
          updates,
          dataPerm.map((a) => shape[a]),
        );
  return axis === 0 ? scattered : c.op('Transpose', [scattered], { perm: dataPerm.map((_, i) => dataPerm.indexOf(i)) });
}

// zeros[index[i], ...] += updates[i, ...] (opset 16 and later). ORT's CPU ScatterND deals its index entries out to
// the intra-op threads and adds without guarding a row that two of them reach (a word in two texts of a batch): on
// two threads a step's gradient changed from run to run. ScatterElements adds along its axis in index order, so it
// is the same on any number of threads, but wants an index per element and runs several times slower; on one thread,
// where ScatterND's loop is serial and sums in the same order, ScatterND is kept.
function scatterAdd(c: GradContext, index: string, updates: string, shape: string): string {
  // The engine's own kernel adds the same way, in index order, on any number of threads, without the copies below.
  if (c.ownKernels && c.dtype(c.y[0]) === 'float32') return c.ownOp('ScatterAddRows', [index, updates, shape]);
  const zerosOf = (dims: string) =>
    c.op('ConstantOfShape', [dims], { value: tensorAttr(tensor(c.dtype(c.x[0]), [1], [0])) });
  if (c.oneThread) {
    return c.op('ScatterND', [zerosOf(shape), c.op('Unsqueeze', [index, c.ints([-1])]), updates], {
      reduction: 'add',
    });
  }
  // [entries, rest] → [rest, entries]: each output row then takes its entries from one contiguous run (the
  // out-of-fold check trained 1.3x faster than scattering [entries, rest] along axis 0). The int32 index halves the
  // copy the broadcast makes.
  const rank = c.shape(index).length;
  const columns = c.op('Transpose', [c.op('Flatten', [updates], { axis: rank })], { perm: [1, 0] });
  const entries = c.op('Reshape', [c.op('Cast', [index], { to: onnxDataType('int32') }), c.ints([1, -1])]);
  const perElement = c.op('Expand', [entries, c.op('Shape', [columns])]);
  // Zeros made [rest, rows] at once: transposing zeros made [rows, rest] cost MiniLM's 30522×384 table a full pass.
  const first = (dims: string) => c.op('Slice', [dims, c.ints([0]), c.ints([1])]);
  const zerosByColumn = zerosOf(c.op('Concat', [first(c.op('Shape', [columns])), first(shape)], { axis: 0 }));
  const summed = c.op('ScatterElements', [zerosByColumn, perElement, columns], { axis: 1, reduction: 'add' });
  return c.op('Reshape', [c.op('Transpose', [summed], { perm: [1, 0] }), shape]);
}

// The same sum before opset 16, as a product: onehot(index)ᵀ [n, rows] @ updates [n, rest] (rows, rest static).
function oneHotProduct(c: GradContext, index: string, updates: string, shape: Dim[]): string {
  const [rows, ...rest] = shape;
  const width = dimProduct(rest);
  if (typeof rows !== 'number' || typeof width !== 'number') {
    throw new Error(`autodiff: Gather node '${c.node.name}' needs opset 16 or a static data shape for its gradient`);
  }
  // onehot[k, r] = (index[k] == r), built with Equal: ORT's OneHot has no float64 kernel.
  const rowIds = c.constantTensor(
    tensor(
      'int64',
      [rows],
      Array.from({ length: rows }, (_, r) => r),
    ),
  );
  // (i + rows) mod rows maps Gather's negative indices [-rows, 0) onto their rows.
  const wrapped = c.op('Mod', [c.op('Add', [index, c.ints([rows])]), c.ints([rows])]);
  const matches = c.op('Equal', [c.op('Reshape', [wrapped, c.ints([-1, 1])]), rowIds]);
  const oneHot = c.op('Cast', [matches], { to: onnxDataType(c.dtype(c.x[0])) });
  const summed = c.op('Gemm', [oneHot, c.op('Reshape', [updates, c.ints([-1, width])])], { transA: 1 });
  return c.op('Reshape', [summed, c.ints(shape as number[])]);
}
