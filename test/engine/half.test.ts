// float16 in the IR: the bit conversions against ONNX Runtime's own Cast, and a float16 initializer through the codec.
import { describe, expect, it } from 'vitest';
import { fromHalfBits, toHalfBits } from '../../engine/ir/half.ts';
import { GraphBuilder, createModel, decodeModel, encodeModel, tensor, toNumbers } from '../../engine/ir/index.ts';
import { createSession, toOrt } from '../../engine/runtime/session.ts';
import { rng } from './gradcheck.ts';

describe('float16', () => {
  it("rounds float32 values to the bits ORT's Cast gives, and reads them back", async () => {
    const random = rng(3);
    const edge = [0, -0, 1, -2.5, 65504, 65519.99, 65520, 1e6, -1e9, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -14];
    const ties = [1 + 2 ** -11, 1 + 3 * 2 ** -11, 2048 + 1, 2048 + 3]; // halfway cases: to even
    const spread = Array.from({ length: 2000 }, () => (random() - 0.5) * 10 ** (random() * 12 - 8));
    const values = Float32Array.from([...edge, ...ties, ...spread, Infinity, -Infinity, NaN]);
    const b = new GraphBuilder();
    const y = b.op('Cast', [b.input('x', 'float32', [values.length])], { to: 10 }, 'y');
    b.output(y, 'float16', [values.length]);
    const { session } = await createSession(createModel(b.graph));
    const out = (await session.run({ x: toOrt(tensor('float32', [values.length], values)) })).y
      .data as ArrayLike<number>;
    // The bits: onnxruntime-node hands float16 back as a Uint16Array of bits, or where the runtime has Float16Array
    // (Node 24) as one of values; its buffer holds the same bits either way.
    const ort = new Uint16Array((out as Uint16Array).buffer, (out as Uint16Array).byteOffset, values.length);
    await session.release();
    expect(Array.from(values, toHalfBits)).toEqual(Array.from(ort));
    // Every finite half reads back as itself.
    const finite = Array.from({ length: 0x10000 }, (_, bits) => bits).filter((bits) => (bits & 0x7c00) !== 0x7c00);
    expect(finite.filter((bits) => toHalfBits(fromHalfBits(bits)) !== bits)).toEqual([]);
    expect(fromHalfBits(0x7c00)).toBe(Infinity);
    expect(fromHalfBits(0x7e00)).toBeNaN();
  });

  it('keeps a float16 initializer through encode and decode', () => {
    const b = new GraphBuilder();
    const w = b.initializer('w', tensor('float16', [3], [0.5, -65504, 1e-7]));
    b.output(b.op('Identity', [w]), 'float16', [3]);
    const back = decodeModel(encodeModel(createModel(b.graph))).graph.initializers.get('w')!;
    expect(back.dtype).toBe('float16');
    expect(toNumbers(back)).toEqual([0.5, -65504, fromHalfBits(toHalfBits(1e-7))]);
  });
});
