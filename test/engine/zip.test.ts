// The zip reader on an archive Python's zipfile wrote (one stored entry, one deflated): entries read back exactly,
// and damage (a flipped data byte, a cut-off file, no archive at all) is a one-line error, never wrong bytes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openZip } from '../../engine/io/zip.ts';

const bytes = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'zip', 'two-entries.zip'));
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

describe('openZip', () => {
  it('lists and reads stored and deflated entries', () => {
    const zip = openZip(bytes, 'two-entries.zip');
    expect(zip.names).toEqual(['dir/stored.txt', 'deflated.json']);
    expect(text(zip.read('dir/stored.txt'))).toBe('stored bytes\n');
    expect(JSON.parse(text(zip.read('deflated.json')))).toEqual({ x: 'abc'.repeat(200) });
    expect(zip.read('absent')).toBeUndefined();
  });

  it('says what is wrong with a damaged archive', () => {
    const flipped = Uint8Array.from(bytes);
    const at = bytes.indexOf(Buffer.from('stored bytes'));
    flipped[at] ^= 1;
    expect(() => openZip(flipped, 'z.zip').read('dir/stored.txt')).toThrow(
      'z.zip: not a readable zip archive (entry dir/stored.txt fails its CRC-32 check)',
    );
    expect(() => openZip(bytes.subarray(0, bytes.length - 30), 'cut.zip')).toThrow(
      'cut.zip: not a readable zip archive (no end-of-central-directory record)',
    );
    expect(() => openZip(new TextEncoder().encode('not a zip at all, just text'), 't.whl')).toThrow(
      't.whl: not a readable zip archive',
    );
  });
});
