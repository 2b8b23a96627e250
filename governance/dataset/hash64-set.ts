import type { Hash64 } from './hash64.ts';

// A set of 64-bit hashes at 6 bytes a hash (plus the value's width), with no moment where it needs twice its size.
// Recent additions go to a small open-addressing table; when that fills up they are merged into one sorted store.
// The store is cut into 2^16 buckets by a hash's top 16 bits, so those bits are not stored: a bucket keeps the next
// 16 bits and the low 32 of each hash (sorted), found by binary search within the bucket. It lives in resizable
// ArrayBuffers that grow in place, and the merge runs from the back, so growing never copies it.

const BUCKET_BITS = 16;
const BUCKETS = 1 << BUCKET_BITS;
/** The store's capacity: its low words take 4 bytes each, and an ArrayBuffer holds at most 4 GiB. */
const MAX_STORED = 2 ** 30;

// Resizable ArrayBuffers (ES2024, in Node since 20) grow in place; the project's TypeScript lib is ES2022.
type Resizable = ArrayBuffer & { resize(byteLength: number): void };
const ResizableBuffer = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => Resizable;

export type Hash64SetOptions = {
  /** Keep a value (a uint32 up to this, e.g. a label id) with each hash: the first one added. */
  maxValue?: number;
  /** Additions held in the open-addressing table before a merge: more means fewer merges, more memory (16 B each). */
  pendingLimit?: number;
};

export class Hash64Set {
  // Recent additions: interleaved [hi, lo] pairs, at most half full; [0, 0] marks an empty slot, so the hash 0 is
  // stored as [0, 1] (a 2^-64 merge).
  private pending = new Uint32Array(2 * 1024);
  private pendingValues: Uint32Array | undefined;
  private pendingCount = 0;
  private readonly pendingLimit: number;

  // The sorted store: bucket b holds entries [bucketStart[b], bucketStart[b + 1]).
  private readonly bucketStart = new Uint32Array(BUCKETS + 1);
  private readonly mid: Uint16Array;
  private readonly lo: Uint32Array;
  private readonly values: Uint8Array | Uint16Array | Uint32Array | undefined;
  private stored = 0;

  constructor(options: Hash64SetOptions = {}) {
    this.pendingLimit = options.pendingLimit ?? 1 << 18;
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
  }

  get size(): number {
    return this.stored + this.pendingCount;
  }

  has(hash: Hash64): boolean {
    return this.pendingSlot(hash) >= 0 || this.storedIndex(hash) >= 0;
  }

  /** Adds `hash`; false when it was already there. */
  add(hash: Hash64, value = 0): boolean {
    if (this.has(hash)) return false;
    this.insertPending(hash.hi, hash.lo === 0 && hash.hi === 0 ? 1 : hash.lo, value);
    if (this.pendingCount >= this.pendingLimit) this.merge();
    else if (this.pendingCount * 4 > this.pending.length) this.growPending();
    return true;
  }

  /** The value stored with `hash` (a set made with `maxValue`), or undefined when `hash` is not in the set. */
  valueOf(hash: Hash64): number | undefined {
    const slot = this.pendingSlot(hash);
    if (slot >= 0) return this.pendingValues?.[slot / 2];
    const index = this.storedIndex(hash);
    return index >= 0 ? this.values?.[index] : undefined;
  }

  /** Empties the set and gives its memory back at once (shrinking a resizable buffer needs no garbage collection). */
  clear(): void {
    this.resize(0);
    this.bucketStart.fill(0);
    this.stored = 0;
    this.pending = new Uint32Array(2 * 1024);
    if (this.pendingValues) this.pendingValues = new Uint32Array(1024);
    this.pendingCount = 0;
  }

  /** The pending slot holding `hash`, or -1. */
  private pendingSlot({ hi, lo }: Hash64): number {
    if (hi === 0 && lo === 0) lo = 1;
    const slots = this.pending;
    const mask = slots.length - 1;
    for (let slot = (lo * 2) & mask; slots[slot] !== 0 || slots[slot + 1] !== 0; slot = (slot + 2) & mask) {
      if (slots[slot] === hi && slots[slot + 1] === lo) return slot;
    }
    return -1;
  }

  private insertPending(hi: number, lo: number, value: number): void {
    const slots = this.pending;
    const mask = slots.length - 1;
    let slot = (lo * 2) & mask;
    while (slots[slot] !== 0 || slots[slot + 1] !== 0) slot = (slot + 2) & mask;
    slots[slot] = hi;
    slots[slot + 1] = lo;
    if (this.pendingValues) this.pendingValues[slot / 2] = value;
    this.pendingCount += 1;
  }

