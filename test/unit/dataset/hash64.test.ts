import { describe, expect, it } from 'vitest';
import { hash64, hashBytes, type Hash64 } from '../../../governance/dataset/hash64.ts';
import { Hash64Set, workspaceBytes } from '../../../governance/dataset/hash64-set.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('hash64', () => {
  it('is MurmurHash3_x86_128 (seed 0x9747b28c), its first two words', () => {
    // Reference values from the mmh3 package: mmh3.hash128(data, 0x9747b28c, x64arch=False), little-endian bytes.
    const reference: [Uint8Array, string][] = [
      [bytes(''), 'a1d5bef71c6a575b'],
      [bytes('a'), '44f94e086e18a121'],
      [bytes('The quick brown fox jumps over the lazy dog'), '5ed5d48a7161b84c'],
      [Uint8Array.from({ length: 37 }, (_, i) => i), 'e83d383d92df6ffa'],
    ];
    for (const [data, hex] of reference) {
      const { hi, lo } = hashBytes(data, 0, data.length);
      const le = (x: number) => [x, x >>> 8, x >>> 16, x >>> 24].map((b) => (b & 0xff).toString(16).padStart(2, '0'));
      expect([...le(hi), ...le(lo)].join('')).toBe(hex);
    }
  });

  it("hashes a string's UTF-8 bytes, wherever they lie", () => {
    const text = 'café 😀 spam';
    const inside = new Uint8Array([1, 2, ...bytes(text), 3]);
    expect(hash64(text)).toEqual(hashBytes(inside, 2, inside.length - 1));
    expect(hash64('spam')).not.toEqual(hash64('spam '));
  });
});

