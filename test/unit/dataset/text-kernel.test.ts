import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AsciiRecordReader } from '../../../governance/dataset/ascii-record.ts';
import { hash64 } from '../../../governance/dataset/hash64.ts';
import { normaliseText } from '../../../governance/dataset/normalise.ts';
import { assembleTextKernel, GENERATED } from '../../../governance/dataset/text-kernel.build.ts';
import { PIECE_BYTES } from '../../../governance/dataset/text-kernel.ts';

const encoder = new TextEncoder();

/** Texts of words and what separates them: letter runs long enough for sixteen-byte blocks, digit runs across them. */
const wordy = fc
  .array(
    fc.tuple(
      fc.stringMatching(/^[A-Za-z\x7f]{1,14}$/),
      fc.constantFrom(' ', ' ', ' ', ',', '1', '12', '123', '1234', '@', '+', '  ', '. ', '-', '\x7f', ''),
    ),
    { maxLength: 12 },
  )
  .chain((parts) =>
    fc
      .tuple(fc.constantFrom('', ' ', '9', ' 12'), fc.constantFrom('', ' ', '.', '5'))
      .map(([before, after]) => before + parts.map(([word, gap]) => word + gap).join('') + after),
  );
const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7f }).map((c) => String.fromCharCode(c)) });

describe('the text kernel', () => {
  it('is assembled from its source (else: npm run gen:text-kernel)', async () => {
    expect(Buffer.from(readFileSync(GENERATED)).equals(Buffer.from(await assembleTextKernel()))).toBe(true);
  });

  it("gives normaliseText's text, hash64's hashes of it and of the text, and its PII hint, wherever the line lies", () => {
    const reader = new AsciiRecordReader(1 << 12, 0);
    let read = 0;
    fc.assert(
      fc.property(fc.oneof(wordy, printable), fc.nat(40), (text, offset) => {
        const line = encoder.encode(JSON.stringify({ text, label: 'a' }));
        // The line at an offset in a held piece (read in place), and in a buffer of its own (copied in).
        const piece = new Uint8Array(offset + line.length);
        piece.set(line, offset);
        const held = reader.hold(piece, 0, piece.length);
        for (const [bytes, start] of [
          [held, offset],
          [line, 0],
        ] as const) {
          if (!reader.read(bytes, start, start + line.length, true)) return;
          read += 1;
          const { kernel } = reader;
          const normalised = normaliseText(text);
          expect(new TextDecoder().decode(kernel.normalised.subarray(0, kernel.normalisedLength))).toBe(normalised);
          expect(kernel.exact).toEqual(hash64(text));
          expect(kernel.near).toEqual(hash64(normalised));
          // What findPii needs to find anything: an '@', a '+' or four digits in a row.
          expect(kernel.mayHoldPii).toBe(/[@+]|\d{4}/.test(text));
          expect(reader.text(bytes)).toBe(text);
        }
      }),
      { numRuns: 5000 },
    );
    expect(read).toBeGreaterThan(5000);
  });

  it('hashes the normalised text only when it is long enough, and never when told not to', () => {
    const line = encoder.encode(JSON.stringify({ text: 'Hello, World', label: 'a' }));
    const long = new AsciiRecordReader(1 << 12, 11);
    expect(long.read(line, 0, line.length, true)).toBe(true);
    expect(long.kernel.near).toEqual(hash64('hello world'));
    const short = new AsciiRecordReader(1 << 12, 12);
    expect(short.read(line, 0, line.length, true)).toBe(true);
    expect(short.kernel.near).toBeUndefined();
    const off = new AsciiRecordReader(1 << 12, -1);
    expect(off.read(line, 0, line.length, true)).toBe(true);
    expect(off.kernel.near).toBeUndefined();
    expect(off.kernel.exact).toEqual(hash64('Hello, World'));
  });

  it('reads a text as long as the longest line, and a piece as large as PIECE_BYTES', () => {
    const maxRecordBytes = 1000;
    const reader = new AsciiRecordReader(maxRecordBytes, 0);
    const text = 'word '.repeat(200).slice(0, maxRecordBytes - '{"text":"","label":"a"}'.length);
    const line = encoder.encode(JSON.stringify({ text, label: 'a' }));
    expect(line.length).toBe(maxRecordBytes);
    expect(reader.read(line, 0, line.length, true)).toBe(true);
    expect(reader.kernel.near).toEqual(hash64(normaliseText(text)));

    const piece = new Uint8Array(PIECE_BYTES).fill(0x20);
    piece.set(line, PIECE_BYTES - line.length);
    const held = reader.hold(piece, 0, piece.length);
    expect(reader.read(held, PIECE_BYTES - line.length, PIECE_BYTES, true)).toBe(true);
    expect(reader.kernel.exact).toEqual(hash64(text));
    expect(() => reader.hold(new Uint8Array(PIECE_BYTES + 1), 0, PIECE_BYTES + 1)).toThrow(RangeError);
  });

  it('declines what is not plain ASCII inside a block of letters', () => {
    const reader = new AsciiRecordReader(1 << 12, 0);
    for (const text of [
      'abcdefghijklmnopq\\"rstuvwxyz',
      'abcdefghij\tklmnopqrstuvwxyz',
      'abcdefghijklmnop\u00e9rstuvwxyz',
    ]) {
      const line = encoder.encode(`{"text":"${text}","label":"a"}`);
      expect(reader.read(line, 0, line.length, true), text).toBe(false);
    }
  });
});
