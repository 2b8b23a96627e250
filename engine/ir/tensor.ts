import { fromHalfBits, toHalfBits } from './half.ts';
import type { DType, Dim, TensorData, TypedData } from './types.ts';

const arrayTypes = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  bool: Uint8Array,
  uint8: Uint8Array,
  uint32: Uint32Array,
} as const;

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}

/** A typed array of `count` zeros for `dtype`. */
export function allocate(dtype: DType, count: number): TypedData {
  return new arrayTypes[dtype](count);
}

/**
 * A tensor of `dtype` and `dims`. `values` may be a matching typed array (used as is), a flat JS array
 * (numbers, or bigints/numbers for int64, booleans for bool; numbers for float16, stored as half bit patterns), or
 * omitted for zeros.
 */
export function tensor(
  dtype: DType,
  dims: number[],
  values?: TypedData | ArrayLike<number | bigint | boolean>,
): TensorData {
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`tensor: dims must be non-negative integers, got [${dims}]`);
  }
  const count = elementCount(dims);
  if (values === undefined) return { dtype, dims: [...dims], data: allocate(dtype, count) };
  if (values.length !== count) {
    throw new Error(`tensor: ${values.length} values do not fill dims [${dims}] (${count} elements)`);
  }
  if (values instanceof arrayTypes[dtype]) return { dtype, dims: [...dims], data: values as TypedData };
  const data = allocate(dtype, count);
  for (let i = 0; i < count; i++) {
    const v = values[i];
    if (dtype === 'int64') (data as BigInt64Array)[i] = BigInt(v as number | bigint);
    else if (dtype === 'float16') (data as Uint16Array)[i] = toHalfBits(Number(v));
    else (data as Float64Array)[i] = Number(v);
  }
  return { dtype, dims: [...dims], data };
}

export function zeros(dtype: DType, dims: number[]): TensorData {
  return tensor(dtype, dims);
}

/** A rank-0 tensor. */
export function scalar(dtype: DType, value: number | bigint | boolean): TensorData {
  return tensor(dtype, [], [value]);
}

/** A 1-D int64 tensor, the form ONNX wants for axes, shapes, starts/ends. */
export function int64s(values: readonly number[]): TensorData {
  return tensor('int64', [values.length], values);
}

/** A float tensor of `dims` filled from a nested or flat JS array. */
export function fromArray(dtype: DType, dims: number[], values: number[]): TensorData {
  return tensor(dtype, dims, values);
}

/** The tensor's elements as JS numbers (int64 values beyond 2^53 lose precision). */
export function toNumbers(t: TensorData): number[] {
  if (t.dtype === 'float16') return Array.from(t.data as Uint16Array, fromHalfBits);
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** True when every dim is a known size. */
export function isStatic(shape: readonly Dim[]): shape is number[] {
  return shape.every((d) => typeof d === 'number');
}
