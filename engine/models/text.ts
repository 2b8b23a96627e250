// Text classifiers trained from scratch: the architecture's sizes, and the model plus its text encoding (a
// tokeniser learnt from the training texts, or the n-gram hashing) that together take raw text.
import type { TextEncoding } from '../text/encode.ts';
import { distinctNgrams } from '../text/ngrams.ts';
import { learnWordPiece } from '../text/wordpiece.ts';
import type { Model } from '../ir/index.ts';
import { buildEncoder, type EncoderSpec } from './encoder.ts';
import { buildFastText } from './fasttext.ts';

/** An encoder's sizes (EncoderSpec's, less the classes the data decides and the seed the run gives) and the vocabulary its tokeniser learns. */
export type EncoderArch = { kind: 'encoder'; vocabSize: number } & Pick<
  EncoderSpec,
  'maxLength' | 'windows' | 'dModel' | 'heads' | 'layers' | 'ffn' | 'pooling'
>;

export interface FastTextArch {
  kind: 'fasttext';
  buckets: number;
  dim: number;
  wordNgrams: number;
  charNgrams: [number, number];
  /** Distinct n-grams kept per text: a cap, as each text is read whole (engine/text/ngrams.ts `distinct`). */
  maxLength: number;
}

export type TextArch = EncoderArch | FastTextArch;

/**
 * Small enough to train in seconds (fastText) or a minute or two (encoder) on a few thousand emails on two cores.
 * How much of a long text a model reads is part of the default: on raw emails (headers first) the first 512
 * n-grams or 128 tokens are mostly headers, and both models fell far below TF-IDF + logistic regression. fastText
 * now reads each text whole (the cap, 8,192 distinct n-grams, is above 99 % of raw SpamAssassin emails); the
 * encoder reads 8 windows of 64 tokens spread from a text's start to its end (512 tokens for the cost of 8 short
 * attentions rather than one long one). Figures: docs/RESULTS.md.
 */
export const DEFAULT_ARCH: { encoder: Required<EncoderArch>; fasttext: FastTextArch } = {
  encoder: {
    kind: 'encoder',
    vocabSize: 4000,
    maxLength: 64,
    windows: 8,
    dModel: 64,
    heads: 4,
    layers: 2,
    ffn: 128,
    pooling: 'mean',
  },
  fasttext: { kind: 'fasttext', buckets: 1 << 15, dim: 32, wordNgrams: 2, charNgrams: [3, 5], maxLength: 8192 },
};

/**
 * A fresh text classifier for `arch`. The encoding is learnt from `texts` (the training texts only) unless one is
 * given, as when a run resumes with the tokeniser it started with.
 */
export function newTextModel(
  arch: TextArch,
  texts: readonly string[],
  classes: number,
  seed: number,
  encoding?: TextEncoding,
): { model: Model; encoding: TextEncoding } {
  if (arch.kind === 'encoder') {
    const spec = encoding ?? {
      ...learnWordPiece(texts, { vocabSize: arch.vocabSize, maxLength: arch.maxLength }).spec,
      windows: arch.windows,
    };
    if (spec.kind !== 'wordpiece') throw new Error(`an encoder takes a WordPiece encoding, got ${spec.kind}`);
    const { dModel, heads, layers, ffn, pooling } = arch;
    const model = buildEncoder({
      vocab: spec.vocab.length,
      maxLength: spec.maxLength,
      windows: spec.windows,
      ...{ dModel, heads, layers, ffn, pooling, classes, seed },
    });
    return { model, encoding: spec };
  }
  const { buckets, wordNgrams, charNgrams, maxLength, dim } = arch;
  // An encoding without `distinct` is older: it read the first `maxLength` n-grams.
  const spec: TextEncoding = encoding ?? distinctNgrams({ buckets, wordNgrams, charNgrams, maxLength });
  if (spec.kind !== 'hashed-ngrams') throw new Error(`a fastText model takes hashed n-grams, got ${spec.kind}`);
  const width = spec.distinct ? undefined : spec.maxLength;
  return {
    model: buildFastText({ buckets: spec.buckets, maxLength: width, dim, classes, seed }),
    encoding: spec,
  };
}
