// The safetensors format (https://github.com/huggingface/safetensors), used for checkpoints: an 8-byte little-endian
// header length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}`
// padded with spaces to a multiple of 8 bytes, then every tensor's little-endian bytes, back to back.
//
// Output is byte-deterministic: tensors and metadata are written in sorted key order, so the same weights always
// hash the same.
import { readFile, writeFile } from 'node:fs/promises';
import { elementCount, type DType, type TensorData, type TypedData } from '../ir/index.ts';

export interface Safetensors {
  tensors: Map<string, TensorData>;
  metadata: Record<string, string>;
}

// float16 is left out: checkpoints keep float32 master weights, and an imported model's weights must be float32.
const codeOf: Record<Exclude<DType, 'float16'>, string> = {
  float32: 'F32',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  uint8: 'U8',
  uint32: 'U32',
  bool: 'BOOL',
};
type Stored = keyof typeof codeOf;
const dtypeOf = new Map(Object.entries(codeOf).map(([dtype, code]) => [code, dtype as Stored]));

const arrayOf = {
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  uint8: Uint8Array,
  uint32: Uint32Array,
  bool: Uint8Array,
} as const;

const METADATA_KEY = '__metadata__';

// Typed arrays use the host's byte order and the format is little-endian; every platform Node ships for is
// little-endian, but a wrong guess would corrupt weights silently, so it is checked rather than assumed.
const hostIsLittleEndian = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
function checkHost(): void {
  if (!hostIsLittleEndian) throw new Error('safetensors: this host is big-endian, which is not supported');
}

function byteView(data: TypedData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

// JSON.stringify would put integer-like keys ("0", "1") before the others whatever the insertion order, so
// objects whose key order matters are written by hand.
function jsonObject(entries: [string, string][]): string {
  return `{${entries.map(([key, json]) => `${JSON.stringify(key)}:${json}`).join(',')}}`;
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function encodeSafetensors(
  tensors: Map<string, TensorData> | Record<string, TensorData>,
  metadata: Record<string, string> = {},
): Uint8Array {
  checkHost();
  const named = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))].sort(([a], [b]) =>
    byCodeUnit(a, b),
  );
  const headerEntries: [string, string][] = [];
  const metaEntries = Object.entries(metadata).sort(([a], [b]) => byCodeUnit(a, b));
  for (const [key, value] of metaEntries) {
    if (typeof value !== 'string')
      throw new Error(`safetensors metadata "${key}" must be a string, got ${typeof value}`);
  }
  if (metaEntries.length > 0) {
    headerEntries.push([METADATA_KEY, jsonObject(metaEntries.map(([k, v]) => [k, JSON.stringify(v)]))]);
  }

  let offset = 0;
  for (const [name, t] of named) {
    if (name === METADATA_KEY) throw new Error(`"${METADATA_KEY}" is reserved and cannot name a tensor`);
    if (t.dtype === 'float16' || !(t.dtype in codeOf)) {
      throw new Error(`tensor "${name}": dtype ${t.dtype} cannot be stored in safetensors`);
    }
    if (!(t.data instanceof arrayOf[t.dtype])) {
      throw new Error(`tensor "${name}": a ${t.dtype} tensor's data must be a ${arrayOf[t.dtype].name}`);
    }
    if (t.data.length !== elementCount(t.dims)) {
      throw new Error(`tensor "${name}": ${t.data.length} values do not fill dims [${t.dims}]`);
    }
    const end = offset + t.data.byteLength;
    headerEntries.push([name, JSON.stringify({ dtype: codeOf[t.dtype], shape: t.dims, data_offsets: [offset, end] })]);
    offset = end;
  }

  const json = new TextEncoder().encode(jsonObject(headerEntries));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const [, t] of named) {
    out.set(byteView(t.data), at);
    at += t.data.byteLength;
  }
  return out;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isIndex(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Parses safetensors bytes; throws an error naming the problem (and the tensor) for anything malformed. */
export function decodeSafetensors(bytes: Uint8Array): Safetensors {
  checkHost();
  if (bytes.length < 8) throw new Error(`safetensors: ${bytes.length} bytes is too short for the 8-byte header length`);
  const declared = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) {
    throw new Error(`safetensors: header length ${declared} exceeds the ${bytes.length - 8} bytes after it`);
  }
  const dataStart = 8 + Number(declared);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (err) {
    throw new Error(`safetensors: header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (!isObject(header)) throw new Error('safetensors: header must be a JSON object');

  const metadata: Record<string, string> = {};
  if (METADATA_KEY in header) {
    const meta = header[METADATA_KEY];
    if (!isObject(meta)) throw new Error(`safetensors: "${METADATA_KEY}" must be an object of strings`);
    for (const [key, value] of Object.entries(meta)) {
      if (typeof value !== 'string') throw new Error(`safetensors: metadata "${key}" must be a string`);
      metadata[key] = value;
    }
  }

  const dataLength = bytes.length - dataStart;
  const spans: { name: string; begin: number; end: number }[] = [];
  const tensors = new Map<string, TensorData>();
  for (const name of Object.keys(header).sort(byCodeUnit)) {
    if (name === METADATA_KEY) continue;
    const entry = header[name];
    const fail = (problem: string) => new Error(`safetensors: tensor "${name}": ${problem}`);
    if (!isObject(entry)) throw fail('entry must be an object');
    const dtype = dtypeOf.get(entry.dtype as string);
    if (!dtype)
      throw fail(`dtype ${JSON.stringify(entry.dtype)} is not supported (${Object.values(codeOf).join(', ')})`);
    const { shape, data_offsets: offsets } = entry;
    if (!Array.isArray(shape) || !shape.every(isIndex))
      throw fail(`shape must be non-negative integers, got ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
      throw fail(`data_offsets must be [begin, end], got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const ArrayType = arrayOf[dtype];
    const expected = elementCount(shape) * ArrayType.BYTES_PER_ELEMENT;
    if (begin > end || end > dataLength)
      throw fail(`data_offsets [${begin}, ${end}] lie outside the ${dataLength} data bytes`);
    if (end - begin !== expected)
      throw fail(`data_offsets span ${end - begin} bytes but ${dtype}[${shape}] needs ${expected}`);
    spans.push({ name, begin, end });
    // Copied into a fresh buffer, so the typed array is aligned whatever the tensor's offset in the file (and owns
    // its memory: a Node Buffer's slice() would be a view into a shared pool).
    const data = new ArrayType(new Uint8Array(bytes.subarray(dataStart + begin, dataStart + end)).buffer) as TypedData;
    tensors.set(name, { dtype, dims: shape, data });
  }

  // The format requires the tensors to tile the data area exactly: no holes (hidden bytes) and no overlaps.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const span of spans) {
    if (span.begin !== covered) {
      throw new Error(
        span.begin < covered
          ? `safetensors: tensor "${span.name}" overlaps the tensor before it`
          : `safetensors: ${span.begin - covered} bytes before tensor "${span.name}" belong to no tensor`,
      );
    }
    covered = span.end;
  }
  if (covered !== dataLength)
    throw new Error(`safetensors: ${dataLength - covered} trailing bytes belong to no tensor`);

  return { tensors, metadata };
}

export async function writeSafetensors(
  path: string,
  tensors: Map<string, TensorData> | Record<string, TensorData>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFile(path, encodeSafetensors(tensors, metadata));
}

export async function readSafetensors(path: string): Promise<Safetensors> {
  try {
    return decodeSafetensors(await readFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code) throw err;
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}
