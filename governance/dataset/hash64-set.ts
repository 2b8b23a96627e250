import type { Hash64 } from './hash64.ts';
import { SpilledHashes } from './spilled-hashes.ts';

// A set of 64-bit hashes at 6 bytes a hash (plus the value's width), with no moment where it needs twice its size.
// Recent additions go to a small open-addressing table; when that fills up they are merged into one sorted store.
// The store is cut into 2^16 buckets by a hash's top 16 bits, so those bits are not stored: a bucket keeps the next
// 16 bits and the low 32 of each hash (sorted), found by binary search within the bucket. It lives in resizable
// ArrayBuffers that grow in place, and the merge runs from the back, so growing never copies it. A set given a
// `storeLimit` moves its store to a file on disk (spilled-hashes.ts) whenever the store reaches it, so its memory
// stops growing with the number of hashes: a hash then costs a Bloom filter's few bits in memory.

const BUCKET_BITS = 16;
const BUCKETS = 1 << BUCKET_BITS;
/** The store's capacity: its low words take 4 bytes each, and an ArrayBuffer holds at most 4 GiB. */
const MAX_STORED = 2 ** 30;
/** Buckets merged at a time through plain arrays (see merge). */
const BLOCK_BUCKETS = 64;

// Resizable ArrayBuffers (ES2024, in Node since 20) grow in place; the project's TypeScript lib is ES2022.
type Resizable = ArrayBuffer & { resize(byteLength: number): void };
const ResizableBuffer = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => Resizable;

export type Hash64SetOptions = {
  /** Keep a value (a uint32 up to this, e.g. a label id) with each hash: the first one added. */
  maxValue?: number;
  /** Additions held in the open-addressing table before a merge: more means fewer merges, more memory (16 B each). */
  pendingLimit?: number;
  /** Hashes the sorted store holds in memory before it is merged into the set's file on disk (default: no limit). */
  storeLimit?: number;
  /** The Bloom filter's size once the set spills to disk, a power of two (default 8 MiB). */
  bloomBytes?: number;
  /**
   * Memory of workspaceBytes(options) for the pending table at its largest and for the merges, used instead of
   * allocating them as the set grows. The duplicate tables' thread gets it from the main thread (tables-thread.ts):
   * memory the thread allocated itself would stay with the thread's malloc arena once freed, out of the reach of
   * the mislabel check that runs next on the main thread (docs/VALIDATION.md, "Memory and speed").
   */
  workspace?: ArrayBufferLike;
};

type Sorting = { [Name in 'before' | 'lo' | 'values']: Uint32Array<ArrayBufferLike> } & {
  mid: Uint16Array<ArrayBufferLike>;
};

/** The pending table's length (words) at its largest: at most a quarter full at pendingLimit entries. */
function largestPending(pendingLimit: number): number {
  let words = 2 * 1024;
  while (words < 4 * pendingLimit) words *= 2;
  return words;
}

function limitsOf(options: Hash64SetOptions) {
  const storeLimit = options.storeLimit ?? MAX_STORED;
  return { storeLimit, pendingLimit: Math.min(options.pendingLimit ?? 1 << 18, storeLimit) };
}

/** The bytes of a workspace for a set made with `options` (Hash64SetOptions.workspace). */
export function workspaceBytes(options: Hash64SetOptions): number {
  const { pendingLimit } = limitsOf(options);
  const values = options.maxValue !== undefined;
  const pending = largestPending(pendingLimit) * (values ? 1.5 : 1);
  const sorting = BUCKETS + 1 + pendingLimit * (values ? 2 : 1);
  return 4 * (pending + sorting) + 2 * pendingLimit;
}

export class Hash64Set {
  // Recent additions: interleaved [hi, lo] pairs, at most half full; [0, 0] marks an empty slot, so the hash 0 is
  // stored as [0, 1] (a 2^-64 merge).
  private pending: Uint32Array<ArrayBufferLike> = new Uint32Array(2 * 1024);
  private pendingValues: Uint32Array<ArrayBufferLike> | undefined;
  private pendingCount = 0;
  private readonly pendingLimit: number;

