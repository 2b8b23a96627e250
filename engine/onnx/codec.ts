// ONNX ModelProto bytes <-> the engine IR. The only place that knows the protobuf layout.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType as AttrType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  TensorProto_DataLocation,
  TensorProtoSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type GraphProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './gen/onnx_pb.ts';
import { inferShapes } from '../ir/shapes.ts';
import { allocate, elementCount } from '../ir/tensor.ts';
import { onnxDataType as dataTypeOf, toDType } from './dtypes.ts';
import type { Attr, DType, Dim, Graph, Model, Node, TensorData, TypedData, ValueInfo } from '../ir/types.ts';

// INT64_MAX/MIN appear as "to the end" sentinels (e.g. Slice ends); as JS numbers they round to ±2^63.
const INT64_MAX = 2n ** 63n - 1n;
function toInt64(v: number): bigint {
  const b = BigInt(Math.trunc(v));
  return b > INT64_MAX ? INT64_MAX : b < -INT64_MAX - 1n ? -INT64_MAX - 1n : b;
}

// ---- encode ----

function encodeTensor(name: string, t: TensorData): TensorProto {
  const { data } = t;
  // raw_data is little-endian; so are the hosts Ratchet runs on (x86-64, arm64). A view, not a copy: toBinary
  // copies the bytes into the message once.
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return create(TensorProtoSchema, {
    name,
    dims: t.dims.map(BigInt),
    dataType: dataTypeOf(t.dtype),
    rawData: raw,
  });
}

function encodeValueInfo(v: ValueInfo): ValueInfoProto {
  const dim = v.shape.map((d) => ({
    value:
      typeof d === 'number' ? { case: 'dimValue' as const, value: BigInt(d) } : { case: 'dimParam' as const, value: d },
  }));
  const type = create(TypeProtoSchema, {
    value: { case: 'tensorType', value: { elemType: dataTypeOf(v.dtype), shape: { dim } } },
  });
  return create(ValueInfoProtoSchema, { name: v.name, type });
}

function encodeAttr(name: string, a: Attr): AttributeProto {
  switch (a.kind) {
    case 'int':
      return create(AttributeProtoSchema, { name, type: AttrType.INT, i: toInt64(a.value) });
    case 'float':
      return create(AttributeProtoSchema, { name, type: AttrType.FLOAT, f: a.value });
    case 'string':
      return create(AttributeProtoSchema, { name, type: AttrType.STRING, s: new TextEncoder().encode(a.value) });
    case 'ints':
      return create(AttributeProtoSchema, { name, type: AttrType.INTS, ints: a.value.map(toInt64) });
    case 'floats':
      return create(AttributeProtoSchema, { name, type: AttrType.FLOATS, floats: a.value });
    case 'tensor':
      return create(AttributeProtoSchema, { name, type: AttrType.TENSOR, t: encodeTensor('', a.value) });
    case 'graph':
      return create(AttributeProtoSchema, { name, type: AttrType.GRAPH, g: encodeGraph(a.value) });
  }
}

function encodeNode(n: Node): NodeProto {
  return create(NodeProtoSchema, {
    opType: n.op,
    name: n.name,
    domain: n.domain ?? '',
    input: n.inputs,
    output: n.outputs,
    attribute: Object.entries(n.attrs).map(([k, a]) => encodeAttr(k, a)),
  });
}

function encodeGraph(g: Graph): GraphProto {
  return create(GraphProtoSchema, {
    name: g.name,
    node: g.nodes.map(encodeNode),
    input: g.inputs.map(encodeValueInfo),
    output: g.outputs.map(encodeValueInfo),
    initializer: [...g.initializers].map(([name, t]) => encodeTensor(name, t)),
  });
}

/** The model as ONNX ModelProto bytes, loadable by ONNX Runtime or any ONNX consumer. */
export function encodeModel(m: Model): Uint8Array {
  const opsetImport = [
    { domain: '', version: BigInt(m.opset) },
    ...Object.entries(m.extraOpsets ?? {}).map(([domain, v]) => ({ domain, version: BigInt(v) })),
  ];
  const proto = create(ModelProtoSchema, {
    irVersion: BigInt(m.irVersion),
    producerName: m.producer,
    opsetImport,
    graph: encodeGraph(m.graph),
    metadataProps: Object.entries(m.metadata).map(([key, value]) => ({ key, value })),
  });
  return toBinary(ModelProtoSchema, proto);
}

