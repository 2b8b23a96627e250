// The engine's graph IR: a plain-data mirror of the ONNX subset Ratchet reads and writes. Graphs are built and
// rewritten as these objects, and become protobuf only at the edges (encodeModel / decodeModel).

/** float16 tensors hold their raw IEEE half bit patterns (ir/half.ts), as onnxruntime-node does. */
export type DType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'bool' | 'uint8' | 'uint32';

/** A tensor dimension: a size, or a symbolic name such as 'batch' that is fixed only at run time. */
export type Dim = number | string;

export type TypedData =
  Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array | Uint32Array;

export interface TensorData {
  dtype: DType;
  dims: number[];
  data: TypedData;
}

export interface ValueInfo {
  name: string;
  dtype: DType;
  shape: Dim[];
}

export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'tensor'; value: TensorData }
  /** A subgraph, e.g. a Loop's body: it may read the enclosing graph's values by name. */
  | { kind: 'graph'; value: Graph };

export interface Node {
  op: string;
  name: string;
  domain?: string;
  inputs: string[]; // '' marks an omitted optional input, as in ONNX
  outputs: string[];
  attrs: Record<string, Attr>;
}

export interface Graph {
  name: string;
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, TensorData>;
}

export interface Model {
  graph: Graph;
  /** Version of the default ('ai.onnx') operator set. */
  opset: number;
  irVersion: number;
  producer: string;
  metadata: Record<string, string>;
  /** Operator sets of other domains the graph uses, e.g. { 'com.microsoft': 1 }. */
  extraOpsets?: Record<string, number>;
}
