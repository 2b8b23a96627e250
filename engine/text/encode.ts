// Texts become model inputs on the host, the same way in training, evaluation and serving: the encoding is saved
// in the exported model's metadata_props (key `ratchet.text`), so a model file alone turns raw text into logits.
import { tensor } from '../ir/tensor.ts';
import type { TensorData } from '../ir/types.ts';
import { HfTokenizer, parseTokenizerJson, type Encoded } from './hf-tokenizer.ts';
import { checkNgramSpec, ngramCounts, ngramIds, type HashedNgramSpec } from './ngrams.ts';
import { CLS_ID, PAD_ID, WordPiece, type WordPieceSpec } from './wordpiece.ts';
import { InvalidInput } from '../invalid-input.ts';
import { paddedRows, type RaggedRows } from './ragged.ts';

export const TEXT_KEY = 'ratchet.text';

/** Encoder inputs: token ids [batch, windows · maxLength] (int64) and 1/0 for token/padding (float32), alike. */
export const INPUT_IDS = 'input_ids';
export const ATTENTION_MASK = 'attention_mask';
/**
 * fastText inputs: n-gram bucket ids [batch, N] (int64) and each one's weight in the mean (float32); N is the
 * encoding's maxLength, or with `distinct` n-grams the longest text's count of them among the texts encoded together.
 */
export const NGRAM_IDS = 'ngram_ids';
export const NGRAM_WEIGHTS = 'ngram_weights';

/** A pretrained model's own tokenizer: its tokenizer.json as the file holds it, each text cut at `maxLength`. */
export interface HfTokenizerEncoding {
  kind: 'hf-tokenizer';
  maxLength: number;
  tokenizer: unknown;
}

export type TextEncoding = WordPieceSpec | HashedNgramSpec | HfTokenizerEncoding;

/** Turns texts into the named input tensors a text model takes. */
export interface TextEncoder {
  readonly spec: TextEncoding;
  encode(texts: readonly string[]): Record<string, TensorData>;
  /**
   * The input whose zeros after a row's last non-zero are padding, when the model's width is symbolic: texts
   * encoded together are padded to the longest of them, and a batch may be cut to its own longest (examples.ts).
   */
  readonly paddedBy?: string;
  /**
   * The texts as a dataset keeps them, where the model's width is symbolic and rows differ widely in length
   * (fastText's distinct n-grams): unpadded rows, which each batch pads to its own longest (examples.ts). The
   * same batches as from `encode`, without holding the padding.
   */
  encodeRows?(texts: readonly string[]): Record<string, RaggedRows>;
}

/** A Hugging Face tokenizer's ids and mask as a BERT's inputs. */
export function tokenizedInputs({ ids, mask }: Encoded): Record<string, TensorData> {
  const dims = [ids.length, ids[0]?.length ?? 0];
  return {
    [INPUT_IDS]: tensor('int64', dims, BigInt64Array.from(ids.flat(), BigInt)),
    [ATTENTION_MASK]: tensor('float32', dims, Float32Array.from(mask.flat())),
  };
}

function hfEncoder(spec: HfTokenizerEncoding): TextEncoder {
  const tokenizer = new HfTokenizer(parseTokenizerJson(spec.tokenizer, 'tokenizer.json'));
  if (!(Number.isInteger(spec.maxLength) && spec.maxLength >= 2)) {
    throw new InvalidInput(`tokenizer max length must be an integer of at least 2, got ${spec.maxLength}`);
  }
  return {
    spec,
    encode: (texts) => tokenizedInputs(tokenizer.encodeBatch(texts, { maxLength: spec.maxLength, padding: 'longest' })),
    ...(tokenizer.spec.padLeft ? {} : { paddedBy: ATTENTION_MASK }),
  };
}

/**
 * Rows of ids padded with `pad` to `width`, and per-position weights: 1 for a real id with `mean: false`,
 * 1/count with `mean: true` (so a MatMul with the weights averages), 0 for padding.
 */
function padded(lists: number[][], width: number, mean: boolean): { ids: TensorData; weights: TensorData } {
  const ids = new BigInt64Array(lists.length * width).fill(BigInt(PAD_ID));
  const weights = new Float32Array(lists.length * width);
  lists.forEach((list, r) => {
    const scale = mean ? 1 / Math.max(1, list.length) : 1;
    list.forEach((id, i) => {
      ids[r * width + i] = BigInt(id);
      weights[r * width + i] = scale;
    });
  });
  return {
    ids: tensor('int64', [lists.length, width], ids),
    weights: tensor('float32', [lists.length, width], weights),
  };
}

/**
 * Each text's distinct n-grams (ngramCounts) as ragged rows of ids and weights, each weighted by its count / the
 * text's n-gram count (so a MatMul with the weights averages them all).
 * The bags are gathered in flat typed arrays as they are made, not kept as two arrays a text until the last is
 * made: thousands of those outlive the young generation's collections, and V8 answers by growing the heap (to
 * 94 MB against 69 MB encoding 5,000 texts of 150-450 words, docs/VALIDATION.md "Memory and speed").
 */