// ---- decode ----

// Typed fields hold the values when raw_data is empty; which field depends on the element type (onnx.proto).
function typedField(p: TensorProto, dtype: DType): ArrayLike<number | bigint> {
  switch (dtype) {
    case 'float32':
      return p.floatData;
    case 'float64':
      return p.doubleData;
    case 'int64':
      return p.int64Data;
    default:
      return p.int32Data;
  }
}

/** Reads a file that a model keeps tensor data in (its `location`, relative to the model's directory). */
export type ExternalDataReader = (location: string) => Uint8Array;

export interface DecodeOptions {
  /** Needed for models saved with external data (torch.onnx.export's default for its torch.export-based path). */
  externalData?: ExternalDataReader;
}

// The bytes of a tensor kept outside the model: `location`, with optional `offset` and `length` (onnx.proto).
function externalBytes(p: TensorProto, where: string, read: ExternalDataReader | undefined): Uint8Array {
  const entries = Object.fromEntries(p.externalData.map((e) => [e.key, e.value]));
  if (!entries.location) throw new Error(`ONNX: ${where} is external but names no location`);
  if (!read) {
    throw new Error(`ONNX: ${where} keeps its data in the file '${entries.location}'; load the model from its path`);
  }
  const file = read(entries.location);
  const offset = Number(entries.offset ?? 0);
  const length = entries.length === undefined ? file.length - offset : Number(entries.length);
  if (offset + length > file.length) {
    throw new Error(
      `ONNX: ${where} reads bytes ${offset}..${offset + length} of '${entries.location}' (${file.length} bytes)`,
    );
  }
  return file.subarray(offset, offset + length);
}

function decodeTensor(p: TensorProto, where: string, read?: ExternalDataReader): TensorData {
  const dtype = toDType(p.dataType, where);
  const external = p.dataLocation === TensorProto_DataLocation.EXTERNAL;
  const raw = external ? externalBytes(p, where, read) : p.rawData;
  const dims = p.dims.map(Number);
  const count = elementCount(dims);
  let data: TypedData;
  if (external || raw.length > 0) {
    const bytesPer = allocate(dtype, 1).BYTES_PER_ELEMENT;
    if (raw.length !== count * bytesPer) {
      throw new Error(
        `ONNX: ${where} has ${raw.length} raw bytes, dims [${dims}] of ${dtype} need ${count * bytesPer}`,
      );
    }
    // Copy into a fresh, aligned buffer: the protobuf bytes may start at any offset, and when the model was read
    // as a Node Buffer they are a view into it (Buffer.slice does not copy, so neither may we rely on slice).
    const bytes = new Uint8Array(raw);
    data = new (allocate(dtype, 0).constructor as new (b: ArrayBuffer) => TypedData)(bytes.buffer);
  } else {
    const values = typedField(p, dtype);
    if (values.length !== count) {
      throw new Error(`ONNX: ${where} has ${values.length} values, dims [${dims}] need ${count}`);
    }
    data = allocate(dtype, count);
    for (let i = 0; i < count; i++) {
      if (dtype === 'int64') (data as BigInt64Array)[i] = BigInt(values[i]);
      else (data as Float64Array)[i] = Number(values[i]);
    }
  }
  return { dtype, dims, data };
}

// A value's declared type; `shape` is undefined when the model states no shape at all (rank unknown).
function decodeValueInfo(p: ValueInfoProto): { name: string; dtype: DType; shape?: Dim[] } {
  const where = `value '${p.name}'`;
  if (p.type?.value.case !== 'tensorType') {
    throw new Error(`ONNX: ${where} is not a tensor, which Ratchet does not support`);
  }
  const t = p.type.value.value;
  const dtype = toDType(t.elemType, where);
  if (!t.shape) return { name: p.name, dtype };
  // A dim with neither value nor name is unknown; give it a name of its own so that it equals no other dim.
  const shape: Dim[] = t.shape.dim.map((d, i) =>
    d.value.case === 'dimValue'
      ? Number(d.value.value)
      : d.value.case === 'dimParam'
        ? d.value.value
        : `${p.name}:${i}`,
  );
  return { name: p.name, dtype, shape };
}

