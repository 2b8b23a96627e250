// Text classifiers trained from scratch: the architecture's sizes, and the model plus its text encoding (a
// tokeniser learnt from the training texts, or the n-gram hashing) that together take raw text.
import type { TextEncoding } from '../text/encode.ts';
import { learnWordPiece } from '../text/wordpiece.ts';
import type { Model } from '../ir/index.ts';
import { buildEncoder } from './encoder.ts';
import { buildFastText } from './fasttext.ts';

export interface EncoderArch {
  kind: 'encoder';
  vocabSize: number;
  maxLength: number;
  dModel: number;
  heads: number;
  layers: number;
  ffn: number;
  pooling: 'mean' | 'cls';
}

export interface FastTextArch {
  kind: 'fasttext';
  buckets: number;
  dim: number;
  wordNgrams: number;
  charNgrams: [number, number];
  maxLength: number;
}

export type TextArch = EncoderArch | FastTextArch;

/** Small enough to train in seconds on a few thousand emails on two cores. */
export const DEFAULT_ARCH: { encoder: EncoderArch; fasttext: FastTextArch } = {
  encoder: {
    kind: 'encoder',
    vocabSize: 4000,
    maxLength: 128,
    dModel: 64,
    heads: 4,
    layers: 2,
    ffn: 128,
    pooling: 'mean',
  },
  fasttext: { kind: 'fasttext', buckets: 1 << 15, dim: 32, wordNgrams: 2, charNgrams: [3, 5], maxLength: 512 },
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
    const spec = encoding ?? learnWordPiece(texts, { vocabSize: arch.vocabSize, maxLength: arch.maxLength }).spec;
    if (spec.kind !== 'wordpiece') throw new Error(`an encoder takes a WordPiece encoding, got ${spec.kind}`);
    const { dModel, heads, layers, ffn, pooling } = arch;
    const model = buildEncoder({
      vocab: spec.vocab.length,
      maxLength: spec.maxLength,
      ...{ dModel, heads, layers, ffn, pooling, classes, seed },
    });
    return { model, encoding: spec };
  }
  const { buckets, wordNgrams, charNgrams, maxLength, dim } = arch;
  const spec: TextEncoding = encoding ?? { kind: 'hashed-ngrams', buckets, wordNgrams, charNgrams, maxLength };
  if (spec.kind !== 'hashed-ngrams') throw new Error(`a fastText model takes hashed n-grams, got ${spec.kind}`);
  return {
    model: buildFastText({ buckets: spec.buckets, maxLength: spec.maxLength, dim, classes, seed }),
    encoding: spec,
  };
}
