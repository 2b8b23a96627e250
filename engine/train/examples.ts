// What the trainer and the scorer batch: tabular rows (one `features` input) or rows of named model inputs, such as
// a text model's token ids and mask. Both are cut into batches of ORT tensors by input name.
import * as ort from 'onnxruntime-node';
import { takeRows, type TabularDataset } from '../data/index.ts';
import { allocate, type TensorData } from '../ir/index.ts';
import { FEATURES } from '../models/layout.ts';

/** Labelled rows of named model inputs; every tensor's first axis is the row. */
export interface InputDataset {
  rows: number;
  inputs: Record<string, TensorData>;
  /** Class index of each row: an index into `labelNames`. */
  labels: Int32Array;
  labelNames: string[];
}

export type Examples = TabularDataset | InputDataset;

const isInputs = (data: Examples): data is InputDataset => 'inputs' in data;

function takeTensorRows(t: TensorData, indices: ArrayLike<number>): TensorData {
  const width = t.dims.slice(1).reduce((n, d) => n * d, 1);
  const out = allocate(t.dtype, indices.length * width);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i];
    if (!Number.isInteger(r) || r < 0 || r >= t.dims[0]) {
      throw new RangeError(`row index ${r} is outside the dataset's ${t.dims[0]} rows`);
    }
    out.set(t.data.subarray(r * width, (r + 1) * width) as never, i * width);
  }
  return { dtype: t.dtype, dims: [indices.length, ...t.dims.slice(1)], data: out };
}

/** The model inputs and labels of the rows `indices`, in that order. */
export function batchOf(
  data: Examples,
  indices: ArrayLike<number>,
): { inputs: Record<string, ort.Tensor>; labels: Int32Array } {
  if (!isInputs(data)) {
    const rows = takeRows(data, indices);
    return {
      inputs: { [FEATURES]: new ort.Tensor('float32', rows.features, [indices.length, data.width]) },
      labels: rows.labels,
    };
  }
  return { inputs: inputsAt(data.inputs, indices), labels: Int32Array.from(indices, (r) => data.labels[r]) };
}

/** Rows `indices` of named model inputs, in that order, as ORT tensors (labelled or not). */
export function inputsAt(inputs: Record<string, TensorData>, indices: ArrayLike<number>): Record<string, ort.Tensor> {
  const batch: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(inputs)) {
    const rows = takeTensorRows(t, indices);
    batch[name] = new ort.Tensor(rows.dtype, rows.data, rows.dims);
  }
  return batch;
}

/** The rows `indices` as a dataset of the same kind (for held-out splits). */
export function subsetOf<T extends Examples>(data: T, indices: ArrayLike<number>): T {
  if (!isInputs(data)) {
    const { features, labels } = takeRows(data, indices);
    return { ...data, rows: indices.length, features, labels };
  }
  const inputs = Object.fromEntries(Object.entries(data.inputs).map(([k, t]) => [k, takeTensorRows(t, indices)]));
  return { ...data, rows: indices.length, inputs, labels: Int32Array.from(indices, (r) => data.labels[r]) };
}