  // The sorted store: bucket b holds entries [bucketStart[b], bucketStart[b + 1]).
  private readonly bucketStart = new Uint32Array(BUCKETS + 1);
  private readonly mid: Uint16Array;
  private readonly lo: Uint32Array;
  private readonly values: Uint8Array | Uint16Array | Uint32Array | undefined;
  private stored = 0;
  private readonly storeLimit: number;
  private readonly bloomBytes: number;
  /** What the store held when it reached storeLimit, on disk. */
  private spilled: SpilledHashes | undefined;
  private scratch = { mid: new Uint16Array(0), lo: new Uint32Array(0), value: new Uint32Array(0) };
  /** A merge's pending hashes sorted by bucket, kept from merge to merge. */
  private sorting: Sorting | undefined;
  private readonly workspace: ArrayBufferLike | undefined;

  constructor(options: Hash64SetOptions = {}) {
    ({ storeLimit: this.storeLimit, pendingLimit: this.pendingLimit } = limitsOf(options));
    this.bloomBytes = options.bloomBytes ?? 1 << 23;
    this.mid = new Uint16Array(new ResizableBuffer(0, { maxByteLength: 2 * MAX_STORED }));
    this.lo = new Uint32Array(new ResizableBuffer(0, { maxByteLength: 4 * MAX_STORED }));
    const { maxValue } = options;
    if (maxValue !== undefined) {
      this.pendingValues = new Uint32Array(this.pending.length / 2);
      const width = maxValue < 2 ** 8 ? 1 : maxValue < 2 ** 16 ? 2 : 4;
      const buffer = new ResizableBuffer(0, { maxByteLength: width * MAX_STORED });
      this.values =
        width === 1 ? new Uint8Array(buffer) : width === 2 ? new Uint16Array(buffer) : new Uint32Array(buffer);
    }
    this.workspace = options.workspace;
    if (this.workspace) this.carveWorkspace(this.workspace, workspaceBytes(options));
  }

  /** The pending table at its largest, its values and the merge's arrays, as views of `workspace`. */
  private carveWorkspace(workspace: ArrayBufferLike, bytes: number): void {
    if (workspace.byteLength < bytes) {
      throw new RangeError(`a Hash64Set workspace of ${workspace.byteLength} bytes is too small`);
    }
    let at = 0;
    const u32 = (length: number) => new Uint32Array(workspace, (at += 4 * length) - 4 * length, length);
    const n = this.pendingLimit;
    const pendingWords = largestPending(n);
    this.pending = u32(pendingWords);
    if (this.values) this.pendingValues = u32(pendingWords / 2);
    const before = u32(BUCKETS + 1);
    const lo = u32(n);
    const values = u32(this.values ? n : 0);
    this.sorting = { before, lo, values, mid: new Uint16Array(workspace, at, n) };
  }

  get size(): number {
    return this.stored + this.pendingCount + (this.spilled?.count ?? 0);
  }

  /** Whether the set holds hashes on disk. */
  get spills(): boolean {
    return this.spilled !== undefined;
  }

  has(hash: Hash64): boolean {
    return this.isPending(this.probe(hash)) || this.storedIndex(hash) >= 0 || this.spilledValue(hash) >= 0;
  }

  /** Adds `hash`; false when it was already there. */
  add(hash: Hash64, value = 0): boolean {
    const slot = this.probe(hash);
    if (this.isPending(slot) || this.storedIndex(hash) >= 0 || this.spilledValue(hash) >= 0) return false;
    this.pending[slot] = hash.hi;
    this.pending[slot + 1] = hash.lo === 0 && hash.hi === 0 ? 1 : hash.lo;
    if (this.pendingValues) this.pendingValues[slot / 2] = value;
    this.pendingCount += 1;
    if (this.pendingCount >= this.pendingLimit) this.merge();
    else if (this.pendingCount * 4 > this.pending.length) this.growPending();
    return true;
  }

  /** The value stored with `hash` (a set made with `maxValue`), or undefined when `hash` is not in the set. */
  valueOf(hash: Hash64): number | undefined {
    const slot = this.probe(hash);
    if (this.isPending(slot)) return this.pendingValues?.[slot / 2];
    const index = this.storedIndex(hash);
    if (index >= 0) return this.values?.[index];
    const spilled = this.values ? this.spilledValue(hash) : -1;
    return spilled >= 0 ? spilled : undefined;
  }

