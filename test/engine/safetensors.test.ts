import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tensor, type DType, type TensorData } from '../../engine/ir/index.ts';
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  writeSafetensors,
} from '../../engine/io/safetensors.ts';

const fixture = new URL('../fixtures/safetensors/python.safetensors', import.meta.url);

function headerOf(bytes: Uint8Array): { json: string; length: number } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { json: new TextDecoder().decode(bytes.subarray(8, 8 + length)), length };
}

/** A file with a hand-written header, to feed the reader malformed input. */
function withHeader(header: unknown, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

const sample = (): Map<string, TensorData> =>
  new Map([
    ['w', tensor('float32', [2, 2], [0.5, -1, 3.25, 1e-30])],
    ['b', tensor('float64', [3], [Math.PI, -0, 1e300])],
    ['step', tensor('int64', [], [2n ** 62n + 1n])],
    ['idx', tensor('int32', [1, 2], [-2147483648, 7])],
    ['u', tensor('uint8', [3], [0, 1, 255])],
    ['mask', tensor('bool', [2], [1, 0])],
    ['0', tensor('float32', [0], [])],
  ]);

describe('safetensors', () => {
  it('reads a file written by the Python reference implementation', async () => {
    const { tensors, metadata } = decodeSafetensors(await readFile(fixture));
    expect(metadata).toEqual({ format: 'np', written_by: 'safetensors (Python)' });
    expect([...tensors.keys()].sort()).toEqual(['bias', 'bytes', 'empty', 'ids', 'mask', 'step', 'weight']);
    expect(tensors.get('weight')).toEqual(tensor('float32', [2, 3], [0, 0.25, 0.5, 0.75, 1, 1.25]));
    expect(tensors.get('bias')).toEqual(tensor('float64', [2], [-1.5, 2.25]));
    expect(tensors.get('step')).toEqual(tensor('int64', [], [9007199254740993n]));
    expect(tensors.get('ids')).toEqual(tensor('int32', [2, 1], [-7, 2147483647]));
    expect(tensors.get('bytes')).toEqual(tensor('uint8', [3], [0, 127, 255]));
    expect(tensors.get('mask')).toEqual(tensor('bool', [3], [1, 0, 1]));
    expect(tensors.get('empty')).toEqual(tensor('float32', [0, 4]));
  });

  it('round-trips every dtype, metadata and a zero-size tensor exactly', () => {
    const bytes = encodeSafetensors(sample(), { step: '12', 'rng.s': '[1,2,3,4]' });
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ step: '12', 'rng.s': '[1,2,3,4]' });
    expect(tensors).toEqual(sample());
    expect(Object.is((tensors.get('b')!.data as Float64Array)[1], -0)).toBe(true);
  });

  it('writes only the viewed bytes of a tensor whose data is a view into a larger buffer', () => {
    const backing = Float32Array.from([9, 9, 1, 2, 3, 9]);
    const view = tensor('float32', [3], backing.subarray(2, 5));
    const { tensors } = decodeSafetensors(encodeSafetensors({ v: view }));
    expect(tensors.get('v')).toEqual(tensor('float32', [3], [1, 2, 3]));
  });

  it('re-encodes the Python file to the same tensors', async () => {
    const fromPython = decodeSafetensors(await readFile(fixture));
    const again = decodeSafetensors(encodeSafetensors(fromPython.tensors, fromPython.metadata));
    expect(again).toEqual(fromPython);
  });

  it('writes the layout the format specifies: sorted keys, 8-byte aligned space-padded header, contiguous data', () => {
    const bytes = encodeSafetensors(sample(), { z: '1', a: '2' });
    const { json, length } = headerOf(bytes);
    expect(length % 8).toBe(0);
    expect(json).toMatch(/^\{"__metadata__":\{"a":"2","z":"1"\},"0":/);
    expect(json.trimEnd()).toBe(json.replace(/ +$/, ''));
    const header = JSON.parse(json);
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    expect(json.indexOf('"b"')).toBeLessThan(json.indexOf('"idx"'));
    const spans = names.map((n) => header[n].data_offsets as [number, number]).sort((a, b) => a[0] - b[0]);
    expect(spans[0][0]).toBe(0);
    spans.slice(1).forEach(([begin], i) => expect(begin).toBe(spans[i][1]));
    expect(spans.at(-1)![1]).toBe(bytes.length - 8 - length);
    expect(header.w).toEqual({ dtype: 'F32', shape: [2, 2], data_offsets: expect.any(Array) });
  });

  it('is byte-deterministic whatever order the tensors and metadata come in', () => {
    const reversed = new Map([...sample()].reverse());
    const a = encodeSafetensors(sample(), { x: '1', y: '2' });
    const b = encodeSafetensors(reversed, { y: '2', x: '1' });
    const hash = (x: Uint8Array) => createHash('sha256').update(x).digest('hex');
    expect(hash(a)).toBe(hash(b));
  });

  it('round-trips arbitrary float32/int32/int64 tensors (property)', () => {
    const dims = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 });
    const count = (d: number[]) => d.reduce((n, x) => n * x, 1);
    const arbTensor = fc.oneof(
      dims.chain((d) =>
        fc
          .array(fc.float({ noNaN: true }), { minLength: count(d), maxLength: count(d) })
          .map((v) => tensor('float32', d, v)),
      ),
      dims.chain((d) =>
        fc.array(fc.integer(), { minLength: count(d), maxLength: count(d) }).map((v) => tensor('int32', d, v)),
      ),
      dims.chain((d) =>
        fc
          .array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { minLength: count(d), maxLength: count(d) })
          .map((v) => tensor('int64', d, v)),
      ),
    );
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ minLength: 1 }).filter((k) => k !== '__metadata__'),
          arbTensor,
        ),
        (record) => {
          const decoded = decodeSafetensors(encodeSafetensors(record));
          expect(Object.fromEntries(decoded.tensors)).toEqual(record);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('writes and reads files, naming the file when it is malformed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ratchet-st-'));
    try {
      const path = join(dir, 'ckpt.safetensors');
      await writeSafetensors(path, sample(), { step: '3' });
      expect((await readSafetensors(path)).tensors).toEqual(sample());
      await writeSafetensors(path, {});
      expect(await readSafetensors(path)).toEqual({ tensors: new Map(), metadata: {} });
      await import('node:fs/promises').then((fs) => fs.writeFile(path, 'not a checkpoint'));
      await expect(readSafetensors(path)).rejects.toThrow(`${path}: safetensors: header length`);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it.each<[string, Uint8Array, RegExp]>([
    ['too short', new Uint8Array(5), /5 bytes is too short/],
    ['header past the end', withHeader({}, 0).map((b, i) => (i === 0 ? 200 : b)), /header length 200 exceeds/],
    [
      'header not JSON',
      (() => {
        const b = withHeader({}, 0);
        b[8] = 0x5b;
        return b;
      })(),
      /header is not valid UTF-8 JSON/,
    ],
    ['header an array', withHeader([1], 0), /header must be a JSON object/],
    [
      'unsupported dtype',
      withHeader({ x: { dtype: 'F16', shape: [1], data_offsets: [0, 2] } }, 2),
      /tensor "x": dtype "F16" is not supported/,
    ],
    [
      'bad shape',
      withHeader({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4),
      /tensor "x": shape must be non-negative integers/,
    ],
    [
      'bad offsets',
      withHeader({ x: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 4),
      /tensor "x": data_offsets must be \[begin, end\]/,
    ],
    [
      'offsets past the end',
      withHeader({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 4),
      /lie outside the 4 data bytes/,
    ],
    [
      'size mismatch',
      withHeader({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4),
      /span 4 bytes but float32\[2\] needs 8/,
    ],
    [
      'a hole',
      withHeader({ x: { dtype: 'U8', shape: [1], data_offsets: [1, 2] } }, 2),
      /1 bytes before tensor "x" belong to no tensor/,
    ],
    [
      'an overlap',
      withHeader(
        { x: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, y: { dtype: 'U8', shape: [1], data_offsets: [1, 2] } },
        2,
      ),
      /tensor "y" overlaps/,
    ],
    ['trailing bytes', withHeader({ x: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, 3), /2 trailing bytes/],
    ['metadata not strings', withHeader({ __metadata__: { a: 1 } }, 0), /metadata "a" must be a string/],
  ])('rejects a file with %s', (_, bytes, message) => {
    expect(() => decodeSafetensors(bytes)).toThrow(message);
  });

  it('refuses to write what it could not read back', () => {
    const bad: TensorData = { dtype: 'float32', dims: [3], data: new Float32Array(2) };
    expect(() => encodeSafetensors({ w: bad })).toThrow('tensor "w": 2 values do not fill dims [3]');
    const wrongArray: TensorData = { dtype: 'int64', dims: [1], data: new Float64Array(1) };
    expect(() => encodeSafetensors({ w: wrongArray })).toThrow(/int64 tensor's data must be a BigInt64Array/);
    expect(() => encodeSafetensors({ __metadata__: tensor('uint8', [0]) })).toThrow(/reserved/);
    const unknown = { dtype: 'float16' as DType, dims: [1], data: new Uint8Array(2) };
    expect(() => encodeSafetensors({ h: unknown })).toThrow(/dtype float16 cannot be stored/);
  });
});
