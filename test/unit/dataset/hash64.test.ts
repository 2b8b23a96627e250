import { describe, expect, it } from 'vitest';
import { hash64, Hash64Set } from '../../../governance/dataset/hash64.ts';

describe('hash64', () => {
  it('is deterministic and tells different texts apart', () => {
    expect(hash64('spam')).toEqual(hash64('spam'));
    expect(hash64('spam')).not.toEqual(hash64('spam '));
  });
});

describe('Hash64Set', () => {
  it('holds every hash added, through many growths, and nothing else', () => {
    const set = new Hash64Set(16);
    const n = 50_000;
    const firstAdds = Array.from({ length: n }, (_, i) => set.add(hash64(`record ${i}`)));
    expect(firstAdds.every((added) => added)).toBe(true);
    expect(set.size).toBe(n);
    expect(Array.from({ length: n }, (_, i) => set.has(hash64(`record ${i}`))).every(Boolean)).toBe(true);
    expect(Array.from({ length: n }, (_, i) => set.has(hash64(`other ${i}`))).some(Boolean)).toBe(false);
    expect(set.add(hash64('record 123'))).toBe(false);
    expect(set.size).toBe(n);
  });

  it('keeps hashes that land on the same slot apart', () => {
    const set = new Hash64Set(16);
    set.add({ hi: 1, lo: 5 });
    set.add({ hi: 2, lo: 5 });
    expect([set.has({ hi: 1, lo: 5 }), set.has({ hi: 2, lo: 5 }), set.has({ hi: 3, lo: 5 })]).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('stores the all-zero hash, which doubles as the empty-slot marker', () => {
    const set = new Hash64Set(16);
    expect(set.has({ hi: 0, lo: 0 })).toBe(false);
    expect(set.add({ hi: 0, lo: 0 })).toBe(true);
    expect(set.has({ hi: 0, lo: 0 })).toBe(true);
    expect(set.add({ hi: 0, lo: 0 })).toBe(false);
  });
});
