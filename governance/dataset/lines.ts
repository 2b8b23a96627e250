// Splits a byte stream into JSONL lines without ever holding more than `maxBytes` of one line.
// A longer line is still counted and stepped over, so a 10 MB single line costs no more memory than the limit.

export type Line = {
  /** 1-based line number. */
  number: number;
  /** The line's bytes without the newline (and without a trailing CR); null when the line exceeded `maxBytes`. */
  bytes: Uint8Array | null;
  /** The line's full length in bytes, even when it was too long to keep. */
  size: number;
};

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export async function* splitLines(chunks: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<Line> {
  let parts: Uint8Array[] = [];
  let size = 0;
  let tooLong = false;
  let number = 0;

  const take = (segment: Uint8Array) => {
    size += segment.length;
    if (tooLong) return;
    // One byte of slack so that a line of exactly maxBytes plus its CR is still kept.
    if (size > maxBytes + 1) {
      tooLong = true;
      parts = [];
    } else if (segment.length > 0) {
      parts.push(segment);
    }
  };

  const finish = (): Line => {
    number += 1;
    let bytes = tooLong ? null : concat(parts, size);
    let lineSize = size;
    if (bytes && bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN) {
      bytes = bytes.subarray(0, bytes.length - 1);
      lineSize -= 1;
    }
    if (bytes && bytes.length > maxBytes) bytes = null;
    parts = [];
    size = 0;
    tooLong = false;
    return { number, bytes, size: lineSize };
  };

  for await (const chunk of chunks) {
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      take(chunk.subarray(start, end));
      yield finish();
      start = end + 1;
    }
    // Copy the tail: a subarray would pin the whole chunk until the line ends.
    if (start < chunk.length) take(chunk.slice(start));
  }
  if (size > 0) yield finish();
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