function decodeAttr(p: AttributeProto, node: string): Attr {
  const where = `attribute '${p.name}' of node '${node}'`;
  switch (p.type) {
    case AttrType.INT:
      return { kind: 'int', value: Number(p.i) };
    case AttrType.FLOAT:
      return { kind: 'float', value: p.f };
    case AttrType.STRING:
      return { kind: 'string', value: new TextDecoder().decode(p.s) };
    case AttrType.INTS:
      return { kind: 'ints', value: p.ints.map(Number) };
    case AttrType.FLOATS:
      return { kind: 'floats', value: [...p.floats] };
    case AttrType.TENSOR:
      if (!p.t) throw new Error(`ONNX: ${where} is a TENSOR with no tensor`);
      return { kind: 'tensor', value: decodeTensor(p.t, where) };
    default:
      throw new Error(`ONNX: ${where} has type ${AttrType[p.type] ?? p.type}, which Ratchet does not support`);
  }
}

function decodeNode(p: NodeProto, index: number): Node {
  const name = p.name || `${p.opType}_${index}`;
  const attrs: Record<string, Attr> = {};
  for (const a of p.attribute) attrs[a.name] = decodeAttr(a, name);
  const node: Node = { op: p.opType, name, inputs: [...p.input], outputs: [...p.output], attrs };
  if (p.domain && p.domain !== 'ai.onnx') node.domain = p.domain;
  return node;
}

function decodeGraph(p: GraphProto, read?: ExternalDataReader): Graph {
  const initializers = new Map<string, TensorData>();
  for (const t of p.initializer) initializers.set(t.name, decodeTensor(t, `initializer '${t.name}'`, read));
  const inputs = p.input.map(decodeValueInfo).map((v) => {
    if (!v.shape) throw new Error(`ONNX: graph input '${v.name}' states no shape`);
    return v as ValueInfo;
  });
  const graph: Graph = { name: p.name, nodes: p.node.map(decodeNode), inputs, outputs: [], initializers };
  // Some exporters leave output shapes out; inference from the inputs fills them in.
  const declared = p.output.map(decodeValueInfo);
  const inferred = declared.some((v) => !v.shape) ? inferShapes(graph) : undefined;
  graph.outputs = declared.map((v) => {
    const shape = v.shape ?? inferred?.get(v.name)?.shape;
    if (!shape) throw new Error(`ONNX: graph output '${v.name}' states no shape and none can be inferred`);
    return { name: v.name, dtype: v.dtype, shape };
  });
  return graph;
}

/** Parses ONNX ModelProto bytes. Throws an error saying what is wrong when they are not a model Ratchet can use. */
export function decodeModel(bytes: Uint8Array, opts: DecodeOptions = {}): Model {
  let proto;
  try {
    proto = fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    throw new Error(`ONNX: the bytes are not an ONNX model (protobuf parse failed: ${(e as Error).message})`);
  }
  if (!proto.graph) throw new Error('ONNX: the model has no graph (are these bytes an ONNX model?)');
  let opset: number | undefined;
  const extraOpsets: Record<string, number> = {};
  for (const o of proto.opsetImport) {
    if (o.domain === '' || o.domain === 'ai.onnx') opset = Number(o.version);
    else extraOpsets[o.domain] = Number(o.version);
  }
  if (opset === undefined) throw new Error('ONNX: the model imports no default (ai.onnx) operator set');
  const metadata: Record<string, string> = {};
  for (const { key, value } of proto.metadataProps) metadata[key] = value;
  const model: Model = {
    graph: decodeGraph(proto.graph, opts.externalData),
    opset,
    irVersion: Number(proto.irVersion),
    producer: proto.producerName,
    metadata,
  };
  if (Object.keys(extraOpsets).length > 0) model.extraOpsets = extraOpsets;
  return model;
}
