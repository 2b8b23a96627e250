// Duplicate detection keeps 64 bits per record instead of the record itself: at a million records the
// chance of any false match is about 3e-8, and memory stays proportional to the record count, not the bytes.
// The hash is MurmurHash3 (x86, 128-bit; its first 64 bits) of the UTF-8 bytes: validation hashes millions of
// short records, so it hashes bytes where they lie, without a string or a digest object per record. It is not a
// cryptographic hash: someone who crafts a dataset can make two of its records collide, which only makes
// validation report a duplicate (or contamination) that is not one, against themselves.

export type Hash64 = { hi: number; lo: number };

const SEED = 0x9747b28c; // any non-zero seed: with 0 the empty input would hash to 0
const encoder = new TextEncoder();
let scratch = new Uint8Array(1024);

/** The 64-bit hash of a string's UTF-8 bytes: the same as hashBytes of those bytes. */
export function hash64(content: string): Hash64 {
  if (content.length * 3 > scratch.length) scratch = new Uint8Array(content.length * 3);
  const { written } = encoder.encodeInto(content, scratch);
  return hashBytes(scratch, 0, written);
}

/**
 * MurmurHash3_x86_128 of bytes[start, end), its first two 32-bit words. A scan's plain records are hashed by the text
 * kernel (text-kernel.wat, the same function); this one hashes the records JSON.parse reads.
 */
export function hashBytes(bytes: Uint8Array, start: number, end: number): Hash64 {
  const c1 = 0x239b961b;
  const c2 = 0xab0e9789;
  const c3 = 0x38b34ae5;
  const c4 = 0xa1e38b93;
  let h1 = SEED;
  let h2 = SEED;
  let h3 = SEED;
  let h4 = SEED;
  const length = end - start;
  const blocksEnd = start + (length & ~15);
  let i = start;
  for (; i < blocksEnd; i += 16) {
    let k1 = word(bytes, i);
    let k2 = word(bytes, i + 4);
    let k3 = word(bytes, i + 8);
    let k4 = word(bytes, i + 12);
    k1 = Math.imul(rotl(Math.imul(k1, c1), 15), c2);
    h1 ^= k1;
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl(Math.imul(k2, c2), 16), c3);
    h2 ^= k2;
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl(Math.imul(k3, c3), 17), c4);
    h3 ^= k3;
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl(Math.imul(k4, c4), 18), c1);
    h4 ^= k4;
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }
  const tail = end - i;
  if (tail > 12) h4 ^= Math.imul(rotl(Math.imul(partialWord(bytes, i + 12, end), c4), 18), c1);
  if (tail > 8) h3 ^= Math.imul(rotl(Math.imul(partialWord(bytes, i + 8, end), c3), 17), c4);
  if (tail > 4) h2 ^= Math.imul(rotl(Math.imul(partialWord(bytes, i + 4, end), c2), 16), c3);
  if (tail > 0) h1 ^= Math.imul(rotl(Math.imul(partialWord(bytes, i, end), c1), 15), c2);

  h1 ^= length;
  h2 ^= length;
  h3 ^= length;
  h4 ^= length;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  return { hi: h1 >>> 0, lo: h2 >>> 0 };
}

function word(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
}

/** The little-endian word of bytes[i, min(i + 4, end)), zero-padded. */
function partialWord(b: Uint8Array, i: number, end: number): number {
  let k = 0;
  for (let j = Math.min(i + 4, end) - 1; j >= i; j--) k = (k << 8) | b[j];
  return k;
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
