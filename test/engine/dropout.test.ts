// Training-time dropout (engine/train/dropout.ts) on ONNX Runtime: the share of elements dropped is the ratio, the
// kept ones are scaled by 1 / (1 - ratio), a key gives the same mask every time and another key (or another node)
// an unrelated one, and neighbouring elements are dropped independently.
import { describe, expect, it } from 'vitest';
import { GraphBuilder, createModel, emptyGraph, scalar } from '../../engine/ir/index.ts';
import { createSession, toOrt } from '../../engine/runtime/index.ts';
import { DROPOUT_KEY, activateDropout, dropoutKey } from '../../engine/train/dropout.ts';
import * as ort from 'onnxruntime-node';

const RATIO = 0.25;
const ROWS = 512;
const COLS = 1024;

/** x → two Dropout nodes at RATIO, rewritten for training: outputs `a` and `b`. */
async function session() {
  const b = new GraphBuilder(emptyGraph('dropout'));
  const x = b.input('x', 'float32', ['rows', COLS]);
  for (const name of ['a', 'b']) {
    const dropped = b.op('Dropout', [x, b.constant(scalar('float32', RATIO), 'ratio')]);
    b.op('Identity', [dropped], {}, name);
    b.output(name, 'float32', ['rows', COLS]);
  }
  expect(activateDropout(b.graph)).toBe(2);
  return (await createSession(createModel(b.graph))).session;
}

const ones = toOrt({ dtype: 'float32', dims: [ROWS, COLS], data: new Float32Array(ROWS * COLS).fill(1) });
const key = (k: bigint) => new ort.Tensor('int64', BigInt64Array.of(k), []);

describe('training-time dropout', () => {
  it('drops the ratio, scales the rest, and draws one mask per key and node', async () => {
    const s = await session();
    const run = async (k: bigint) => {
      const out = await s.run({ x: ones, [DROPOUT_KEY]: key(k) });
      return [out.a.data, out.b.data] as Float32Array[];
    };
    const [a1, b1] = await run(dropoutKey(7, 0, 0));
    const [again] = await run(dropoutKey(7, 0, 0));
    const [a2] = await run(dropoutKey(7, 1, 0));
    expect(Buffer.from(again.buffer).equals(Buffer.from(a1.buffer))).toBe(true);
    const n = a1.length;
    const dropped = a1.filter((v) => v === 0).length / n;
    // Binomial: the standard error at 512 Ki elements is 0.0006.
    expect(Math.abs(dropped - RATIO)).toBeLessThan(0.003);
    expect(new Set(a1)).toEqual(new Set([0, Math.fround(1 / (1 - RATIO))]));
    // Independent masks agree on p² + (1 - p)² of the elements: neighbours, two keys, two nodes.
    const agree = (x: Float32Array, y: Float32Array, shift = 0) => {
      let same = 0;
      for (let i = 0; i + shift < n; i++) if ((x[i] === 0) === (y[i + shift] === 0)) same++;
      return same / (n - shift);
    };
    const independent = RATIO ** 2 + (1 - RATIO) ** 2;
    for (const share of [agree(a1, a1, 1), agree(a1, a1, COLS), agree(a1, a2), agree(a1, b1)]) {
      expect(Math.abs(share - independent)).toBeLessThan(0.005);
    }
  });

  it('keeps an element exactly when the lowbias32 hash of its index and the node key reaches ratio · 2^32', async () => {
    const s = await session();
    const k = dropoutKey(3, 17, 0);
    const out = await s.run({ x: ones, [DROPOUT_KEY]: key(k) });
    // The hash in plain JavaScript uint32 arithmetic, node 0's key being the micro-batch's key itself.
    const hash = (index: number) => {
      let h = (index ^ Number(k)) >>> 0;
      h = (h ^ (h >>> 16)) >>> 0;
      h = Math.imul(h, 0x7feb352d) >>> 0;
      h = (h ^ (h >>> 15)) >>> 0;
      h = Math.imul(h, 0x446ca68b) >>> 0;
      return (h ^ (h >>> 16)) >>> 0;
    };
    const a = out.a.data as Float32Array;
    const threshold = Math.round(RATIO * 2 ** 32);
    let mismatches = 0;
    for (let i = 0; i < a.length; i++) if ((a[i] !== 0) !== hash(i) >= threshold) mismatches++;
    expect(mismatches).toBe(0);
  });
});
