// What the trainer and the scorer batch: tabular rows (one `features` input) or rows of named model inputs, such as
// a text model's token ids and mask. Both are cut into batches of ORT tensors by input name.
import * as ort from 'onnxruntime-node';
import { takeRows, type TabularDataset } from '../data/index.ts';
import { allocate, type TensorData } from '../ir/index.ts';
import { FEATURES } from '../models/layout.ts';
import { INPUT_IDS } from '../text/encode.ts';
import { isRagged, paddedRows, type RaggedRows } from '../text/ragged.ts';

/** Labelled rows of named model inputs; every tensor's first axis is the row. */
export interface InputDataset {
  rows: number;
  /** Padded rows, or rows of unequal length that each batch pads to its own longest (fastText bags). */
  inputs: Record<string, TensorData | RaggedRows>;
  /** Class index of each row: an index into `labelNames`. */
  labels: Int32Array;
  labelNames: string[];
  /**
   * An input whose zeros after a row's last non-zero are padding, for inputs of a symbolic width (a fastText bag's
   * weights): each batch is cut to its longest row, so a few long texts do not make every batch as wide as they are.
   */
  paddedBy?: string;
  /**
   * Row r of this dataset is row `rowOf[r]` of `inputs`: a subset (subsetOf) that shares a larger set's inputs
   * instead of copying them, as the out-of-fold folds do. `labels` are this dataset's own.
   */
  rowOf?: Int32Array;
}

export type Examples = TabularDataset | InputDataset;

const isInputs = (data: Examples): data is InputDataset => 'inputs' in data;

/** Rows one inference run (scoring, evaluation, a teacher's logits) takes at most. */
const RUN_ROWS = 1024;
/**
 * Token positions one inference run takes at most, for a transformer's token ids: its activations grow with rows ×
 * tokens, and attention with tokens², so rows of long texts run fewer at a time. Measured with /usr/bin/time: a
 * MiniLM LoRA `ratchet train` at 128 tokens scoring 800 texts peaked at 3.9 GB in runs of 1,024 rows, 1.37 GB in
 * runs of 64.
 */
const RUN_TOKENS = 8192;

/** Rows per inference run over `data`: RUN_ROWS, or fewer so that a run holds at most RUN_TOKENS token ids. */
export function inferenceRows(data: object): number {
  const ids = 'inputs' in data ? (data.inputs as InputDataset['inputs'])[INPUT_IDS] : undefined;
  if (!ids || isRagged(ids)) return RUN_ROWS;
  const tokens = ids.dims.slice(1).reduce((n, d) => n * d, 1);
  return Math.max(1, Math.min(RUN_ROWS, Math.floor(RUN_TOKENS / tokens)));
}

function checkedRow(r: number, rows: number): number {
  if (!Number.isInteger(r) || r < 0 || r >= rows)
    throw new RangeError(`row index ${r} is outside the dataset's ${rows} rows`);
  return r;
}

/** Rows `indices` of a tensor; with `columns`, only the first that many of each row of a 2-D tensor. */
function takeTensorRows(t: TensorData, indices: ArrayLike<number>, columns?: number): TensorData {
  const width = t.dims.slice(1).reduce((n, d) => n * d, 1);
  const kept = columns ?? width;
  const out = allocate(t.dtype, indices.length * kept);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i];
    checkedRow(r, t.dims[0]);
    out.set(t.data.subarray(r * width, r * width + kept) as never, i * kept);
  }
  return {
    dtype: t.dtype,
    dims: [indices.length, ...(columns === undefined ? t.dims.slice(1) : [columns])],
    data: out,
  };
}

/** The columns the rows `indices` of a padded input need: up to the last non-zero of the longest (at least 1). */
function usedColumns(t: TensorData, indices: ArrayLike<number>): number {
  const width = t.dims[1];
  let used = 1;
  for (let i = 0; i < indices.length; i++) {
    const row = t.data.subarray(indices[i] * width, (indices[i] + 1) * width);
    for (let c = width - 1; c >= used; c--) {
      if (row[c] !== 0) {
        used = c + 1;
        break;
      }
    }
  }
  return used;
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
  const { rowOf } = data;
  const rows = rowOf ? Int32Array.from(indices, (r) => rowOf[checkedRow(r, data.rows)]) : indices;
  const paddedBy = data.paddedBy === undefined ? undefined : data.inputs[data.paddedBy];
  const columns = paddedBy === undefined || isRagged(paddedBy) ? undefined : usedColumns(paddedBy, rows);
  return {
    inputs: inputsAt(data.inputs, rows, columns),
    labels: Int32Array.from(indices, (r) => data.labels[r]),
  };
}

/**
 * Rows `indices` of named model inputs, in that order, as ORT tensors (labelled or not); with `columns`, the first
 * that many columns of each padded input (inputs padded alike, as a tokenizer's ids and mask are). Ragged inputs
 * are padded to the longest of these rows.
 */
export function inputsAt(
  inputs: InputDataset['inputs'],
  indices: ArrayLike<number>,
  columns?: number,
): Record<string, ort.Tensor> {
  const batch: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(inputs)) {
    const rows = isRagged(t)
      ? paddedRows(
          t,
          Array.from(indices, (r) => checkedRow(r, t.ends.length)),
        )
      : takeTensorRows(t, indices, columns);
    batch[name] = new ort.Tensor(rows.dtype, rows.data, rows.dims);
  }
  return batch;
}

/**
 * The rows `indices` as a dataset of the same kind (for held-out splits and folds). Named inputs are shared, not
 * copied (`rowOf`): a padded text encoding is the largest thing a fold holds.
 */
export function subsetOf<T extends Examples>(data: T, indices: ArrayLike<number>): T {
  if (!isInputs(data)) {
    const { features, labels } = takeRows(data, indices);
    return { ...data, rows: indices.length, features, labels };
  }
  const rowOf = Int32Array.from(indices, (r) =>
    data.rowOf ? data.rowOf[checkedRow(r, data.rows)] : checkedRow(r, data.rows),
  );
  return { ...data, rows: indices.length, rowOf, labels: Int32Array.from(indices, (r) => data.labels[r]) };
}
