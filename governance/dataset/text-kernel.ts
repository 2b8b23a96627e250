import { readFileSync } from 'node:fs';
import type { Hash64 } from './hash64.ts';

// A plain record's text read in WebAssembly (text-kernel.wat): its end found, its normalised form written and both
// hashed, in one call. Byte loops in JavaScript ran at 3-9 ns a byte on the project's machines, and a scan of
// millions of short records went through each text three times (docs/VALIDATION.md, "Memory and speed"). The
// kernel reads its own memory only: a scan hands each chunk over through hold(), one copy, and a text that lies
// elsewhere (a line cut across chunks, joined by the splitter) is copied in first. The memory is sized once, in the
// constructor, so the views of it never detach.

/** Bytes a held piece takes at most: a larger chunk is held piece by piece. */
export const PIECE_BYTES = 1 << 18;
const RESULTS = 16;
const SCRATCH = 64;
const CLASSES = 128;
const PIECE = 1024;

interface Exports {
  memory: WebAssembly.Memory;
  layout(classes: number, out: number, results: number, scratch: number): void;
  text(i: number, end: number, nearMin: number): number;
}

let compiled: WebAssembly.Module | undefined;
/** The module, compiled once a process (gen/text-kernel.wasm, `npm run gen:text-kernel`). */
function kernelModule(): WebAssembly.Module {
  return (compiled ??= new WebAssembly.Module(readFileSync(new URL('./gen/text-kernel.wasm', import.meta.url))));
}

export class TextKernel {
  /** The last text's results (see text()). */
  blank = true;
  mayHoldPii = false;
  readonly exact: Hash64 = { hi: 0, lo: 0 };
  /** The normalised text's hash, when the last text() asked for it and the text was long enough; else undefined. */
  near: Hash64 | undefined;
  /** The last text normalised: normalised[0, normalisedLength). */
  readonly normalised: Uint8Array;
  normalisedLength = 0;

  private readonly exports: Exports;
  private readonly memory: Uint8Array;
  private readonly results: Uint32Array;
  private readonly nearHash: Hash64 = { hi: 0, lo: 0 };
  /** Where a text from outside the memory is copied. */
  private readonly line: number;
  /** The piece hold() last gave out. */
  private held: Uint8Array | undefined;

  /**
   * `maxTextBytes`: the longest text it reads (a line's length bounds it); `classes`: each byte's class, 256 of them
   * (ascii-record.ts TEXT_BYTE).
   */
  constructor(maxTextBytes: number, classes: Uint8Array) {
    this.exports = new WebAssembly.Instance(kernelModule()).exports as unknown as Exports;
    this.line = PIECE + PIECE_BYTES;
    const out = this.line + maxTextBytes + 1;
    const bytes = out + maxTextBytes + 1;
    const { memory } = this.exports;
    memory.grow(Math.max(0, Math.ceil(bytes / 65536) - memory.buffer.byteLength / 65536));
    this.memory = new Uint8Array(memory.buffer);
    this.memory.set(classes, CLASSES);
    this.results = new Uint32Array(memory.buffer, RESULTS, 8);
    this.normalised = this.memory.subarray(out, out + maxTextBytes + 1);
    this.exports.layout(CLASSES, out, RESULTS, SCRATCH);
  }

  /** chunk[start, end) (at most PIECE_BYTES), copied into the kernel's memory: texts read from it need no copy. */
  hold(chunk: Uint8Array, start: number, end: number): Uint8Array {
    // A larger piece would run into the region texts from elsewhere are copied to.
    if (end - start > PIECE_BYTES) throw new RangeError(`a held piece is at most ${PIECE_BYTES} bytes`);
    this.memory.set(chunk.subarray(start, end), PIECE);
    return (this.held = this.memory.subarray(PIECE, PIECE + end - start));
  }

  /**
   * Reads the string whose opening quote is bytes[i], up to `end`: the index of its closing quote, or -1 when it is
   * not plain ASCII (see text-kernel.wat). `nearMin` < 0: no normalised text's hash.
   */
  text(bytes: Uint8Array, i: number, end: number, nearMin: number): number {
    let at = i + PIECE;
    if (bytes !== this.held) {
      this.memory.set(bytes.subarray(i, end), this.line);
      at = this.line;
    }
    const close = this.exports.text(at, at + end - i, nearMin);
    if (close < 0) return -1;
    const r = this.results;
    this.blank = r[0] !== 0;
    this.mayHoldPii = r[1] !== 0;
    this.normalisedLength = r[2];
    this.exact.hi = r[3];
    this.exact.lo = r[4];
    if (r[7] !== 0) {
      this.nearHash.hi = r[5];
      this.nearHash.lo = r[6];
      this.near = this.nearHash;
    } else {
      this.near = undefined;
    }
    return close - at + i;
  }
}
