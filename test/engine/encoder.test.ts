// The text encoder builder: its gradients through every piece (embeddings, masked multi-head attention, LayerNorm,
// Gelu FFN, pooling, head) against finite differences, the padding mask, and bad sizes.
import { describe, expect, it } from 'vitest';
import { buildEncoder, encoderForward, type EncoderSpec } from '../../engine/models/encoder.ts';
import { tensor, type TensorData } from '../../engine/ir/index.ts';
import { createSession, toOrt } from '../../engine/runtime/session.ts';
import { ATTENTION_MASK, INPUT_IDS } from '../../engine/text/encode.ts';
import { gradcheck, type CheckInput } from './gradcheck.ts';

const tiny: EncoderSpec = {
  vocab: 7,
  maxLength: 4,
  dModel: 4,
  heads: 2,
  layers: 2,
  ffn: 6,
  classes: 3,
  pooling: 'mean',
  seed: 0,
};

// Two texts: the first has one padded position, whose id is a real token id (the mask alone must hide it).
const ids = tensor('int64', [2, 4], [2, 5, 3, 6, 2, 1, 4, 4]);
const mask = tensor('float32', [2, 4], [1, 1, 1, 0, 1, 1, 1, 1]);

function parameters(spec: EncoderSpec): CheckInput[] {
  const { initializers } = buildEncoder(spec).graph;
  return [...initializers]
    .filter(([, t]) => t.dtype === 'float32' && t.dims.length > 0)
    .map(([name, t]) => ({ name, shape: t.dims }));
}

async function logits(spec: EncoderSpec, feeds: { ids: TensorData; mask: TensorData }): Promise<Float32Array> {
  const { session } = await createSession(buildEncoder(spec));
  const out = await session.run({ [INPUT_IDS]: toOrt(feeds.ids), [ATTENTION_MASK]: toOrt(feeds.mask) });
  await session.release();
  return out.logits.data as Float32Array;
}

describe('text encoder', () => {
  for (const pooling of ['mean', 'cls'] as const) {
    it(`gradients of every parameter match finite differences (${pooling} pooling, padding masked)`, async () => {
      const spec = { ...tiny, pooling };
      const params = parameters(spec);
      // Every weight the model has is checked: embeddings, both blocks' attention and FFN, the norms, the head.
      expect(params.map((p) => p.name)).toEqual(
        expect.arrayContaining([
          'embeddings.token',
          'embeddings.position',
          'blocks.1.attn.q.weight',
          'blocks.1.ln2.bias',
          'blocks.0.ffn.down.weight',
          'norm.weight',
          'head.bias',
        ]),
      );
      const result = await gradcheck(
        [
          { name: INPUT_IDS, shape: [2, 4], values: ids },
          { name: ATTENTION_MASK, shape: [2, 4], values: mask },
          ...params,
        ],
        (b, x) => encoderForward(b, spec, x[INPUT_IDS], x[ATTENTION_MASK], (name) => x[name]),
        // Gelu has no float64 kernel in ORT's CPU provider, so the check runs in float32 (tolerances in gradcheck.ts).
        { dtype: 'float32', seed: pooling === 'mean' ? 1 : 2 },
      );
      expect(result.checked).toBe(params.reduce((n, p) => n + p.shape.reduce((a, d) => a * d, 1), 0));
      expect(result.mismatches).toEqual([]);
    });
  }

  it('ignores what stands at padded positions, and the mask changes the result', async () => {
    const base = await logits(tiny, { ids, mask });
    const otherPadding = tensor('int64', [2, 4], [2, 5, 3, 0, 2, 1, 4, 4]);
    expect(await logits(tiny, { ids: otherPadding, mask })).toEqual(base);
    const unmasked = await logits(tiny, { ids, mask: tensor('float32', [2, 4], new Float32Array(8).fill(1)) });
    expect(Array.from(unmasked.slice(0, 3))).not.toEqual(Array.from(base.slice(0, 3)));
    expect(Array.from(unmasked.slice(3))).toEqual(Array.from(base.slice(3)));
  });

  it('with windows, attends within each window and pools over all: one window of a text scores as a lone text', async () => {
    const windowed = { ...tiny, windows: 2 };
    // The same weights: windows add no parameters.
    expect(buildEncoder(windowed).graph.initializers.get('embeddings.position')!.dims).toEqual([4, tiny.dModel]);
    const first = await logits(tiny, { ids, mask });
    // Each text's tokens in window 1, window 2 all padding (what the tokeniser gives a short text).
    const out = await logits(windowed, {
      ids: tensor('int64', [2, 8], [2, 5, 3, 6, 0, 0, 0, 0, 2, 1, 4, 4, 0, 0, 0, 0]),
      mask: tensor('float32', [2, 8], [1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]),
    });
    Array.from(out).forEach((v, i) => expect(v).toBeCloseTo(first[i], 5));
    // Both texts as the two windows of one: no attention across windows, and mean pooling over all 7 tokens, so
    // (the head being affine) the logits are the token-weighted mean of the two texts' logits.
    const both = await logits(windowed, {
      ids: tensor('int64', [1, 8], Array.from(ids.data as BigInt64Array)),
      mask: tensor('float32', [1, 8], Array.from(mask.data as Float32Array)),
    });
    Array.from(both).forEach((v, c) => expect(v).toBeCloseTo((3 * first[c] + 4 * first[3 + c]) / 7, 5));
  });

  it('is a pure function of its spec and seed', async () => {
    const a = buildEncoder(tiny).graph.initializers.get('blocks.0.attn.k.weight')!;
    const b = buildEncoder(tiny).graph.initializers.get('blocks.0.attn.k.weight')!;
    const c = buildEncoder({ ...tiny, seed: 1 }).graph.initializers.get('blocks.0.attn.k.weight')!;
    expect(b.data).toEqual(a.data);
    expect(c.data).not.toEqual(a.data);
  });

  it('refuses sizes it cannot build, naming them', () => {
    expect(() => buildEncoder({ ...tiny, dModel: 6, heads: 4 })).toThrow('d_model 6 is not divisible by 4 heads');
    expect(() => buildEncoder({ ...tiny, layers: 0 })).toThrow('encoder layers must be a positive integer, got 0');
    expect(() => buildEncoder({ ...tiny, pooling: 'max' as 'mean' })).toThrow("pooling must be mean or cls, got 'max'");
  });
});
