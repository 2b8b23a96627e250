// Training-time dropout (engine/train/dropout.ts) on ONNX Runtime: the share of elements dropped is the ratio, the
// kept ones are scaled by 1 / (1 - ratio), a key gives the same mask every time and another key (or another node)
// an unrelated one, neighbouring elements and the elements that share a hash are dropped independently, and every
// element is the one the generator, recomputed in JavaScript, says, whether a MatMul reads the Dropout or not.
import { describe, expect, it } from 'vitest';
import { GraphBuilder, createModel, emptyGraph, scalar } from '../../engine/ir/index.ts';
import { createSession, toOrt } from '../../engine/runtime/index.ts';
import { DROPOUT_KEY, activateDropout, dropoutKey } from '../../engine/train/dropout.ts';
import * as ort from 'onnxruntime-node';

const RATIO = 0.25;
const ROWS = 1024;
const COLS = 1024;

/**
 * x [rows, cols] → two Dropout nodes at RATIO, rewritten for training: outputs `a` and `b`, each the Dropout's output
 * as is or, with `product`, times the identity matrix (a MatMul reader takes the scale into the product).
 */
async function session(cols: number, product = false) {
  const b = new GraphBuilder(emptyGraph('dropout'));
  const x = b.input('x', 'float32', ['rows', cols]);
  const identity = product ? b.input('identity', 'float32', [cols, cols]) : '';
  for (const name of ['a', 'b']) {
    const dropped = b.op('Dropout', [x, b.constant(scalar('float32', RATIO), 'ratio')]);
    b.op(product ? 'MatMul' : 'Identity', product ? [dropped, identity] : [dropped], {}, name);
    b.output(name, 'float32', ['rows', cols]);
  }
  expect(activateDropout(b.graph)).toBe(2);
  // The ratios became constants of the rewrite: none is left for ONNX Runtime to warn about.
  expect([...b.graph.initializers.keys()].filter((name) => name.startsWith('ratio'))).toEqual([]);
  return (await createSession(createModel(b.graph))).session;
}

const ones = (rows: number, cols: number) =>
  toOrt({ dtype: 'float32', dims: [rows, cols], data: new Float32Array(rows * cols).fill(1) });
const key = (k: bigint) => new ort.Tensor('int64', BigInt64Array.of(k), []);

/** The four draws of counter c's hash, in plain JavaScript uint32 arithmetic. */
function draws(c: number): number[] {
  let h = Math.imul(c >>> 0, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 16;
  return [0x846ca68b, 0x9e3779b9, 0x915f77f5, 0xae3cc725].map((m) => Math.imul(h, m) >>> 0);
}

const identityMatrix = (n: number) => {
  const data = new Float32Array(n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return toOrt({ dtype: 'float32', dims: [n, n], data });
};

/**
 * Whether node 0 keeps each of `n` elements under key `k` (its counters start at the key): with `perHash` 4 or 2 (x
 * has an axis of a size 4 or 2 divides), elements e, e + n/perHash, … take the draws of counter e's hash in turn.
 */
function expectedKept(k: bigint, n: number, perHash: 1 | 2 | 4): boolean[] {
  const threshold = Math.round(RATIO * 2 ** 32);
  const part = n / perHash;
  return Array.from({ length: n }, (_, e) => draws((e % part) + Number(k))[Math.floor(e / part)] >= threshold);
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
    // Independent masks agree on p² + (1 - p)² of the elements (standard error 0.00047 over 1 Mi, 0.00077 over the
    // 3/4 that have a partner n/4 on): neighbours in a row and a column, the draws of one hash, two successive
    // updates, two micro-batches, two nodes.
    const agree = (x: Float32Array, y: Float32Array, shift = 0) => {
      let same = 0;
      for (let i = 0; i + shift < n; i++) if ((x[i] === 0) === (y[i + shift] === 0)) same++;
      return same / (n - shift);
    };
    const independent = RATIO ** 2 + (1 - RATIO) ** 2;
    const pairs = [1, COLS, n / 4, n / 2, (3 * n) / 4].map((shift) => agree(a1, a1, shift));
    for (const share of [...pairs, agree(a1, a2), agree(a1, aMicro), agree(a1, b1)]) {
      expect(Math.abs(share - independent)).toBeLessThan(0.003);
    }
  });

  it('keeps an element exactly when its draw from the hash of its counter reaches ratio · 2^32', async () => {
    const k = dropoutKey(3, 17, 0);
    // An axis that 4 divides shares a hash among four elements, an even one between two; an odd-sized one alone
    // leaves one draw per hash. A MatMul reader (the identity here) leaves every element as it was.
    for (const [rows, cols, perHash, product] of [
      [ROWS, COLS, 4, false],
      [256, 998, 2, false],
      [64, 999, 1, false],
      [256, 512, 4, true],
    ] as const) {
      const feeds = {
        x: ones(rows, cols),
        [DROPOUT_KEY]: key(k),
        ...(product ? { identity: identityMatrix(cols) } : {}),
      };
      const out = await (await session(cols, product)).run(feeds);
      const a = out.a.data as Float32Array;
      const expected = expectedKept(k, a.length, perHash);
      let mismatches = 0;
      for (let i = 0; i < a.length; i++) if ((a[i] !== 0) !== expected[i]) mismatches++;
      expect(mismatches).toBe(0);
      expect(new Set(a)).toEqual(new Set([0, Math.fround(1 / (1 - RATIO))]));
    }
  });

  it('draws pass pairwise tests of independence over 4 Mi counters, where lowbias32 of the index failed', () => {
    // A chi-square over 256 × 256 cells of one byte of each of two draw sequences, as a z-score: about N(0, 1) for
    // independent uniform draws. The byte is the draws' top (which decides a mask) or the next (which decides it to
    // 1/65536). The generator before (lowbias32 of index ⊕ key, top 16 bits) scored z = 281 at lag 192, 152 at 64.
    const N = 1 << 22;
    const sequences = (start: number) => {
      const seqs = Array.from({ length: 4 }, () => new Uint32Array(N));
      for (let i = 0; i < N; i++) draws(start + i).forEach((d, j) => (seqs[j][i] = d));
      return seqs;
    };
    const z = (x: Uint32Array, y: Uint32Array, lag: number, shift: number) => {
      const cells = new Float64Array(65536);
      for (let i = 0; i + lag < N; i++) cells[(((x[i] >>> shift) & 255) << 8) | ((y[i + lag] >>> shift) & 255)]++;
      const expected = (N - lag) / 65536;
      const chi2 = cells.reduce((sum, o) => sum + (o - expected) ** 2 / expected, 0);
      return (chi2 - 65535) / Math.sqrt(2 * 65535);
    };
    const k = Number(dropoutKey(5, 0, 0));
    const own = sequences(k);
    // Other counters: the next node's (NODE_STRIDE on), the next update's and the next micro-batch's.
    const others = [k + 0x9e3779b9, Number(dropoutKey(5, 1, 0)), Number(dropoutKey(5, 0, 1))].map(sequences);
    const scores: number[] = [];
    for (const shift of [24, 16]) {
      // Every two draws of one hash.
      own.forEach((a, i) => own.slice(i + 1).forEach((b) => scores.push(z(a, b, 0, shift))));
      own.forEach((a, j) => {
        for (const lag of [1, 2, 3, 64, 192, 256, 4096, 65536]) scores.push(z(a, a, lag, shift));
        for (const other of others) scores.push(z(a, other[j], 0, shift));
      });
    }
    expect(Math.max(...scores.map(Math.abs))).toBeLessThan(5);
  });
});
