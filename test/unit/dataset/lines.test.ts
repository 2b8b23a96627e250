import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../governance/dataset/lines.ts';

type Line = { number: number; bytes: Uint8Array | null; size: number };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The lines of `bytes` pushed in chunks of the given sizes (in turn), each line's bytes copied out. */
function splitLines(bytes: Uint8Array, sizes: number[], maxBytes: number): Line[] {
  const lines: Line[] = [];
  const splitter = new LineSplitter(maxBytes, (line, start, end, number, size) =>
    lines.push({ number, bytes: line && line.slice(start, end), size }),
  );
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length]);
    splitter.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  splitter.end();
  expect(splitter.lines).toBe(lines.length);
  return lines;
}

describe('LineSplitter', () => {
  it('yields the same lines whatever the chunk boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 20 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }),
        (texts, sizes) => {
          const body = texts.map((t) => t.replaceAll('\n', ' ').replaceAll('\r', ' ')).join('\n');
          const lines = splitLines(encoder.encode(body + '\n'), sizes, 1000);
          expect(lines.map((l) => decoder.decode(l.bytes!))).toEqual(body.split('\n'));
          expect(lines.map((l) => l.number)).toEqual(body.split('\n').map((_, i) => i + 1));
        },
      ),
    );
  });

  it('strips CR of CRLF endings and keeps a last line without a newline', () => {
    const lines = splitLines(encoder.encode('a\r\nbb\r\nccc'), [2], 100);
    expect(lines.map((l) => [decoder.decode(l.bytes!), l.size])).toEqual([
      ['a', 1],
      ['bb', 2],
      ['ccc', 3],
    ]);
  });

  it('steps over a line longer than the limit, reporting its full size, and goes on', () => {
    const long = 'x'.repeat(10 * 1024 * 1024);
    const input = encoder.encode(`short\n${long}\nafter\n`);
    const lines = splitLines(input, [64 * 1024], 1024);
    expect(lines.map((l) => (l.bytes ? decoder.decode(l.bytes) : null))).toEqual(['short', null, 'after']);
    expect(lines[1].size).toBe(long.length);
  });

  it('keeps a line of exactly the limit and drops one a byte longer', () => {
    const lines = splitLines(encoder.encode('abcd\nabcde\nabcd\r\n'), [3], 4);
    expect(lines.map((l) => (l.bytes ? decoder.decode(l.bytes) : null))).toEqual(['abcd', null, 'abcd']);
  });

  it('yields nothing for an empty stream', () => {
    expect(splitLines(new Uint8Array(0), [1], 10)).toEqual([]);
  });
});
