import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AsciiRecordReader } from '../../../governance/dataset/ascii-record.ts';
import { normaliseText } from '../../../governance/dataset/normalise.ts';
import { findPii } from '../../../governance/dataset/pii.ts';
import { isProblem, parseRecord } from '../../../governance/dataset/record.ts';

const encoder = new TextEncoder();
const ascii = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7f }).map((c) => String.fromCharCode(c)) });
const piiFragment = fc.constantFrom(
  '555-123-4567',
  '(555) 123-4567',
  '4111 1111 1111 1111',
  'a@b.co',
  '+44 20 7946 0958',
);
/** Texts around what the PII patterns look for, and near misses of it. */
const piiLike = fc
  .tuple(fc.stringMatching(/^[ a-z0-9@+().-]{0,12}$/), piiFragment, fc.stringMatching(/^[ a-z0-9@+().-]{0,12}$/))
  .map(([before, fragment, after]) => before + fragment + after);
const value = fc.oneof(ascii, piiLike, fc.integer(), fc.double(), fc.constant(null), fc.boolean(), fc.constant(''));
const key = fc.oneof(fc.constantFrom('text', 'label', 'slice', 'features', 'id'), ascii);
const space = fc.constantFrom('', ' ', '\t', '  ', '\r');

const member = (k: fc.Arbitrary<string>, v: fc.Arbitrary<unknown>) => fc.tuple(k, v, space, space);
const textMember = member(fc.constant('text'), fc.oneof(printable, piiLike, ascii, value));
const labelMember = member(fc.constant('label'), fc.oneof(fc.constantFrom('spam', 'ham'), value));

/** JSON-ish lines: objects of the keys the reader knows and others, spaced, in any order, sometimes malformed. */
const line = fc
  .tuple(
    fc.option(textMember, { freq: 5 }),
    fc.option(labelMember, { freq: 3 }),
    fc.array(member(key, fc.oneof(printable, value)), { maxLength: 2 }),
    fc.nat(),
    space,
    fc.constantFrom('', '', '', '', '', ',', 'x', '}'),
  )
  .map(([text, label, others, turn, pad, junk]) => {
    const members = [text, label, ...others].filter((m) => m !== null);
    const order = members.map((_, i) => members[(i + turn) % members.length]);
    const body = order.map(([k, v, a, b]) => `${a}${JSON.stringify(k)}${b}:${a}${JSON.stringify(v)}${b}`).join(',');
    return `${pad}{${body}}${junk}${pad}`;
  });

describe('AsciiRecordReader', () => {
  it('reads exactly the text and label parseRecord gives, or declines the line', () => {
    const reader = new AsciiRecordReader();
    let read = 0;
    fc.assert(
      fc.property(line, fc.boolean(), (text, labelRequired) => {
        const bytes = encoder.encode(`##${text}#`);
        if (!reader.read(bytes, 2, bytes.length - 1, labelRequired)) return;
        read += 1;
        const parsed = parseRecord(encoder.encode(text), labelRequired);
        expect(isProblem(parsed)).toBe(false);
        if (isProblem(parsed) || parsed.input.kind !== 'text') throw new Error('not a text record');
        expect(reader.text(bytes)).toBe(parsed.input.text);
        const normalised = reader.kernel.normalised.subarray(0, reader.kernel.normalisedLength);
        expect(new TextDecoder().decode(normalised)).toBe(normaliseText(parsed.input.text));
        expect(reader.label).toBe(parsed.label);
        if (!reader.mayHoldPii) expect(findPii(parsed.input.text).size).toBe(0);
      }),
      { numRuns: 10_000 },
    );
    expect(read).toBeGreaterThan(500); // the generator does make records the reader takes
  });

  it('declines escapes, non-ASCII bytes, repeated keys and features', () => {
    const reader = new AsciiRecordReader();
    for (const text of [
      '{"text":"caf\\u00e9","label":"a"}',
      '{"text":"café","label":"a"}',
      '{"text":"a","text":"b","label":"a"}',
      '{"text":"a","features":[1],"label":"a"}',
      '{"text":"a","label":"a","n":true}',
      '{"text":"   ","label":"a"}',
      '{"text":"a"}',
    ]) {
      const bytes = encoder.encode(text);
      expect(reader.read(bytes, 0, bytes.length, true), text).toBe(false);
    }
  });
});

describe('AsciiRecordReader normalisation', () => {
  it('gives the bytes of normaliseText for any text it reads', () => {
    const reader = new AsciiRecordReader();
    let read = 0;
    fc.assert(
      fc.property(printable, (text) => {
        const bytes = encoder.encode(JSON.stringify({ text, label: 'a' }));
        if (!reader.read(bytes, 0, bytes.length, true)) return;
        read += 1;
        const normalised = reader.kernel.normalised.subarray(0, reader.kernel.normalisedLength);
        expect(new TextDecoder().decode(normalised)).toBe(normaliseText(text));
      }),
      { numRuns: 5000 },
    );
    expect(read).toBeGreaterThan(2500);
  });
});
