import { MAX_LABEL_LENGTH } from './findings.ts';
import { DEFAULT_MAX_RECORD_BYTES } from './policy.ts';
import type { Label } from './record.ts';
import { TextKernel } from './text-kernel.ts';

// The common record read straight from its bytes: a flat JSON object of plain ASCII strings (no escapes) and
// numbers, with a non-blank `text`, no `features`, an optional string or number `label` and an optional `slice`.
// For such a line JSON.parse and checkShape would give exactly this text and label, so the validator takes them
// from the bytes, without decoding the line or building its object. Anything else (a non-ASCII byte, an escape,
// a control byte, another value type, a repeated key, a shape problem) is not read here: the caller falls back to
// parseRecord, which finds what is wrong or decodes what is unusual.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const KEY_TEXT = [0x74, 0x65, 0x78, 0x74];
const KEY_LABEL = [0x6c, 0x61, 0x62, 0x65, 0x6c];
const KEY_FEATURES = [0x66, 0x65, 0x61, 0x74, 0x75, 0x72, 0x65, 0x73];
const KEY_SLICE = [0x73, 0x6c, 0x69, 0x63, 0x65];
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const decoder = new TextDecoder();

export class AsciiRecordReader {
  // The last line read: its text is bytes[textStart, textEnd).
  textStart = 0;
  textEnd = 0;
  label: Label | undefined = undefined;
  /** False when the text cannot hold what findPii looks for (see TextKernel). */
  mayHoldPii = true;
  /** Reads the text: its end, its normalised form (as normaliseText gives it) and their hashes, in one pass. */
  readonly kernel: TextKernel;
  /** Label strings by their bytes, so that a file's few labels are not decoded again on every line. */
  private readonly labels: { bytes: Uint8Array; label: string }[] = [];

  /**
   * Lines of at most `maxRecordBytes`; the normalised text is hashed when it has at least `nearMinChars` bytes
   * (negative: never).
   */
  constructor(
    maxRecordBytes = DEFAULT_MAX_RECORD_BYTES,
    private readonly nearMinChars = -1,
  ) {
    this.kernel = new TextKernel(maxRecordBytes, TEXT_BYTE);
  }

  /** chunk[start, end) where this reader reads lines fastest (TextKernel.hold): at most PIECE_BYTES. */
  hold(chunk: Uint8Array, start: number, end: number): Uint8Array {
    return this.kernel.hold(chunk, start, end);
  }

  /** Reads bytes[start, end) as a text record; false when the line needs parseRecord. */
  read(bytes: Uint8Array, start: number, end: number, labelRequired: boolean): boolean {
    let i = skipSpace(bytes, start, end);
    if (bytes[i] !== 0x7b) return false; // {
    let text = false;
    let label = false;
    let slice = false;
    this.label = undefined;
    for (let first = true; ; first = false) {
      i = skipSpace(bytes, i + 1, end);
      if (first && bytes[i] === 0x7d) return false; // {}: missing input
      const keyStart = i + 1;
      const keyEnd = stringEnd(bytes, i, end);
      if (keyEnd < 0) return false;
      i = skipSpace(bytes, keyEnd + 1, end);
      if (bytes[i] !== 0x3a) return false; // :
      i = skipSpace(bytes, i + 1, end);
      const valueStart = i;
      let valueEnd: number;
      const isString = bytes[i] === QUOTE;
      const isText = equals(bytes, keyStart, keyEnd, KEY_TEXT);
      if (isString) {
        valueEnd = isText ? this.kernel.text(bytes, i, end, this.nearMinChars) : stringEnd(bytes, i, end);
        if (valueEnd < 0) return false;
        i = valueEnd + 1;
      } else {
        while (i < end && isNumberByte(bytes[i])) i++;
        valueEnd = i;
        if (valueEnd === valueStart) return false; // true, false, null, an object or an array
      }

      if (isText) {
        if (text || !isString || this.kernel.blank) return false;
        text = true;
        this.mayHoldPii = this.kernel.mayHoldPii;
        this.textStart = valueStart + 1;
        this.textEnd = valueEnd;
      } else if (equals(bytes, keyStart, keyEnd, KEY_LABEL)) {
        if (label) return false;
        label = true;
        if (isString) {
          if (valueEnd - valueStart - 1 > MAX_LABEL_LENGTH) return false;
          this.label = this.labelOf(bytes, valueStart + 1, valueEnd);
        } else {
          this.label = readNumber(bytes, valueStart, valueEnd);
          if (this.label === undefined) return false;
        }
      } else if (equals(bytes, keyStart, keyEnd, KEY_SLICE)) {
        if (slice) return false;
        slice = true;
        // '' and non-finite numbers are not slice names
        if (isString ? valueEnd === valueStart + 1 : !Number.isFinite(readNumber(bytes, valueStart, valueEnd) ?? NaN))
          return false;
      } else if (equals(bytes, keyStart, keyEnd, KEY_FEATURES) || !isString) {
        return false; // features, or another key's number: parseRecord's to read
      }

      i = skipSpace(bytes, i, end);
      if (bytes[i] === 0x7d) break; // }
      if (bytes[i] !== 0x2c) return false; // ,
    }
    if (skipSpace(bytes, i + 1, end) !== end) return false;
    if (!text || (labelRequired && !label)) return false;
    return true;
  }

