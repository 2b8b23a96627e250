import { createHash } from 'node:crypto';

// Duplicate detection keeps 64 bits per record instead of the record itself: at a million records the
// chance of any false match is about 3e-8, and memory stays proportional to the record count, not the bytes.

export type Hash64 = { hi: number; lo: number };

export function hash64(content: string): Hash64 {
  const digest = createHash('sha256').update(content).digest();
  return { hi: digest.readUInt32LE(0), lo: digest.readUInt32LE(4) };
}

/**
 * An open-addressing map from 64-bit hashes to the 1-based line number where each was first seen:
 * 12 bytes a slot in typed arrays, no per-entry objects.
 */
export class Hash64Lines {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private lines: Uint32Array; // 0 marks an empty slot; line numbers start at 1
  private count = 0;

  constructor(initialCapacity = 1024) {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(16, initialCapacity)));
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.lines = new Uint32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** The line where `hash` was first seen, or undefined. */
  get(hash: Hash64): number | undefined {
    const slot = this.find(hash);
    return this.lines[slot] === 0 ? undefined : this.lines[slot];
  }

  /** Records `hash` at `line` unless already present; returns the line where it was first seen, or undefined if new. */
  addIfAbsent(hash: Hash64, line: number): number | undefined {
    if (line < 1) throw new RangeError(`line numbers start at 1, got ${line}`);
    const slot = this.find(hash);
    if (this.lines[slot] !== 0) return this.lines[slot];
    this.hi[slot] = hash.hi;
    this.lo[slot] = hash.lo;
    this.lines[slot] = line;
    this.count += 1;
    if (this.count * 2 > this.lines.length) this.grow();
    return undefined;
  }

  private find(hash: Hash64): number {
    const mask = this.lines.length - 1;
    let slot = hash.lo & mask;
    while (this.lines[slot] !== 0 && (this.hi[slot] !== hash.hi || this.lo[slot] !== hash.lo)) {
      slot = (slot + 1) & mask;
    }
    return slot;
  }

  private grow(): void {
    const { hi, lo, lines } = this;
    this.hi = new Uint32Array(lines.length * 2);
    this.lo = new Uint32Array(lines.length * 2);
    this.lines = new Uint32Array(lines.length * 2);
    for (let i = 0; i < lines.length; i++) {
      if (lines[i] === 0) continue;
      const slot = this.find({ hi: hi[i], lo: lo[i] });
      this.hi[slot] = hi[i];
      this.lo[slot] = lo[i];
      this.lines[slot] = lines[i];
    }
  }
}
