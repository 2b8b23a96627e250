import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The hashes a Hash64Set moved out of memory: one sorted run in a temporary file, in the store's bucket layout (a
// bucket's entries by the hash's next 16 bits, then its low 32), with the bucket index and a Bloom filter kept in
// memory. The filter answers most lookups of a hash that is not there (a new record's) without reading the file; a
// hash that is there (a duplicate's) costs one read of its bucket. The file is unlinked as soon as it is opened, so
// it goes away with its descriptor even when the process dies.
//
// An entry is 32-bit words, read through typed arrays: [lo, mid | value << 16] with values of up to 16 bits (or
// none), [lo, mid, value] with 32-bit ones.

/** The in-memory store as Hash64Set keeps it: bucket b's entries are [bucketStart[b], bucketStart[b + 1]). */
export type SortedStore = {
  bucketStart: Uint32Array;
  mid: Uint16Array;
  lo: Uint32Array;
  values: Uint8Array | Uint16Array | Uint32Array | undefined;
};

/** The store's layout (hash64-set.ts): 2^16 buckets by a hash's top 16 bits, the next 16 kept as `mid`. */
const BUCKETS = 1 << 16;
/** Words read or written at a time while merging a store into the run (1 MiB). */
const CHUNK_WORDS = 1 << 18;

export class SpilledHashes {
  count = 0;
  private fd = -1;
  private readonly bucketStart = new Uint32Array(BUCKETS + 1);
  private readonly bloom: Int32Array;
  private readonly blockMask: number;
  /** The shift that leaves a high word's top log2(blocks) bits. */
  private readonly blockShift: number;
  /** Words an entry takes. */
  private readonly stride: number;
  private words = new Uint32Array(CHUNK_WORDS);
  private readonly probe = new Int32Array(8);

  /** `valueBytes`: 0 for a set without values; `bloomBytes`: a power of two, at least 64. */
  constructor(
    private readonly valueBytes: 0 | 1 | 2 | 4,
    bloomBytes: number,
  ) {
    this.bloom = new Int32Array(bloomBytes / 4);
    this.blockMask = bloomBytes / 64 - 1;
    this.blockShift = Math.clz32(this.blockMask); // 32 (a shift by none in JavaScript) for one block: masked to 0
    this.stride = valueBytes === 4 ? 3 : 2;
  }

  /** The value kept with (hi, lo) (0 in a set without values), or -1 when it was not spilled. */
  find(hi: number, lo: number): number {
    if (!this.mayHold(hi, lo)) return -1;
    const bucket = hi >>> 16;
    const mid = hi & 0xffff;
    const first = this.bucketStart[bucket];
    const entries = this.bucketStart[bucket + 1] - first;
    if (entries === 0) return -1;
    const { stride } = this;
    if (this.words.length < entries * stride) this.words = new Uint32Array(entries * stride);
    const words = this.words;
    readWords(this.fd, words, entries * stride, first * stride);
    let low = 0;
    let high = entries;
    while (low < high) {
      const m = (low + high) >>> 1;
      const order = (words[m * stride + 1] & 0xffff) - mid || words[m * stride] - lo;
      if (order === 0) return stride === 3 ? words[m * 3 + 2] : words[m * 2 + 1] >>> 16;
      if (order < 0) low = m + 1;
      else high = m;
    }
    return -1;
  }

  /** Merges the store's entries (none of which is spilled already) into the run, a new file replacing the old. */
  absorb(store: SortedStore): void {
    const old = { fd: this.fd, start: this.bucketStart.slice() };
    const reader = old.fd >= 0 ? new SequentialReader(old.fd, this.stride) : undefined;
    this.fd = openUnlinked();
    const { stride } = this;
    const out = new Uint32Array(CHUNK_WORDS - (CHUNK_WORDS % stride));
    let used = 0;
    const flush = () => {
      writeWords(this.fd, out, used);
      used = 0;
    };
    const { bucketStart, mid, lo, values } = store;
    let written = 0;
    // A bucket's run entries and store entries merged word by word into `out` (a copy through a subarray view per
    // store entry, an object each, took about a third longer).
    for (let b = 0; b < BUCKETS; b++) {
      this.bucketStart[b] = written;
      const oldEntries = old.start[b + 1] - old.start[b];
      const run = reader && oldEntries > 0 ? reader.entries(old.start[b], old.start[b + 1]) : EMPTY;
      let w = run === EMPTY ? 0 : reader!.offset;
      const runEnd = w + oldEntries * stride;
      for (let i = bucketStart[b], end = bucketStart[b + 1]; i <= end; i++) {
        // The run's entries below store entry i (all that are left, after the last), then entry i.
        const last = i === end;
        for (; w < runEnd && (last || ((run[w + 1] & 0xffff) - mid[i] || run[w] - lo[i]) < 0); w += stride) {
          if (used + stride > out.length) flush();
          out[used] = run[w];
          out[used + 1] = run[w + 1];
          if (stride === 3) out[used + 2] = run[w + 2];
          used += stride;
          written++;
        }
        if (last) break;
        if (used + stride > out.length) flush();
        const value = values ? values[i] : 0;
        out[used] = lo[i];
        if (stride === 3) {
          out[used + 1] = mid[i];
          out[used + 2] = value;
        } else out[used + 1] = mid[i] | (value << 16);
        used += stride;
        written++;
        this.remember(b * 65536 + mid[i], lo[i]);
      }
    }
    this.bucketStart[BUCKETS] = written;
    flush();
    if (old.fd >= 0) closeSync(old.fd);
    this.count = written;
  }