  /** Empties the set and gives its memory back at once (shrinking a resizable buffer needs no garbage collection). */
  clear(): void {
    this.spilled?.close();
    this.spilled = undefined;
    this.resize(0);
    this.bucketStart.fill(0);
    this.stored = 0;
    this.pendingCount = 0;
    if (this.workspace) {
      this.pending.fill(0); // the workspace's owner gives its memory back
      return;
    }
    this.pending = new Uint32Array(2 * 1024);
    if (this.pendingValues) this.pendingValues = new Uint32Array(1024);
    this.sorting = undefined;
  }

  /** The pending slot holding `hash`, or the empty slot where it would go. */
  private probe({ hi, lo }: Hash64): number {
    if (hi === 0 && lo === 0) lo = 1;
    const slots = this.pending;
    const mask = slots.length - 1;
    // The home slot is the hash's top bits, so the table is nearly in the store's order when it is merged.
    let slot = (hi >>> (Math.clz32(slots.length) + 2)) * 2;
    for (; slots[slot] !== 0 || slots[slot + 1] !== 0; slot = (slot + 2) & mask) {
      if (slots[slot] === hi && slots[slot + 1] === lo) break;
    }
    return slot;
  }

  private isPending(slot: number): boolean {
    return this.pending[slot] !== 0 || this.pending[slot + 1] !== 0;
  }

