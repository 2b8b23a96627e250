import { createHash } from 'node:crypto';

// Duplicate detection keeps 64 bits per record instead of the record itself: at a million records the
// chance of any false match is about 3e-8, and memory stays proportional to the record count, not the bytes.

export type Hash64 = { hi: number; lo: number };

export function hash64(content: string): Hash64 {
  const digest = createHash('sha256').update(content).digest();
  return { hi: digest.readUInt32LE(0), lo: digest.readUInt32LE(4) };
}

/** An open-addressing set of 64-bit hashes in one typed array: 8 bytes a slot, no per-entry objects. */
export class Hash64Set {
  // Interleaved [hi, lo] pairs; [0, 0] marks an empty slot, so the hash 0 is stored as 1 (a 2^-64 merge).
  private slots: Uint32Array;
  /** With `withValues`: a uint32 kept with each hash (the first one added), e.g. the record's label id. */
  private values: Uint32Array | undefined;
  private count = 0;

  constructor(initialCapacity = 1024, withValues = false) {
    this.slots = new Uint32Array(2 * 2 ** Math.ceil(Math.log2(Math.max(16, initialCapacity))));
    if (withValues) this.values = new Uint32Array(this.slots.length / 2);
  }

  get size(): number {
    return this.count;
  }

  has(hash: Hash64): boolean {
    const slot = this.find(hash);
    return this.slots[slot] !== 0 || this.slots[slot + 1] !== 0;
  }

  /** Adds `hash`; false when it was already there. */
  add(hash: Hash64, value = 0): boolean {
    const slot = this.find(hash);
    if (this.slots[slot] !== 0 || this.slots[slot + 1] !== 0) return false;
    this.slots[slot] = hash.hi;
    this.slots[slot + 1] = hash.hi === 0 && hash.lo === 0 ? 1 : hash.lo;
    if (this.values) this.values[slot / 2] = value;
    this.count += 1;
    // Half full at most: linear probing stays short.
    if (this.count * 4 > this.slots.length) this.grow();
    return true;
  }

  /** The value stored with `hash` (a set made `withValues`), or undefined when `hash` is not in the set. */
  valueOf(hash: Hash64): number | undefined {
    const slot = this.find(hash);
    if (this.slots[slot] === 0 && this.slots[slot + 1] === 0) return undefined;
    return this.values?.[slot / 2];
  }

  /** The index of `hash`'s slot, or of the empty slot where it would go. */
  private find({ hi, lo }: Hash64): number {
    if (hi === 0 && lo === 0) lo = 1;
    const mask = this.slots.length / 2 - 1;
    let slot = (lo & mask) * 2;
    while (this.slots[slot] !== 0 || this.slots[slot + 1] !== 0) {
      if (this.slots[slot] === hi && this.slots[slot + 1] === lo) break;
      slot = (slot + 2) & (2 * mask + 1);
    }
    return slot;
  }

  private grow(): void {
    const old = this.slots;
    const oldValues = this.values;
    this.slots = new Uint32Array(old.length * 2);
    if (oldValues) this.values = new Uint32Array(this.slots.length / 2);
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] === 0 && old[i + 1] === 0) continue;
      const slot = this.find({ hi: old[i], lo: old[i + 1] });
      this.slots[slot] = old[i];
      this.slots[slot + 1] = old[i + 1];
      if (oldValues) this.values![slot / 2] = oldValues[i / 2];
    }
  }
}
