import { describe, expect, it } from 'vitest';
import { hash64, Hash64Lines } from '../../../engine/dataset/hash64.ts';

describe('hash64', () => {
  it('is deterministic and tells different texts apart', () => {
    expect(hash64('spam')).toEqual(hash64('spam'));
    expect(hash64('spam')).not.toEqual(hash64('spam '));
  });
});

describe('Hash64Lines', () => {
  it('remembers the first line of each hash through many growths', () => {
    const table = new Hash64Lines(16);
    const n = 50_000;
    const firstAdds = Array.from({ length: n }, (_, i) => table.addIfAbsent(hash64(`record ${i + 1}`), i + 1));
    expect(firstAdds.every((line) => line === undefined)).toBe(true);
    expect(table.size).toBe(n);
    const lines = Array.from({ length: n }, (_, i) => table.get(hash64(`record ${i + 1}`)));
    expect(lines).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(table.addIfAbsent(hash64('record 123'), n + 1)).toBe(123);
    expect(table.get(hash64('never added'))).toBeUndefined();
    expect(table.size).toBe(n);
  });

  it('keeps hashes that collide on the slot apart', () => {
    const table = new Hash64Lines(16);
    table.addIfAbsent({ hi: 1, lo: 5 }, 1);
    table.addIfAbsent({ hi: 2, lo: 5 }, 2);
    expect(table.get({ hi: 1, lo: 5 })).toBe(1);
    expect(table.get({ hi: 2, lo: 5 })).toBe(2);
    expect(table.get({ hi: 3, lo: 5 })).toBeUndefined();
  });

  it('rejects line 0, which marks empty slots', () => {
    expect(() => new Hash64Lines().addIfAbsent(hash64('x'), 0)).toThrow(/start at 1/);
  });
});