  private growPending(): void {
    const old = this.pending;
    const oldValues = this.pendingValues;
    this.pending = new Uint32Array(old.length * 2);
    if (oldValues) this.pendingValues = new Uint32Array(old.length);
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] === 0 && old[i + 1] === 0) continue;
      const slot = this.probe({ hi: old[i], lo: old[i + 1] });
      this.pending[slot] = old[i];
      this.pending[slot + 1] = old[i + 1];
      if (oldValues) this.pendingValues![slot / 2] = oldValues[i / 2];
    }
  }

  /** The value kept on disk with `hash` (0 without values), or -1 when it is not there. */
  private spilledValue({ hi, lo }: Hash64): number {
    if (!this.spilled) return -1;
    return this.spilled.find(hi, hi === 0 && lo === 0 ? 1 : lo);
  }

  /** Moves the store into the file on disk. */
  private spill(): void {
    const width = this.values ? (this.values.BYTES_PER_ELEMENT as 1 | 2 | 4) : 0;
    this.spilled ??= new SpilledHashes(width, this.bloomBytes);
    const { bucketStart, mid, lo, values } = this;
    this.spilled.absorb({ bucketStart, mid, lo, values });
    this.resize(0);
    this.bucketStart.fill(0);
    this.stored = 0;
  }

  /** The store's index of `hash`, or -1. */
  private storedIndex({ hi, lo }: Hash64): number {
    if (hi === 0 && lo === 0) lo = 1;
    const bucket = hi >>> BUCKET_BITS;
    const mid = hi & 0xffff;
    let low = this.bucketStart[bucket];
    let high = this.bucketStart[bucket + 1];
    while (low < high) {
      const m = (low + high) >>> 1;
      const order = this.mid[m] - mid || this.lo[m] - lo;
      if (order === 0) return m;
      if (order < 0) low = m + 1;
      else high = m;
    }
    return -1;
  }

  /** Moves the pending hashes into the store. */
  private merge(): void {
    const n = this.pendingCount;
    if (this.stored + n > MAX_STORED) throw new RangeError(`more than ${MAX_STORED} distinct hashes`);
    // The pending hashes in order. A hash's home slot is its top bits (probe), so the table holds them nearly in
    // order already: packed to its front, an insertion sort moves each only as far as probing displaced it (and the
    // few that wrapped past the table's end, across it). Then their buckets' counts, and their mid and lo apart.
    this.sorting ??= {
      before: new Uint32Array(BUCKETS + 1),
      mid: new Uint16Array(this.pendingLimit),
      lo: new Uint32Array(this.pendingLimit),
      values: new Uint32Array(this.values ? this.pendingLimit : 0),
    };
    const { before, mid, lo, values } = this.sorting;
    const slots = this.pending;
    const slotValues = this.pendingValues;
    let packed = 0;
    for (let i = 0; i < slots.length; i += 2) {
      if (slots[i] === 0 && slots[i + 1] === 0) continue;
      slots[packed] = slots[i];
      slots[packed + 1] = slots[i + 1];
      if (slotValues) slotValues[packed / 2] = slotValues[i / 2];
      packed += 2;
    }
    for (let i = 2; i < packed; i += 2) {
      const h = slots[i];
      const l = slots[i + 1];
      const v = slotValues ? slotValues[i / 2] : 0;
      let j = i - 2;
      for (; j >= 0 && (slots[j] - h || slots[j + 1] - l) > 0; j -= 2) {
        slots[j + 2] = slots[j];
        slots[j + 3] = slots[j + 1];
        if (slotValues) slotValues[j / 2 + 1] = slotValues[j / 2];
      }
      slots[j + 2] = h;
      slots[j + 3] = l;
      if (slotValues) slotValues[j / 2 + 1] = v;
    }
    before.fill(0); // pending hashes in buckets before b
    for (let e = 0; e < n; e++) {
      before[(slots[2 * e] >>> BUCKET_BITS) + 1] += 1;
      mid[e] = slots[2 * e] & 0xffff;
      lo[e] = slots[2 * e + 1];
      if (slotValues) values[e] = slotValues[e];
    }
    for (let b = 0; b < BUCKETS; b++) before[b + 1] += before[b];

    // Grow in place and merge from the back, a block of buckets at a time: each stored hash moves up by the number
    // of pending ones below it, onto places already read, so no moment holds the store twice. A block is copied out
    // to plain arrays, merged there and copied back: element by element, typed arrays over a resizable buffer are
    // about 3x slower to read and write in V8 (Node 20 and 24) than over a plain one; whole copies are not.
    this.resize(this.stored + n);
    const { bucketStart, mid: mids, lo: los, values: vals } = this;
    for (let b0 = BUCKETS - BLOCK_BUCKETS; b0 >= 0; b0 -= BLOCK_BUCKETS) {
      const b1 = b0 + BLOCK_BUCKETS;
      if (before[b1] === 0) break; // nothing pending here or below: the rest of the store stays where it is
      const first = bucketStart[b0];
      const stored = bucketStart[b1] - first;
      const merged = stored + before[b1] - before[b0];
      // The block's stored entries at [0, stored) of the scratch arrays, merged ones after them.
      const { mid: sMid, lo: sLo, value: sValue } = this.scratchOf(stored + merged);
      sMid.set(mids.subarray(first, first + stored));
      sLo.set(los.subarray(first, first + stored));
      if (vals) sValue.set(vals.subarray(first, first + stored));
      let out = stored;
      for (let b = b0; b < b1; b++) {
        let i = bucketStart[b] - first;
        const end = bucketStart[b + 1] - first;
        for (let p = before[b]; p < before[b + 1]; p++, out++) {
          for (; i < end && (sMid[i] - mid[p] || sLo[i] - lo[p]) < 0; i++, out++) {
            sMid[out] = sMid[i];
            sLo[out] = sLo[i];
            sValue[out] = sValue[i];
          }
          sMid[out] = mid[p];
          sLo[out] = lo[p];
          sValue[out] = vals ? values[p] : 0;
        }
        for (; i < end; i++, out++) {
          sMid[out] = sMid[i];
          sLo[out] = sLo[i];
          sValue[out] = sValue[i];
        }
      }
      const at = first + before[b0];
      mids.set(sMid.subarray(stored, out), at);
      los.set(sLo.subarray(stored, out), at);
      if (vals) vals.set(sValue.subarray(stored, out), at);
    }
    for (let b = 0; b <= BUCKETS; b++) this.bucketStart[b] += before[b];
    this.stored += n;
    this.pending.fill(0);
    this.pendingCount = 0;
    if (this.stored >= this.storeLimit) this.spill();
  }

  /** Plain scratch arrays of at least `entries` entries, kept from merge to merge. */
  private scratchOf(entries: number): { mid: Uint16Array; lo: Uint32Array; value: Uint32Array } {
    if (this.scratch.lo.length < entries) {
      const size = Math.max(entries, 2 * this.scratch.lo.length);
      this.scratch = { mid: new Uint16Array(size), lo: new Uint32Array(size), value: new Uint32Array(size) };
    }
    return this.scratch;
  }

  private resize(entries: number): void {
    for (const array of [this.mid, this.lo, this.values]) {
      if (array) (array.buffer as Resizable).resize(array.BYTES_PER_ELEMENT * entries);
    }
  }
}