function ngramBags(texts: readonly string[], spec: HashedNgramSpec): { ids: RaggedRows; weights: RaggedRows } {
  let ids = new Int32Array(1024);
  let counts = new Int32Array(1024);
  const ends = new Int32Array(texts.length);
  let used = 0;
  texts.forEach((text, r) => {
    const bag = ngramCounts(text, spec);
    if (used + bag.ids.length > ids.length) {
      const size = Math.max(2 * ids.length, used + bag.ids.length);
      ids = grown(ids, size);
      counts = grown(counts, size);
    }
    ids.set(bag.ids, used);
    counts.set(bag.counts, used);
    used += bag.ids.length;
    ends[r] = used;
  });
  const weights = new Float32Array(used);
  for (let r = 0, start = 0; r < texts.length; start = ends[r++]) {
    let total = 0;
    for (let j = start; j < ends[r]; j++) total += counts[j];
    const scale = 1 / Math.max(1, total);
    for (let j = start; j < ends[r]; j++) weights[j] = counts[j] * scale;
  }
  return {
    ids: { kind: 'ragged', dtype: 'int64', ends, values: ids.slice(0, used) },
    weights: { kind: 'ragged', dtype: 'float32', ends, values: weights },
  };
}

function grown(array: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const out = new Int32Array(size);
  out.set(array);
  return out;
}

/**
 * A text's tokens ([CLS] first) as `windows` windows of at most `length` tokens, each led by [CLS], concatenated
 * with each window padded to `length`: consecutive windows while they hold the whole text, else windows spread
 * evenly from its start to its end (the first reads the start, the last the end), so a model sees all of a long
 * text's parts rather than its start alone.
 */
export function windowsOf(tokens: number[], length: number, windows: number): number[] {
  const body = tokens.slice(1);
  const size = length - 1;
  const starts =
    body.length <= windows * size || windows === 1
      ? Array.from({ length: Math.max(1, Math.ceil(body.length / size)) }, (_, i) => i * size)
      : Array.from({ length: windows }, (_, i) => Math.round((i * (body.length - size)) / (windows - 1)));
  const out: number[] = [];
  for (const start of starts.slice(0, windows)) {
    const window = [CLS_ID, ...body.slice(start, start + size)];
    out.push(...window, ...Array<number>(length - window.length).fill(PAD_ID));
  }
  return out;
}

export function textEncoder(spec: TextEncoding): TextEncoder {
  if (spec.kind === 'wordpiece') {
    const tokenizer = new WordPiece(spec);
    const windows = spec.windows ?? 1;
    return {
      spec,
      encode: (texts) => {
        if (windows === 1) {
          const { ids, weights } = padded(
            texts.map((t) => tokenizer.encode(t)),
            spec.maxLength,
            false,
          );
          return { [INPUT_IDS]: ids, [ATTENTION_MASK]: weights };
        }
        // Every window is padded to maxLength; the mask is 1 wherever a token stands ([PAD] is never one).
        const width = spec.maxLength * windows;
        const ids = new BigInt64Array(texts.length * width).fill(BigInt(PAD_ID));
        const mask = new Float32Array(texts.length * width);
        texts.forEach((t, r) =>
          windowsOf(tokenizer.encode(t, Infinity), spec.maxLength, windows).forEach((id, i) => {
            ids[r * width + i] = BigInt(id);
            mask[r * width + i] = id === PAD_ID ? 0 : 1;
          }),
        );
        return {
          [INPUT_IDS]: tensor('int64', [texts.length, width], ids),
          [ATTENTION_MASK]: tensor('float32', [texts.length, width], mask),
        };
      },
    };
  }
  if (spec.kind === 'hf-tokenizer') return hfEncoder(spec);
  if (spec.kind === 'hashed-ngrams') {
    checkNgramSpec(spec);
    return {
      spec,
      encode: (texts) => {
        if (!spec.distinct) {
          const { ids, weights } = padded(
            texts.map((t) => ngramIds(t, spec)),
            spec.maxLength,
            true,
          );
          return { [NGRAM_IDS]: ids, [NGRAM_WEIGHTS]: weights };
        }
        // The model's width is symbolic: these texts are padded to the longest of them, not to the cap.
        const { ids, weights } = ngramBags(texts, spec);
        return { [NGRAM_IDS]: paddedRows(ids), [NGRAM_WEIGHTS]: paddedRows(weights) };
      },
      ...(spec.distinct
        ? {
            encodeRows: (texts: readonly string[]) => {
              const { ids, weights } = ngramBags(texts, spec);
              return { [NGRAM_IDS]: ids, [NGRAM_WEIGHTS]: weights };
            },
          }
        : {}),
    };
  }
  throw new Error(`unknown text encoding '${(spec as { kind: unknown }).kind}'`);
}

/** The names of the inputs a model with this encoding takes, in order. */
export function textInputNames(spec: TextEncoding): string[] {
  return spec.kind === 'hashed-ngrams' ? [NGRAM_IDS, NGRAM_WEIGHTS] : [INPUT_IDS, ATTENTION_MASK];
}

/** The encoding a model's metadata records, or undefined for a model that takes features. */
export function textEncodingOf(metadata: Record<string, string>, source: string): TextEncoding | undefined {
  const text = metadata[TEXT_KEY];
  if (text === undefined) return undefined;
  try {
    const spec = JSON.parse(text) as TextEncoding;
    textEncoder(spec);
    return spec;
  } catch (e) {
    throw new InvalidInput(`${source}: metadata '${TEXT_KEY}' is not a text encoding (${(e as Error).message})`);
  }
}
