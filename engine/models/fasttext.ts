// A fastText-style classifier: the mean of the embeddings of a text's hashed word and character n-grams (an
// embedding bag), then a linear head. The host hashes n-grams into ids and gives each real one the weight
// 1/count (padding 0), so the bag is one Gather and one batched MatMul with those weights.
import { GraphBuilder, createModel, emptyGraph, int64s, type Model } from '../ir/index.ts';
import { NGRAM_IDS, NGRAM_WEIGHTS } from '../text/encode.ts';
import type { ParamSource } from './encoder.ts';
import { fastTextInit } from './init.ts';
import { LOGITS } from './layout.ts';
import { InvalidInput } from '../invalid-input.ts';

export interface FastTextSpec {
  /** Rows of the embedding table (the hashing's bucket count). */
  buckets: number;
  /** N-gram ids per text; undefined for a symbolic width `ngrams` (the host pads a batch to its longest text). */
  maxLength?: number;
  dim: number;
  classes: number;
  seed: number;
}

export function fastTextForward(
  b: GraphBuilder,
  spec: FastTextSpec,
  ids: string,
  weights: string,
  param: ParamSource,
): string {
  for (const key of ['buckets', 'maxLength', 'dim', 'classes'] as const) {
    if (key === 'maxLength' && spec[key] === undefined) continue;
    if (!Number.isInteger(spec[key]) || spec[key]! < 1) {
      throw new InvalidInput(`fastText ${key} must be a positive integer, got ${spec[key]}`);
    }
  }
  const initial = fastTextInit(spec);
  const table = param('embeddings.ngram', initial.table);
  const vectors = b.op('Gather', [table, ids], {}, 'ngram_vectors'); // [batch, N, dim]
  const bagWeights = b.op('Unsqueeze', [weights, b.constant(int64s([1]), 'axis1')], {}, 'bag_weights'); // [batch, 1, N]
  const bag = b.op(
    'Reshape',
    [b.op('MatMul', [bagWeights, vectors]), b.constant(int64s([0, spec.dim]), 'bag_shape')],
    {},
    'bag',
  );
  const scores = b.op('MatMul', [bag, param('head.weight', initial.weight)], {}, 'head_matmul');
  return b.op('Add', [scores, param('head.bias', initial.bias)], {}, LOGITS);
}

/** The student as a classifier model: `ngram_ids`, `ngram_weights` → `logits`. */
export function buildFastText(spec: FastTextSpec): Model {
  const b = new GraphBuilder(emptyGraph('fasttext'));
  const width = spec.maxLength ?? 'ngrams';
  const ids = b.input(NGRAM_IDS, 'int64', ['batch', width]);
  const weights = b.input(NGRAM_WEIGHTS, 'float32', ['batch', width]);
  fastTextForward(b, spec, ids, weights, (name, initial) => b.initializer(name, initial));
  b.output(LOGITS, 'float32', ['batch', spec.classes]);
  return createModel(b.graph);
}
