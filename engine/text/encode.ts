// Texts become model inputs on the host, the same way in training, evaluation and serving: the encoding is saved
// in the exported model's metadata_props (key `ratchet.text`), so a model file alone turns raw text into logits.
import { tensor, type TensorData } from '../ir/index.ts';
import { checkNgramSpec, ngramIds, type HashedNgramSpec } from './ngrams.ts';
import { PAD_ID, WordPiece, type WordPieceSpec } from './wordpiece.ts';
import { InvalidInput } from '../invalid-input.ts';

export const TEXT_KEY = 'ratchet.text';

/** Encoder inputs: token ids [batch, maxLength] (int64) and 1/0 for token/padding [batch, maxLength] (float32). */
export const INPUT_IDS = 'input_ids';
export const ATTENTION_MASK = 'attention_mask';
/** fastText inputs: n-gram bucket ids [batch, maxLength] (int64) and each one's weight in the mean (float32). */
export const NGRAM_IDS = 'ngram_ids';
export const NGRAM_WEIGHTS = 'ngram_weights';

export type TextEncoding = WordPieceSpec | HashedNgramSpec;

/** Turns texts into the named input tensors a text model takes. */
export interface TextEncoder {
  readonly spec: TextEncoding;
  encode(texts: readonly string[]): Record<string, TensorData>;
}

/**
 * Rows of ids padded with `pad` to `width`, and per-position weights: 1 for a real id with `mean: false`,
 * 1/count with `mean: true` (so a MatMul with the weights averages), 0 for padding.
 */
function padded(lists: number[][], width: number, mean: boolean): { ids: TensorData; weights: TensorData } {
  const ids = new BigInt64Array(lists.length * width).fill(BigInt(PAD_ID));
  const weights = new Float32Array(lists.length * width);
  lists.forEach((list, r) => {
    const w = mean ? 1 / Math.max(1, list.length) : 1;
    list.forEach((id, i) => {
      ids[r * width + i] = BigInt(id);
      weights[r * width + i] = w;
    });
  });
  return {
    ids: tensor('int64', [lists.length, width], ids),
    weights: tensor('float32', [lists.length, width], weights),
  };
}

export function textEncoder(spec: TextEncoding): TextEncoder {
  if (spec.kind === 'wordpiece') {
    const tokenizer = new WordPiece(spec);
    return {
      spec,
      encode: (texts) => {
        const { ids, weights } = padded(
          texts.map((t) => tokenizer.encode(t)),
          spec.maxLength,
          false,
        );
        return { [INPUT_IDS]: ids, [ATTENTION_MASK]: weights };
      },
    };
  }
  if (spec.kind === 'hashed-ngrams') {
    checkNgramSpec(spec);
    return {
      spec,
      encode: (texts) => {
        const { ids, weights } = padded(
          texts.map((t) => ngramIds(t, spec)),
          spec.maxLength,
          true,
        );
        return { [NGRAM_IDS]: ids, [NGRAM_WEIGHTS]: weights };
      },
    };
  }
  throw new Error(`unknown text encoding '${(spec as { kind: unknown }).kind}'`);
}

/** The names of the inputs a model with this encoding takes, in order. */
export function textInputNames(spec: TextEncoding): string[] {
  return spec.kind === 'wordpiece' ? [INPUT_IDS, ATTENTION_MASK] : [NGRAM_IDS, NGRAM_WEIGHTS];
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
