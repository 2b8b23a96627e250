// ONNX element types (TensorProto.DataType) <-> IR dtypes.
import { TensorProto_DataType as DataType } from './gen/onnx_pb.ts';
import type { DType } from '../ir/types.ts';

const dataTypes: Record<DType, DataType> = {
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
  float16: DataType.FLOAT16,
  int64: DataType.INT64,
  int32: DataType.INT32,
  bool: DataType.BOOL,
  uint8: DataType.UINT8,
  uint32: DataType.UINT32,
};
const dtypes = new Map<number, DType>(Object.entries(dataTypes).map(([k, v]) => [v, k as DType]));

/** The IR dtype of an ONNX TensorProto.DataType code (as in Cast's 'to'); `where` names the value in errors. */
export function toDType(code: number, where: string): DType {
  const dtype = dtypes.get(code);
  if (!dtype)
    throw new Error(`ONNX: ${where} has element type ${DataType[code] ?? code}, which Ratchet does not support`);
  return dtype;
}

/** The ONNX TensorProto.DataType code of an IR dtype (as Cast's 'to' wants it). */
export function onnxDataType(dtype: DType): number {
  return dataTypes[dtype];
}
