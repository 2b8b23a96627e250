// The fastText-style student: n-grams hashed on the host, an embedding bag (the weighted mean of the n-grams'
// rows) and a linear head, checked against a host computation and finite differences.
import { describe, expect, it } from 'vitest';
import { tensor } from '../../engine/ir/index.ts';
import { encodeDataset } from '../../engine/text/dataset.ts';
import { batchOf, subsetOf } from '../../engine/train/examples.ts';
import { buildFastText, fastTextForward, type FastTextSpec } from '../../engine/models/fasttext.ts';
import { createSession, toOrt } from '../../engine/runtime/session.ts';
import { NGRAM_IDS, NGRAM_WEIGHTS, textEncoder } from '../../engine/text/encode.ts';
import { Rng } from '../../engine/data/index.ts';
import { fnv1a, ngramCounts, ngramIds, type HashedNgramSpec } from '../../engine/text/ngrams.ts';
import { words } from '../../engine/text/words.ts';
import { gradcheck } from './gradcheck.ts';

const hashing: HashedNgramSpec = {
  kind: 'hashed-ngrams',
  buckets: 1000,
  wordNgrams: 2,
  charNgrams: [3, 3],
  maxLength: 64,
};

describe('hashed n-grams', () => {
  it('hash with 32-bit FNV-1a (its published test vectors)', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });

  it('are, per word: the word, the word n-grams ending at it, then its character n-grams with < > marks', () => {
    const h = (s: string) => fnv1a(s) % hashing.buckets;
    expect(ngramIds('Ab cd', hashing)).toEqual([
      h('w ab'),
      h('c <ab'),
      h('c ab>'),
      h('w cd'),
      h('w ab cd'),
      h('c <cd'),
      h('c cd>'),
    ]);
    expect(ngramIds('Ab cd', { ...hashing, wordNgrams: 1, charNgrams: [0, 0] })).toEqual([h('w ab'), h('w cd')]);
    expect(ngramIds('a b c d e f', { ...hashing, maxLength: 4 })).toHaveLength(4);
  });

  it('hash word n-grams as the strings they stand for, on any text (the hash is carried on, not rebuilt)', () => {
    const rng = Rng.fromSeed(11);
    const pieces = ['a', 'Bc', 'déjà', '東京', '𝒳y', '😀', 'ｆｕｌｌ', '-', '!!', ' ', '  ', '\n', '3.5'];
    for (let t = 0; t < 200; t++) {
      const text = Array.from({ length: rng.nextInt(30) }, () => pieces[rng.nextInt(pieces.length)]).join(' ');
      const spec = { ...hashing, wordNgrams: 1 + rng.nextInt(3), maxLength: 1 + rng.nextInt(80) };
      const h = (s: string) => fnv1a(s) % spec.buckets;
      const expected = words(text).flatMap((_, i, ws) => [
        ...Array.from({ length: Math.min(spec.wordNgrams, i + 1) }, (_, n) =>
          h(`w ${ws.slice(i - n, i + 1).join(' ')}`),
        ),
        ...[...`<${ws[i]}>`].map((_, s, chars) => h(`c ${chars.slice(s, s + 3).join('')}`)).slice(0, -2),
      ]);
      expect(ngramIds(text, spec)).toEqual(expected.slice(0, spec.maxLength));
      const counts = new Map<number, number>();
      for (const id of expected)
        if (counts.has(id) || counts.size < spec.maxLength) counts.set(id, (counts.get(id) ?? 0) + 1);
      expect(ngramCounts(text, spec)).toEqual({ ids: [...counts.keys()], counts: [...counts.values()] });
    }
  });

  it('encode to ids and weights that average: 1/count per real n-gram, 0 for padding', () => {
    const inputs = textEncoder({ ...hashing, maxLength: 8 }).encode(['ab cd', '']);
    const weights = Array.from(inputs[NGRAM_WEIGHTS].data as Float32Array);
    expect(inputs[NGRAM_IDS].dims).toEqual([2, 8]);
    expect(weights.slice(0, 8)).toEqual([...Array(7).fill(Math.fround(1 / 7)), 0]);
    expect(weights.slice(8)).toEqual(Array(8).fill(0));
  });

  it('with distinct, read the whole text as distinct ids weighted by their share: the same mean as the full list', () => {
    const text = 'free free offer, free offer now';
    const all = ngramIds(text, { ...hashing, maxLength: 1000 });
    const spec = { ...hashing, maxLength: 1000, distinct: true };
    const inputs = textEncoder(spec).encode([text, 'now']);
    const ids = Array.from(inputs[NGRAM_IDS].data as BigInt64Array, Number);
    const weights = Array.from(inputs[NGRAM_WEIGHTS].data as Float32Array);
    const distinct = [...new Set(all)];
    // Padded to the longest text given, not to the cap: the model's width is symbolic.
    expect(inputs[NGRAM_IDS].dims).toEqual([2, distinct.length]);
    expect(ids.slice(0, distinct.length)).toEqual(distinct);
    distinct.forEach((id, i) => expect(weights[i]).toBeCloseTo(all.filter((x) => x === id).length / all.length, 7));
    const short = ngramIds('now', hashing);
    expect(weights.slice(distinct.length, distinct.length + short.length).reduce((a, b) => a + b)).toBeCloseTo(1, 6);
    // The cap keeps the first distinct n-grams seen, each still counted over the whole text.
    const capped = textEncoder({ ...spec, maxLength: 3 }).encode([text]);
    expect(Array.from(capped[NGRAM_IDS].data as BigInt64Array, Number)).toEqual(distinct.slice(0, 3));
    expect(() => textEncoder({ ...spec, distinct: 'yes' as unknown as boolean })).toThrow('bad n-gram settings');
  });

  it('a batch of distinct-n-gram bags is cut to its longest text, the rest of the padding left out', () => {
    const spec = { ...hashing, maxLength: 1000, distinct: true };
    const texts = ['now', 'free offer', 'free free offer, free offer now and again and again'];
    const data = encodeDataset({ texts, labels: Int32Array.of(0, 1, 1), labelNames: ['a', 'b'] }, textEncoder(spec));
    const used = (text: string) => new Set(ngramIds(text, { ...hashing, maxLength: 1000 })).size;
    const widest = used(texts[2]);
    const short = batchOf(data, Int32Array.of(1, 0)).inputs;
    expect(short[NGRAM_IDS].dims).toEqual([2, used('free offer')]);
    expect(short[NGRAM_WEIGHTS].dims).toEqual([2, used('free offer')]);
    // The batch's first row is text 1's bag as `encode` pads it for all three texts (as a served model gets it),
    // only without the extra padding; the dataset holds no padding at all.
    const row = (t: { data: unknown }, r: number, n: number) =>
      Array.from(t.data as Float32Array).slice(r * n, r * n + n);
    const n = used('free offer');
    const full = textEncoder(spec).encode(texts);
    expect(full[NGRAM_IDS].dims).toEqual([3, widest]);
    expect(row(short[NGRAM_WEIGHTS], 0, n)).toEqual(row(full[NGRAM_WEIGHTS], 1, widest).slice(0, n));
    const ids = (t: { data: unknown }) => Array.from(t.data as BigInt64Array, Number);
    expect(ids(short[NGRAM_IDS]).slice(0, n)).toEqual(ids(full[NGRAM_IDS]).slice(widest, widest + n));
    expect(data.inputs[NGRAM_IDS]).toMatchObject({
      kind: 'ragged',
      ends: Int32Array.of(used('now'), used('now') + n, used('now') + n + widest),
    });
    expect(batchOf(data, Int32Array.of(2, 0)).inputs[NGRAM_IDS].dims).toEqual([2, widest]);
  });

  it("in a subset, share the whole set's encoding: its batches are the same rows, cut the same way", () => {
    const texts = ['free offer now', 'meeting notes', 'free', 'lunch at noon today'];
    const spec = { ...hashing, maxLength: 1000, distinct: true };
    const data = encodeDataset({ texts, labels: Int32Array.of(0, 1, 1, 0), labelNames: ['a', 'b'] }, textEncoder(spec));
    const subset = subsetOf(data, Int32Array.of(3, 1, 2));
    expect(subset.inputs).toBe(data.inputs);
    const nested = subsetOf(subset, Int32Array.of(0, 2));
    const bytes = (b: ReturnType<typeof batchOf>) =>
      [NGRAM_IDS, NGRAM_WEIGHTS].map((name) => [b.inputs[name].dims, Array.from(b.inputs[name].data as Float32Array)]);
    expect(bytes(batchOf(nested, Int32Array.of(0, 1)))).toEqual(bytes(batchOf(data, Int32Array.of(3, 2))));
    expect(batchOf(nested, Int32Array.of(1, 0)).labels).toEqual(Int32Array.of(1, 0));
    expect(() => batchOf(nested, Int32Array.of(2))).toThrow("row index 2 is outside the dataset's 2 rows");
    expect(() => subsetOf(subset, Int32Array.of(3))).toThrow("row index 3 is outside the dataset's 3 rows");
  });

  it('refuse settings that cannot hash', () => {
    expect(() => textEncoder({ ...hashing, buckets: 0 })).toThrow('bad n-gram settings');
    expect(() => textEncoder({ ...hashing, charNgrams: [0, 3] })).toThrow('bad n-gram settings');
  });
});

