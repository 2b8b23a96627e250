import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitLines, type Line } from '../../../governance/dataset/lines.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function* chunked(bytes: Uint8Array, sizes: number[]) {
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length]);
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}

async function collect(lines: AsyncIterable<Line>): Promise<Line[]> {
  const out: Line[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

describe('splitLines', () => {
  it('yields the same lines whatever the chunk boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 20 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }),
        async (texts, sizes) => {
          const body = texts.map((t) => t.replaceAll('\n', ' ').replaceAll('\r', ' ')).join('\n');
          const lines = await collect(splitLines(chunked(encoder.encode(body + '\n'), sizes), 1000));
          expect(lines.map((l) => decoder.decode(l.bytes!))).toEqual(body.split('\n'));
          expect(lines.map((l) => l.number)).toEqual(body.split('\n').map((_, i) => i + 1));
        },
      ),
    );
  });

  it('strips CR of CRLF endings and keeps a last line without a newline', async () => {
    const lines = await collect(splitLines(chunked(encoder.encode('a\r\nbb\r\nccc'), [2]), 100));
    expect(lines.map((l) => [decoder.decode(l.bytes!), l.size])).toEqual([
      ['a', 1],
      ['bb', 2],
      ['ccc', 3],
    ]);
  });

  it('steps over a line longer than the limit, reporting its full size, and goes on', async () => {
    const long = 'x'.repeat(10 * 1024 * 1024);
    const input = encoder.encode(`short\n${long}\nafter\n`);
    const lines = await collect(splitLines(chunked(input, [64 * 1024]), 1024));
    expect(lines.map((l) => (l.bytes ? decoder.decode(l.bytes) : null))).toEqual(['short', null, 'after']);
    expect(lines[1].size).toBe(long.length);
  });

  it('keeps a line of exactly the limit and drops one a byte longer', async () => {
    const lines = await collect(splitLines(chunked(encoder.encode('abcd\nabcde\nabcd\r\n'), [3]), 4));
    expect(lines.map((l) => (l.bytes ? decoder.decode(l.bytes) : null))).toEqual(['abcd', null, 'abcd']);
  });

  it('yields nothing for an empty stream', async () => {
    expect(await collect(splitLines(chunked(new Uint8Array(0), [1]), 10))).toEqual([]);
  });
});