  /** The text, decoded: the caller reads it only where it needs a string (PII patterns, the mislabel sample). */
  text(bytes: Uint8Array): string {
    return decoder.decode(bytes.subarray(this.textStart, this.textEnd));
  }

  private labelOf(bytes: Uint8Array, start: number, end: number): string {
    for (const known of this.labels) {
      if (equals(bytes, start, end, known.bytes)) return known.label;
    }
    const label = decoder.decode(bytes.subarray(start, end));
    if (this.labels.length < 64) this.labels.push({ bytes: bytes.slice(start, end), label });
    return label;
  }
}

function skipSpace(bytes: Uint8Array, i: number, end: number): number {
  while (i < end && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0d)) i++;
  return i;
}

/** The index of the closing quote of the plain ASCII string opening at bytes[i], or -1 when it is not one. */
function stringEnd(bytes: Uint8Array, i: number, end: number): number {
  if (bytes[i] !== QUOTE) return -1;
  for (i++; i < end; i++) {
    const c = TEXT_BYTE[bytes[i]];
    if (c === CLOSE) return i;
    if (c === NOT_PLAIN) return -1;
  }
  return -1;
}

/** TEXT_BYTE's classes, as text-kernel.wat reads them; a letter is itself lower-cased (DEL as itself), 0x61 and up. */
const [SPACE, DIGIT, SEPARATOR, PII_SIGN, CLOSE, NOT_PLAIN] = [1, 2, 3, 4, 5, 6];
/**
 * Each byte in a plain string: letters (and DEL) are kept in the normalised text, lower-cased; spaces, digits and
 * every other printable byte separate words; '@' and '+' may start an email address or an international number.
 */
const TEXT_BYTE = Uint8Array.from({ length: 256 }, (_, b) => {
  if (b === QUOTE) return CLOSE;
  if (b < 0x20 || b >= 0x80 || b === BACKSLASH) return NOT_PLAIN;
  if ((b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x7f) return b | 0x20;
  if (b === 0x20) return SPACE;
  if (b >= 0x30 && b <= 0x39) return DIGIT;
  return b === 0x40 || b === 0x2b ? PII_SIGN : SEPARATOR;
});

function isNumberByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2b || b === 0x2e || b === 0x65 || b === 0x45;
}

/** The JSON number bytes[start, end) as JSON.parse reads it, or undefined when it is not one. */
function readNumber(bytes: Uint8Array, start: number, end: number): number | undefined {
  const text = decoder.decode(bytes.subarray(start, end));
  return NUMBER.test(text) ? Number(text) : undefined;
}

function equals(bytes: Uint8Array, start: number, end: number, key: ArrayLike<number>): boolean {
  if (end - start !== key.length) return false;
  for (let i = 0; i < key.length; i++) if (bytes[start + i] !== key[i]) return false;
  return true;
}