describe('Hash64Set', () => {
  it('holds every hash added, through many merges into its store, and nothing else', () => {
    const set = new Hash64Set({ pendingLimit: 1000 });
    const n = 50_000;
    const firstAdds = Array.from({ length: n }, (_, i) => set.add(hash64(`record ${i}`)));
    expect(firstAdds.every((added) => added)).toBe(true);
    expect(set.size).toBe(n);
    expect(Array.from({ length: n }, (_, i) => set.has(hash64(`record ${i}`))).every(Boolean)).toBe(true);
    expect(Array.from({ length: n }, (_, i) => set.has(hash64(`other ${i}`))).some(Boolean)).toBe(false);
    expect(set.add(hash64('record 123'))).toBe(false);
    expect(set.size).toBe(n);
  });

  it('keeps the first value added with each hash, pending or stored, in the width the largest value needs', () => {
    for (const maxValue of [200, 60_000, 100_000]) {
      const set = new Hash64Set({ maxValue, pendingLimit: 64 });
      for (let i = 0; i < 5000; i++) set.add(hash64(`r${i % 3000}`), (i * 7) % (maxValue + 1));
      expect(set.size).toBe(3000);
      for (const i of [0, 1, 63, 64, 2999]) expect(set.valueOf(hash64(`r${i}`))).toBe((i * 7) % (maxValue + 1));
      expect(set.valueOf(hash64('absent'))).toBeUndefined();
    }
  });

  it('tells apart hashes that share a bucket, or the low word', () => {
    const set = new Hash64Set({ pendingLimit: 2 });
    const hashes = [
      { hi: 0x12340001, lo: 5 },
      { hi: 0x12340002, lo: 5 },
      { hi: 0x12340001, lo: 6 },
      { hi: 0x12350001, lo: 5 },
      { hi: 0xffffffff, lo: 0xffffffff },
    ];
    for (const h of hashes) expect(set.add(h)).toBe(true);
    for (const h of hashes) expect(set.has(h)).toBe(true);
    expect(set.has({ hi: 0x12340003, lo: 5 })).toBe(false);
    expect(set.has({ hi: 0x12340001, lo: 7 })).toBe(false);
  });

  it('merges a pending table whose probes crowd together and wrap past its end', () => {
    // A hash's home slot is its top bits: these all start at the table's last slots or its first, so probing
    // displaces them far and wraps some to the front, out of order, before each merge puts them in order.
    const set = new Hash64Set({ maxValue: 1000, pendingLimit: 300 });
    const hashes: Hash64[] = [];
    for (let k = 0; k < 900; k++) {
      const hi = k % 3 === 0 ? (0xffffff00 + (k % 251)) >>> 0 : k % 3 === 1 ? 0x00000100 + (k % 97) : 0x80000000 + k;
      hashes.push({ hi, lo: (k * 2654435761) >>> 0 });
    }
    hashes.forEach((h, k) => expect(set.add(h, k)).toBe(true));
    expect(set.size).toBe(900);
    hashes.forEach((h, k) => {
      expect(set.has(h)).toBe(true);
      expect(set.valueOf(h)).toBe(k);
      expect(set.add(h, 1000)).toBe(false);
    });
    expect(set.has({ hi: 0xffffff00, lo: 1 })).toBe(false);
  });

  it('stores the all-zero hash, which doubles as the empty-slot marker', () => {
    const set = new Hash64Set({ pendingLimit: 2 });
    expect(set.has({ hi: 0, lo: 0 })).toBe(false);
    expect(set.add({ hi: 0, lo: 0 })).toBe(true);
    expect(set.has({ hi: 0, lo: 0 })).toBe(true);
    expect(set.add({ hi: 9, lo: 9 })).toBe(true); // a merge
    expect(set.has({ hi: 0, lo: 0 })).toBe(true);
    expect(set.add({ hi: 0, lo: 0 })).toBe(false);
  });

  // Values of 16 bits or fewer share a word with the hash on disk, wider ones take a word of their own.
  it.each([300, 100_000, undefined])(
    'answers alike when its store spills to disk (values up to %s): membership, first values, size, hash 0, a shared bucket',
    (maxValue) => {
      const spilling = new Hash64Set({ maxValue, pendingLimit: 500, storeLimit: 2000, bloomBytes: 1 << 10 });
      const inMemory = new Hash64Set({ maxValue, pendingLimit: 500 });
      const value = (i: number) => (maxValue === undefined ? 0 : (i * 40_009) % (maxValue + 1));
      const hashes = Array.from({ length: 12_000 }, (_, i) => hash64(`row ${i % 9000}`));
      hashes.push({ hi: 0, lo: 0 }, { hi: 0x12340001, lo: 5 }, { hi: 0x12340002, lo: 5 }, { hi: 0x12340001, lo: 6 });
      hashes.forEach((h, i) => expect(spilling.add(h, value(i))).toBe(inMemory.add(h, value(i))));
      expect(spilling.spills).toBe(true);
      expect(inMemory.spills).toBe(false);
      expect(spilling.size).toBe(inMemory.size);
      expect(spilling.size).toBe(9004);
      for (const h of [...hashes, ...Array.from({ length: 3000 }, (_, i) => hash64(`absent ${i}`))]) {
        expect(spilling.has(h)).toBe(inMemory.has(h));
        expect(spilling.valueOf(h)).toBe(inMemory.valueOf(h));
      }
      // A Bloom filter of 8 Kib for 9,000 hashes lets almost every absent hash through: the file answers for them.
      expect(spilling.has({ hi: 0x12340003, lo: 5 })).toBe(false);
      spilling.clear();
      expect(spilling.spills).toBe(false);
      expect(spilling.size).toBe(0);
      expect(spilling.has(hashes[0])).toBe(false);
      expect(spilling.add(hashes[0], 7)).toBe(true);
      expect(spilling.valueOf(hashes[0])).toBe(maxValue === undefined ? undefined : 7);
    },
  );

  it('says where it could not spill, and why', () => {
    const before = process.env.TMPDIR;
    process.env.TMPDIR = '/nonexistent/ratchet-tmp';
    try {
      const set = new Hash64Set({ pendingLimit: 8, storeLimit: 8 });
      expect(() => {
        for (let i = 0; i < 8; i++) set.add(hash64(`${i}`));
      }).toThrow(/keeps its duplicate tables on disk, in \/nonexistent\/ratchet-tmp \(TMPDIR.*ENOENT/);
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
    }
  });

  it('answers alike in a workspace it is given, through merges, spills and a clear', () => {
    const options = { maxValue: 300, pendingLimit: 500, storeLimit: 3000, bloomBytes: 1 << 10 };
    const workspace = new SharedArrayBuffer(workspaceBytes(options));
    const inWorkspace = new Hash64Set({ ...options, workspace });
    const own = new Hash64Set(options);
    for (const round of [0, 1]) {
      const hashes = Array.from({ length: 8000 }, (_, i) => hash64(`${round} row ${i % 6000}`));
      hashes.forEach((h, i) => expect(inWorkspace.add(h, i % 301)).toBe(own.add(h, i % 301)));
      expect(inWorkspace.size).toBe(own.size);
      for (const h of [...hashes, hash64('absent')]) expect(inWorkspace.valueOf(h)).toBe(own.valueOf(h));
      inWorkspace.clear();
      own.clear();
      expect(inWorkspace.has(hashes[0])).toBe(false);
    }
    expect(() => new Hash64Set({ ...options, workspace: new ArrayBuffer(1024) })).toThrow(/workspace .* too small/);
  });

  it('is empty after clear, and usable again', () => {
    const set = new Hash64Set({ maxValue: 10, pendingLimit: 16 });
    for (let i = 0; i < 100; i++) set.add(hash64(`${i}`), 3);
    set.clear();
    expect(set.size).toBe(0);
    expect(set.has(hash64('5'))).toBe(false);
    expect(set.add(hash64('5'), 4)).toBe(true);
    expect(set.valueOf(hash64('5'))).toBe(4);
  });
});
