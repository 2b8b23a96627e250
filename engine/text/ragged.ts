import { tensor } from '../ir/tensor.ts';
import type { TensorData } from '../ir/types.ts';

// Rows of unequal length kept back to back, with no padding: a dataset's fastText bags. Padded to the longest text,
// 5,000 texts of 150-450 words held 60 MB of ids and weights (1,024 columns, int64 ids) for 14 MB of n-grams; the
// rows are padded only when a batch is cut, to that batch's own longest row (engine/train/examples.ts).

/**
 * Row r is values[ends[r - 1], ends[r]) (ends[-1] = 0). Int64 rows keep their values as int32, half the memory:
 * they are bucket ids.
 */
export interface RaggedRows {
  readonly kind: 'ragged';
  readonly dtype: 'int64' | 'float32';
  readonly ends: Int32Array;
  readonly values: Int32Array | Float32Array;
}

export const isRagged = (t: TensorData | RaggedRows): t is RaggedRows => 'kind' in t && t.kind === 'ragged';

/** Rows `indices` (all rows without them) padded with zeros to the longest of them, at least one column. */
export function paddedRows(rows: RaggedRows, indices?: ArrayLike<number>): TensorData {
  const { ends, values } = rows;
  const count = indices?.length ?? ends.length;
  const rowAt = (i: number) => (indices ? indices[i] : i);
  let width = 1;
  for (let i = 0; i < count; i++) {
    const r = rowAt(i);
    width = Math.max(width, ends[r] - (r === 0 ? 0 : ends[r - 1]));
  }
  const out = tensor(rows.dtype, [count, width]);
  // An int64 is written as its two little-endian 32-bit halves: no BigInt per value.
  const words =
    rows.dtype === 'int64' ? new Int32Array(out.data.buffer, out.data.byteOffset, 2 * count * width) : undefined;
  for (let i = 0; i < count; i++) {
    const r = rowAt(i);
    const start = r === 0 ? 0 : ends[r - 1];
    if (!words) {
      (out.data as Float32Array).set(values.subarray(start, ends[r]), i * width);
      continue;
    }
    for (let j = start, at = 2 * i * width; j < ends[r]; j++, at += 2) {
      words[at] = values[j];
      words[at + 1] = values[j] < 0 ? -1 : 0;
    }
  }
  return out;
}
