// Training on two intra-op threads gives the same bytes every run: an embedding's gradient adds the rows of every
// text holding an n-gram into one table row, and ORT's ScatterND, which did that, let two threads add into one row
// at once (the out-of-fold probabilities of dataset validation's mislabel check changed from run to run).
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/data/index.ts';
import type { TensorData } from '../../engine/ir/index.ts';
import { buildFastText } from '../../engine/models/fasttext.ts';
import { trainableParams } from '../../engine/models/methods.ts';
import { encodeDataset } from '../../engine/text/dataset.ts';
import { textEncoder } from '../../engine/text/encode.ts';
import { train } from '../../engine/train/trainer.ts';

/**
 * Texts of 150–300 words drawn from 40: each text holds a few hundred distinct words and bigrams, most of them shared
 * with the other texts of its batch, so a batch's gradient scatters tens of thousands of rows, large enough for ORT
 * to split the work between threads.
 */
function texts(count: number, seed: number) {
  const rng = Rng.fromSeed(seed);
  const words = Array.from({ length: 40 }, (_, i) => `w${i}`);
  const all = Array.from({ length: count }, () =>
    Array.from({ length: 150 + rng.nextInt(150) }, () => words[rng.nextInt(words.length)]).join(' '),
  );
  return { texts: all, labels: Int32Array.from(all, () => rng.nextInt(2)), labelNames: ['ham', 'spam'] };
}

const bytesOf = (t: TensorData) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

describe('training on two threads', () => {
  it('gives the same weights every run, chunked or one update a run, and the weights of one thread', async () => {
    const spec = {
      kind: 'hashed-ngrams' as const,
      buckets: 1 << 14,
      wordNgrams: 2,
      charNgrams: [0, 0] as [number, number],
      maxLength: 1024,
      distinct: true,
    };
    const data = encodeDataset(texts(384, 3), textEncoder(spec));
    const model = buildFastText({ buckets: spec.buckets, dim: 16, classes: 2, seed: 4 });
    const run = async (threads: number, stepsPerRun?: number) => {
      const result = await train({
        model,
        trainable: trainableParams(model.graph, { kind: 'full' }),
        train: data,
        config: {
          batchSize: 128,
          epochs: 3,
          lr: 0.05,
          optimizer: { kind: 'adamw' },
          loss: { kind: 'cross-entropy' },
          seed: 5,
          threads,
        },
        stepsPerRun,
      });
      return bytesOf(result.model.graph.initializers.get('embeddings.ngram')!);
    };
    const oneThread = await run(1);
    for (const stepsPerRun of [1, undefined]) {
      for (let i = 0; i < 3; i++) expect((await run(2, stepsPerRun)).equals(oneThread)).toBe(true);
    }
  }, 60_000);
});