  /** Closes (and so deletes) the run. */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.count = 0;
  }

  // A blocked Bloom filter: a hash's four bits all lie in one 64-byte block, so a lookup costs one cache miss, not one
  // a bit. The block is chosen by the hash's top bits, the store's order, so that absorb sets the bits of a store in
  // one sweep through the filter (at random it took about 50 ns a hash); the bits within it come from the low word.
  // bloomBits is the one place that says where they are: set and tested alike.
  private mayHold(hi: number, lo: number): boolean {
    const { bloom, probe } = this;
    this.bloomBits(hi, lo);
    for (let k = 0; k < 8; k += 2) if ((bloom[probe[k]] & probe[k + 1]) === 0) return false;
    return true;
  }

  private remember(hi: number, lo: number): void {
    const { bloom, probe } = this;
    this.bloomBits(hi, lo);
    for (let k = 0; k < 8; k += 2) bloom[probe[k]] |= probe[k + 1];
  }

  /** The hash's four filter bits into `probe`: [word, mask] pairs. */
  private bloomBits(hi: number, lo: number): void {
    const block = ((hi >>> this.blockShift) & this.blockMask) << 4;
    const { probe } = this;
    probe[0] = block + (lo & 15);
    probe[1] = 1 << ((lo >>> 4) & 31);
    probe[2] = block + ((lo >>> 9) & 15);
    probe[3] = 1 << ((lo >>> 13) & 31);
    probe[4] = block + ((lo >>> 18) & 15);
    probe[5] = 1 << ((lo >>> 22) & 31);
    probe[6] = block + ((lo >>> 27) & 15);
    probe[7] = 1 << (hi & 31);
  }
}

const EMPTY = new Uint32Array(0);

/** Reads a run's entries in order, a chunk at a time. */
class SequentialReader {
  private chunk = new Uint32Array(CHUNK_WORDS);
  // The chunk holds entries [first, first + held).
  private first = 0;
  private held = 0;
  /** Where the entries of the last `entries` call start in the chunk (in words). */
  offset = 0;

  constructor(
    private readonly fd: number,
    private readonly stride: number,
  ) {}

  /** The chunk, holding entries [start, end) from `offset` on; asked for in increasing order. */
  entries(start: number, end: number): Uint32Array {
    if (end > this.first + this.held) {
      const wanted = (end - start) * this.stride;
      if (this.chunk.length < wanted) this.chunk = new Uint32Array(wanted);
      const entries = Math.floor(this.chunk.length / this.stride);
      this.held = readWords(this.fd, this.chunk, entries * this.stride, start * this.stride, true) / this.stride;
      this.first = start;
    }
    this.offset = (start - this.first) * this.stride;
    return this.chunk;
  }
}

function openUnlinked(): number {
  try {
    const directory = mkdtempSync(join(tmpdir(), 'ratchet-hashes-'));
    try {
      return openSync(join(directory, 'run'), 'w+');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  } catch (e) {
    throw spillError(e);
  }
}

/** What to fix when the run cannot be written: the temporary directory (TMPDIR) must be writable, with room. */
function spillError(e: unknown): Error {
  const reason = e instanceof Error ? e.message : String(e);
  return new Error(
    `a file this large keeps its duplicate tables on disk, in ${tmpdir()} (TMPDIR; about 8 bytes a record a ` +
      `table), and writing there failed: ${reason}`,
  );
}

/** Reads `count` words at word `position` (fewer where the file ends first, when `toEnd`); returns the words read. */
function readWords(fd: number, words: Uint32Array, count: number, position: number, toEnd = false): number {
  const bytes = new Uint8Array(words.buffer, words.byteOffset, count * 4);
  let done = 0;
  while (done < bytes.length) {
    const n = readSync(fd, bytes, done, bytes.length - done, position * 4 + done);
    if (n === 0) {
      if (toEnd) break;
      throw new Error(`spilled hashes: the run ended ${bytes.length - done} bytes early`);
    }
    done += n;
  }
  return done / 4;
}

function writeWords(fd: number, words: Uint32Array, count: number): void {
  const bytes = new Uint8Array(words.buffer, words.byteOffset, count * 4);
  try {
    for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done);
  } catch (e) {
    throw spillError(e);
  }
}
