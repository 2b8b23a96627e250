export type { Attr, DType, Dim, Graph, Model, Node, TensorData, TypedData, ValueInfo } from './types.ts';
export { GraphBuilder, emptyGraph } from './builder.ts';
export { int, float, ints, floats, str, tensorAttr, toAttr, attrValue, type AttrInput } from './attrs.ts';
export {
  tensor,
  zeros,
  scalar,
  int64s,
  fromArray,
  toNumbers,
  allocate,
  elementCount,
  isFloat,
  isStatic,
} from './tensor.ts';
export { createModel, DEFAULT_OPSET, DEFAULT_IR_VERSION } from './model.ts';
export { encodeModel, decodeModel, type DecodeOptions, type ExternalDataReader } from '../onnx/codec.ts';
export { onnxDataType, toDType } from '../onnx/dtypes.ts';
export { inferShapes, inferKnown, type Known } from './shapes.ts';
export { broadcastShapes, dimProduct } from './dims.ts';
export { RATCHET_DOMAIN } from './domains.ts';