describe('fastText model', () => {
  const spec: FastTextSpec = { buckets: 6, maxLength: 4, dim: 3, classes: 2, seed: 0 };
  // The first text repeats id 2 (its row counts twice in the mean); the second has one padded slot.
  const ids = tensor('int64', [2, 4], [2, 5, 2, 0, 1, 3, 4, 0]);
  const weights = tensor('float32', [2, 4], [0.25, 0.25, 0.25, 0.25, 1 / 3, 1 / 3, 1 / 3, 0]);

  it('scores the weighted mean of the n-grams’ embedding rows with its linear head', async () => {
    const model = buildFastText(spec);
    const { session } = await createSession(model);
    const out = await session.run({ [NGRAM_IDS]: toOrt(ids), [NGRAM_WEIGHTS]: toOrt(weights) });
    const E = model.graph.initializers.get('embeddings.ngram')!.data as Float32Array;
    const W = model.graph.initializers.get('head.weight')!.data as Float32Array;
    const b = model.graph.initializers.get('head.bias')!.data as Float32Array;
    const expected = [0, 1].flatMap((r) => {
      const bag = [0, 1, 2].map((k) =>
        [0, 1, 2, 3].reduce(
          (s, j) => s + (weights.data as Float32Array)[r * 4 + j] * E[Number(ids.data[r * 4 + j]) * 3 + k],
          0,
        ),
      );
      return [0, 1].map((c) => bag.reduce((s, v, k) => s + v * W[k * 2 + c], b[c]));
    });
    const logits = Array.from(out.logits.data as Float32Array);
    logits.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    await session.release();
  });

  it('gradients of the table (repeated ids summed) and the head match finite differences', async () => {
    const result = await gradcheck(
      [
        { name: NGRAM_IDS, shape: [2, 4], values: ids },
        {
          name: NGRAM_WEIGHTS,
          shape: [2, 4],
          values: tensor('float64', [2, 4], Array.from(weights.data as Float32Array)),
        },
        { name: 'embeddings.ngram', shape: [6, 3] },
        { name: 'head.weight', shape: [3, 2] },
        { name: 'head.bias', shape: [2] },
      ],
      (b, x) => fastTextForward(b, spec, x[NGRAM_IDS], x[NGRAM_WEIGHTS], (name) => x[name]),
      { dtype: 'float64', seed: 5 },
    );
    expect(result.checked).toBe(18 + 6 + 2);
    expect(result.mismatches).toEqual([]);
  });

  it('takes any number of n-grams per text when built without maxLength', async () => {
    const { session } = await createSession(buildFastText({ ...spec, maxLength: undefined }));
    const fixed = await createSession(buildFastText(spec));
    const feeds = { [NGRAM_IDS]: toOrt(ids), [NGRAM_WEIGHTS]: toOrt(weights) };
    const expected = (await fixed.session.run(feeds)).logits.data;
    expect((await session.run(feeds)).logits.data).toEqual(expected);
    // The same bags one slot wider (padding only) score the same.
    const out = await session.run({
      [NGRAM_IDS]: toOrt(tensor('int64', [2, 5], [2, 5, 2, 0, 0, 1, 3, 4, 0, 0])),
      [NGRAM_WEIGHTS]: toOrt(tensor('float32', [2, 5], [0.25, 0.25, 0.25, 0.25, 0, 1 / 3, 1 / 3, 1 / 3, 0, 0])),
    });
    Array.from(out.logits.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(Number(expected[i]), 6));
    await session.release();
    await fixed.session.release();
  });

  it('refuses sizes it cannot build', () => {
    expect(() => buildFastText({ ...spec, dim: 0 })).toThrow('fastText dim must be a positive integer, got 0');
  });
});
