// Splits a byte stream into JSONL lines without ever holding more than `maxBytes` of one line.
// A longer line is still counted and stepped over, so a 10 MB single line costs no more memory than the limit.
// Lines are handed over where they lie (a chunk, or the buffer that joins a line cut across chunks) and
// synchronously: no object, copy or promise per line, which is what a file of millions of short records costs.

/**
 * Receives each line: its bytes are `bytes[start, end)` without the newline (and without a trailing CR), valid only
 * during the call; `bytes` is null when the line exceeded `maxBytes`. `number` is 1-based; `size` is the line's
 * full length in bytes, even when it was too long to keep.
 */
export type LineHandler = (bytes: Uint8Array | null, start: number, end: number, number: number, size: number) => void;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export class LineSplitter {
  /** Lines handed over so far. */
  lines = 0;
  // The start of a line cut across chunks; `size` counts it even once it is too long to keep.
  private partial = new Uint8Array(0);
  private size = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: LineHandler,
  ) {}

  push(chunk: Uint8Array): void {
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      if (this.size === 0) this.emit(chunk, start, end);
      else {
        this.take(chunk, start, end);
        this.emit(this.partial, 0, this.size);
        this.size = 0;
      }
      start = end + 1;
    }
    if (start < chunk.length) this.take(chunk, start, chunk.length);
  }

  /** Hands over a last line that has no newline. */
  end(): void {
    if (this.size > 0) this.emit(this.partial, 0, this.size);
    this.size = 0;
  }

  /** Appends to the partial line, keeping at most maxBytes + 1 bytes (a line of exactly maxBytes plus its CR). */
  private take(chunk: Uint8Array, start: number, end: number): void {
    const kept = this.size;
    this.size += end - start;
    if (this.size > this.maxBytes + 1) return;
    if (this.size > this.partial.length) {
      const grown = new Uint8Array(Math.min(this.maxBytes + 1, Math.max(this.size, 2 * this.partial.length, 256)));
      grown.set(this.partial.subarray(0, kept));
      this.partial = grown;
    }
    this.partial.set(chunk.subarray(start, end), kept);
  }

  private emit(bytes: Uint8Array, start: number, end: number): void {
    this.lines += 1;
    const size = bytes === this.partial ? this.size : end - start;
    if (size > this.maxBytes + 1) return this.onLine(null, 0, 0, this.lines, size);
    if (end > start && bytes[end - 1] === CARRIAGE_RETURN) end -= 1;
    if (end - start > this.maxBytes) return this.onLine(null, 0, 0, this.lines, end - start);
    this.onLine(bytes, start, end, this.lines, end - start);
  }
}
