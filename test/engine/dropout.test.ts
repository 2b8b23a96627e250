// Training-time dropout (engine/train/dropout.ts) on ONNX Runtime: the share of elements dropped is the ratio, the
// kept ones are scaled by 1 / (1 - ratio), a key gives the same mask every time and another key (or another node)
// an unrelated one, neighbouring elements and the two elements that share a hash are dropped independently, and
// every element is the one the generator, recomputed in JavaScript, says.
import { describe, expect, it } from 'vitest';
import { GraphBuilder, createModel, emptyGraph, scalar } from '../../engine/ir/index.ts';
import { createSession, toOrt } from '../../engine/runtime/index.ts';
import { DROPOUT_KEY, activateDropout, dropoutKey } from '../../engine/train/dropout.ts';
import * as ort from 'onnxruntime-node';

const RATIO = 0.25;
const ROWS = 1024;
const COLS = 1024;

/** x [rows, cols] → two Dropout nodes at RATIO, rewritten for training: outputs `a` and `b`. */
async function session(cols: number) {
  const b = new GraphBuilder(emptyGraph('dropout'));
  const x = b.input('x', 'float32', ['rows', cols]);
  for (const name of ['a', 'b']) {
    const dropped = b.op('Dropout', [x, b.constant(scalar('float32', RATIO), 'ratio')]);
    b.op('Identity', [dropped], {}, name);
    b.output(name, 'float32', ['rows', cols]);
  }
  expect(activateDropout(b.graph)).toBe(2);
  return (await createSession(createModel(b.graph))).session;
}

const ones = (rows: number, cols: number) =>
  toOrt({ dtype: 'float32', dims: [rows, cols], data: new Float32Array(rows * cols).fill(1) });
const key = (k: bigint) => new ort.Tensor('int64', BigInt64Array.of(k), []);

/** The two draws of counter c's hash, in plain JavaScript uint32 arithmetic. */
function draws(c: number): [number, number] {
  let h = Math.imul(c >>> 0, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 16;
  return [Math.imul(h, 0x846ca68b) >>> 0, Math.imul(h, 0x9e3779b9) >>> 0];
}

/**
 * Whether node 0 keeps each of `n` elements under key `k` (its counters start at the key): with `pairs` 2 (x has an
 * axis of even size), element e < n/2 and element e + n/2 take the two draws of counter e's hash.
 */
function expectedKept(k: bigint, n: number, pairs: 1 | 2): boolean[] {
  const threshold = Math.round(RATIO * 2 ** 32);
  const half = n / pairs;
  return Array.from({ length: n }, (_, e) => draws((e % half) + Number(k))[e < half ? 0 : 1] >= threshold);
}

describe('training-time dropout', () => {
  it('drops the ratio, scales the rest, and draws one mask per key and node', async () => {
    const s = await session(COLS);
    const x = ones(ROWS, COLS);
    const run = async (k: bigint) => {
      const out = await s.run({ x, [DROPOUT_KEY]: key(k) });
      return [out.a.data, out.b.data] as Float32Array[];
    };
    const [a1, b1] = await run(dropoutKey(7, 0, 0));
    const [again] = await run(dropoutKey(7, 0, 0));
    const [a2] = await run(dropoutKey(7, 1, 0));
    const [aMicro] = await run(dropoutKey(7, 0, 1));
    expect(Buffer.from(again.buffer).equals(Buffer.from(a1.buffer))).toBe(true);
    const n = a1.length;
    const dropped = a1.filter((v) => v === 0).length / n;
    // Binomial: the standard error at 1 Mi elements is 0.00042.
    expect(Math.abs(dropped - RATIO)).toBeLessThan(0.002);
    expect(new Set(a1)).toEqual(new Set([0, Math.fround(1 / (1 - RATIO))]));
    // Independent masks agree on p² + (1 - p)² of the elements (standard error 0.00047 over 1 Mi, 0.00068 over the
    // half that has a partner n/2 on): neighbours in a row and a column, the two draws of one hash, two successive
    // updates, two micro-batches, two nodes.
    const agree = (x: Float32Array, y: Float32Array, shift = 0) => {
      let same = 0;
      for (let i = 0; i + shift < n; i++) if ((x[i] === 0) === (y[i + shift] === 0)) same++;
      return same / (n - shift);
    };
    const independent = RATIO ** 2 + (1 - RATIO) ** 2;
    const pairs = [agree(a1, a1, 1), agree(a1, a1, COLS), agree(a1, a1, n / 2)];
    for (const share of [...pairs, agree(a1, a2), agree(a1, aMicro), agree(a1, b1)]) {
      expect(Math.abs(share - independent)).toBeLessThan(0.003);
    }
  });

  it('keeps an element exactly when its draw from the hash of its counter reaches ratio · 2^32', async () => {
    const k = dropoutKey(3, 17, 0);
    // An even axis pairs the elements; an odd-sized one alone leaves one draw per hash.
    for (const [rows, cols, pairs] of [
      [ROWS, COLS, 2],
      [64, 999, 1],
    ] as const) {
      const out = await (await session(cols)).run({ x: ones(rows, cols), [DROPOUT_KEY]: key(k) });
      const a = out.a.data as Float32Array;
      const expected = expectedKept(k, a.length, pairs);
      let mismatches = 0;
      for (let i = 0; i < a.length; i++) if ((a[i] !== 0) !== expected[i]) mismatches++;
      expect(mismatches).toBe(0);
    }
  });

  it('draws pass pairwise tests of independence over 4 Mi counters, where lowbias32 of the index failed', () => {
    // A chi-square over 256 × 256 cells of one byte of each of two draw sequences, as a z-score: about N(0, 1) for
    // independent uniform draws. The byte is the draws' top (which decides a mask) or the next (which decides it to
    // 1/65536). The generator before (lowbias32 of index ⊕ key, top 16 bits) scored z = 281 at lag 192, 152 at 64.
    const N = 1 << 22;
    const sequences = (start: number) => {
      const [a, b] = [new Uint32Array(N), new Uint32Array(N)];
      for (let i = 0; i < N; i++) [a[i], b[i]] = draws(start + i);
      return [a, b];
    };
    const z = (x: Uint32Array, y: Uint32Array, lag: number, shift: number) => {
      const cells = new Float64Array(65536);
      for (let i = 0; i + lag < N; i++) cells[(((x[i] >>> shift) & 255) << 8) | ((y[i + lag] >>> shift) & 255)]++;
      const expected = (N - lag) / 65536;
      const chi2 = cells.reduce((sum, o) => sum + (o - expected) ** 2 / expected, 0);
      return (chi2 - 65535) / Math.sqrt(2 * 65535);
    };
    const k = Number(dropoutKey(5, 0, 0));
    const [a, b] = sequences(k);
    // Other counters: the next node's (NODE_STRIDE on), the next update's and the next micro-batch's.
    const others = [k + 0x9e3779b9, Number(dropoutKey(5, 1, 0)), Number(dropoutKey(5, 0, 1))].map(sequences);
    const scores: number[] = [];
    for (const shift of [24, 16]) {
      scores.push(z(a, b, 0, shift));
      for (const lag of [1, 2, 3, 64, 192, 256, 4096, 65536]) scores.push(z(a, a, lag, shift), z(b, b, lag, shift));
      for (const [a2, b2] of others) scores.push(z(a, a2, 0, shift), z(b, b2, 0, shift));
    }
    expect(Math.max(...scores.map(Math.abs))).toBeLessThan(5);
  });
});