  private growPending(): void {
    const old = this.pending;
    const oldValues = this.pendingValues;
    this.pending = new Uint32Array(old.length * 2);
    if (oldValues) this.pendingValues = new Uint32Array(old.length);
    this.pendingCount = 0;
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] !== 0 || old[i + 1] !== 0) this.insertPending(old[i], old[i + 1], oldValues ? oldValues[i / 2] : 0);
    }
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
    // The pending hashes by bucket (counting sort), then sorted within each bucket (a few each).
    const before = new Uint32Array(BUCKETS + 1); // pending hashes in buckets before b
    const slots = this.pending;
    for (let i = 0; i < slots.length; i += 2) {
      if (slots[i] !== 0 || slots[i + 1] !== 0) before[(slots[i] >>> BUCKET_BITS) + 1] += 1;
    }
    for (let b = 0; b < BUCKETS; b++) before[b + 1] += before[b];
    const next = before.slice(0, BUCKETS);
    const mid = new Uint16Array(n);
    const lo = new Uint32Array(n);
    const values = new Uint32Array(this.values ? n : 0);
    for (let i = 0; i < slots.length; i += 2) {
      if (slots[i] === 0 && slots[i + 1] === 0) continue;
      const sorted = next[slots[i] >>> BUCKET_BITS]++;
      mid[sorted] = slots[i] & 0xffff;
      lo[sorted] = slots[i + 1];
      if (this.values) values[sorted] = this.pendingValues![i / 2];
    }
    for (let b = 0; b < BUCKETS; b++) sortRange(mid, lo, values, before[b], before[b + 1]);

    // Where each pending hash goes among the stored ones (all found before anything moves), then the store grows
    // in place and is spread from the back to let them in: no moment holds the store twice.
    const at = new Uint32Array(n);
    for (let b = 0, p = 0; p < n; p++) {
      while (before[b + 1] <= p) b++;
      at[p] = this.insertionIndex(b, mid[p], lo[p]);
    }
    this.resize(this.stored + n);
    spread(this.mid, this.stored, at, mid);
    spread(this.lo, this.stored, at, lo);
    if (this.values) spread(this.values, this.stored, at, values);
    for (let b = 0; b <= BUCKETS; b++) this.bucketStart[b] += before[b];
    this.stored += n;
    this.pending.fill(0);
    this.pendingCount = 0;
  }

  /** The index in bucket `bucket` of the first stored hash above (mid, lo). */
  private insertionIndex(bucket: number, mid: number, lo: number): number {
    let low = this.bucketStart[bucket];
    let high = this.bucketStart[bucket + 1];
    while (low < high) {
      const m = (low + high) >>> 1;
      if ((this.mid[m] - mid || this.lo[m] - lo) < 0) low = m + 1;
      else high = m;
    }
    return low;
  }

  private resize(entries: number): void {
    for (const array of [this.mid, this.lo, this.values]) {
      if (array) (array.buffer as Resizable).resize(array.BYTES_PER_ELEMENT * entries);
    }
  }
}

/**
 * Moves array[0, stored) up to make room for the sorted additions, added[p] landing at at[p] + p (at[p]: the
 * index of the first stored element above it). From the back, so every element moves once and only onto
 * elements already moved.
 */
function spread(
  array: Uint8Array | Uint16Array | Uint32Array,
  stored: number,
  at: Uint32Array,
  added: ArrayLike<number>,
) {
  let read = stored - 1;
  for (let p = at.length - 1; p >= 0; p--) {
    for (const from = at[p]; read >= from; read--) array[read + p + 1] = array[read];
    array[at[p] + p] = added[p];
  }
}

/** Insertion sort of entries [start, end) by (mid, lo). */
function sortRange(mid: Uint16Array, lo: Uint32Array, values: Uint32Array, start: number, end: number): void {
  for (let i = start + 1; i < end; i++) {
    const m = mid[i];
    const l = lo[i];
    const v = values.length > 0 ? values[i] : 0;
    let j = i - 1;
    for (; j >= start && (mid[j] - m || lo[j] - l) > 0; j--) {
      mid[j + 1] = mid[j];
      lo[j + 1] = lo[j];
      if (values.length > 0) values[j + 1] = values[j];
    }
    mid[j + 1] = m;
    lo[j + 1] = l;
    if (values.length > 0) values[j + 1] = v;
  }
}
