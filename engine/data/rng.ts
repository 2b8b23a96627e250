// A seeded PRNG whose whole state is four 32-bit words, so a training checkpoint can store it as JSON and a resumed
// run draws exactly the numbers the uninterrupted run would have drawn.
//
// Generator: xoshiro128** 1.1 (Blackman & Vigna). It needs only 32-bit integer arithmetic, which JavaScript does
// exactly with `Math.imul` and `>>> 0`, so every platform produces the same stream. Seeds are expanded into the
// state with SplitMix32, as the xoshiro authors recommend, so nearby seeds give unrelated streams.

export interface RngState {
  algorithm: 'xoshiro128**';
  s: [number, number, number, number];
}

const TWO_POW_32 = 0x1_0000_0000;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function splitMix32(seed: number): () => number {
  let z = seed >>> 0;
  return () => {
    z = (z + 0x9e3779b9) >>> 0;
    let x = z;
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
    return (x ^ (x >>> 16)) >>> 0;
  };
}

function isUint32(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < TWO_POW_32;
}

export class Rng {
  private readonly s: Uint32Array;

  private constructor(s: ArrayLike<number>) {
    this.s = Uint32Array.from(s);
    // The all-zero state is the generator's one fixed point: it would emit zeros forever.
    if (this.s.every((w) => w === 0)) throw new Error('Rng state must not be all zeros');
  }

  /** A generator seeded from any integer in [0, 2^32); the same seed always gives the same stream. */
  static fromSeed(seed: number): Rng {
    if (!isUint32(seed)) throw new Error(`Rng seed must be an integer in [0, 2^32), got ${String(seed)}`);
    const next = splitMix32(seed);
    return new Rng([next(), next(), next(), next()]);
  }

  /** Restores a generator saved with `state()`; throws naming the problem when `state` is not one. */
  static fromState(state: unknown): Rng {
    const st = state as Partial<RngState> | null;
    if (typeof st !== 'object' || st === null || st.algorithm !== 'xoshiro128**') {
      throw new Error(`Rng state must be {"algorithm": "xoshiro128**", "s": [4 uint32]}, got ${JSON.stringify(state)}`);
    }
    if (!Array.isArray(st.s) || st.s.length !== 4 || !st.s.every(isUint32)) {
      throw new Error(`Rng state "s" must be 4 integers in [0, 2^32), got ${JSON.stringify(st.s)}`);
    }
    return new Rng(st.s);
  }

  /** A JSON-serialisable snapshot; `Rng.fromState(rng.state())` continues the same stream. */
  state(): RngState {
    const [a, b, c, d] = this.s;
    return { algorithm: 'xoshiro128**', s: [a, b, c, d] };
  }

  /** The next 32-bit output, an integer in [0, 2^32). */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A float uniform on [0, 1), with 32 random bits. */
  nextFloat(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** An integer uniform on [0, n), without modulo bias. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new Error(`Rng.nextInt bound must be an integer in [1, 2^32], got ${n}`);
    }
    // Reject the top partial copy of [0, n) so every residue is equally likely.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** A uniformly random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    return this.shuffle(order);
  }
}
