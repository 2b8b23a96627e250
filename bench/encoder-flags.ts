// The text encoder that bench/peers.ts trains against its peers and bench/engine-ab.ts runs engine against engine:
// its size flags and their defaults, in one place so that both benches measure the same model.
import type { EncoderSpec } from '../engine/models/encoder.ts';

export const ENCODER_FLAGS = ['batch', 'max-length', 'd-model', 'heads', 'layers', 'ffn', 'vocab', 'threads'];

/** The encoder's spec from the flags (`num(flag, default)`), its vocabulary and length as the caller has them. */
export function encoderSpec(
  num: (flag: string, fallback: number) => number,
  sizes: { vocab: number; maxLength: number },
): EncoderSpec {
  return {
    ...sizes,
    dModel: num('d-model', 64),
    heads: num('heads', 4),
    layers: num('layers', 2),
    ffn: num('ffn', 256),
    classes: 2,
    pooling: 'mean',
    seed: 1,
  };
}

/** Vocabulary size and window length from the flags (the defaults both benches use). */
export const encoderSizes = (num: (flag: string, fallback: number) => number) => ({
  vocab: num('vocab', 4000),
  maxLength: num('max-length', 64),
});
