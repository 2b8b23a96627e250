// IEEE 754 binary16 ("half", ONNX FLOAT16) to and from JS numbers. Tensors of dtype float16 hold the raw 16-bit
// patterns in a Uint16Array, the form onnxruntime-node takes and returns them in.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float16 bit pattern nearest `value` (rounded to float32 first, then to nearest even, as ORT's Cast does). */
export function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // ±Infinity, NaN
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // beyond 65504: ±Infinity
  // The bits below what a half keeps, rounded to nearest, ties to even; a carry may run into the exponent, which is
  // the right answer (the next binade, or Infinity).
  const round = (bits: number, shift: number) => {
    const kept = bits >>> shift;
    const rest = bits & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    return rest > halfway || (rest === halfway && kept & 1) ? kept + 1 : kept;
  };
  if (e <= 0) return e < -10 ? sign : sign | round(mantissa | 0x800000, 14 - e); // subnormal, or 0
  return sign | ((e << 10) + round(mantissa, 13));
}

/** The number a float16 bit pattern holds. */
export function fromHalfBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >>> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}
