// The mislabel check's quick fastText trains on the host (engine/train/quick-fasttext.ts); it must be the engine's
// fastText trained as train() trains it, through ONNX Runtime: the same weights at the start, the same batches, loss,
// schedule and AdamW, so the same logits to float32 rounding.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/data/index.ts';
import { buildFastText } from '../../engine/models/fasttext.ts';
import { trainableParams } from '../../engine/models/methods.ts';
import { withSession } from '../../engine/runtime/session.ts';
import { encodeDataset } from '../../engine/text/dataset.ts';
import { NGRAM_IDS, NGRAM_WEIGHTS, textEncoder } from '../../engine/text/encode.ts';
import { distinctNgrams } from '../../engine/text/ngrams.ts';
import type { RaggedRows } from '../../engine/text/ragged.ts';
import { batchOf, subsetOf } from '../../engine/train/examples.ts';
import { outOfFoldProbabilities } from '../../engine/train/out-of-fold.ts';
import { QuickFastText } from '../../engine/train/quick-fasttext.ts';
import { assembleQuickKernels, GENERATED } from '../../engine/train/quick-kernels.build.ts';
import { sessionLogits } from '../../engine/train/score.ts';
import { train } from '../../engine/train/trainer.ts';

/**
 * Texts of 3–40 words from a vocabulary of 3,000 drawn with a skew (a few words often, most rarely), so that many
 * n-grams first appear in a late batch: their embedding rows must stay as they were until then.
 */
function texts(count: number, classes: number, seed: number) {
  const rng = Rng.fromSeed(seed);
  const word = () => `w${Math.floor(3000 * rng.nextFloat() ** 3)}`;
  const labels = Int32Array.from({ length: count }, () => rng.nextInt(classes));
  const all = Array.from(labels, (label) =>
    Array.from({ length: 3 + rng.nextInt(38) }, (_, i) => (i % 4 === 0 ? `c${label}` : word())).join(' '),
  );
  return { texts: all, labels, labelNames: Array.from({ length: classes }, (_, c) => `c${c}`) };
}

const encoding = distinctNgrams({ buckets: 1 << 12, wordNgrams: 2, charNgrams: [0, 0], maxLength: 1024 });

describe('the quick fastText on the host', () => {
  it("trains to the logits of the engine's fastText trained through ONNX Runtime", async () => {
    const classes = 3;
    const data = encodeDataset(texts(420, classes, 1), textEncoder(encoding));
    const bags = { ids: data.inputs[NGRAM_IDS] as RaggedRows, weights: data.inputs[NGRAM_WEIGHTS] as RaggedRows };
    const trainRows = Int32Array.from({ length: 300 }, (_, i) => i); // batches of 128, 128 and 44
    const heldRows = Int32Array.from({ length: 120 }, (_, i) => 300 + i);
    const spec = { buckets: encoding.buckets, dim: 16, classes, seed: 7 };
    const training = { epochs: 4, batchSize: 128, lr: 0.05 };

    const model = buildFastText(spec);
    const engine = await train({
      model,
      trainable: trainableParams(model.graph, { kind: 'full' }),
      train: subsetOf(data, trainRows),
      config: {
        ...training,
        decay: 'cosine',
        optimizer: { kind: 'adamw', weightDecay: 0 },
        loss: { kind: 'cross-entropy' },
        seed: spec.seed,
        threads: 1,
      },
    });
    const held = subsetOf(data, heldRows);
    const expected = await withSession(engine.model, { threads: 1 }, (session) =>
      sessionLogits(session, held, classes, (ix) => batchOf(held, ix).inputs),
    );
    let updates = 0;
    const quick = new QuickFastText(bags, spec, training.batchSize);
    quick.train(
      trainRows,
      Int32Array.from(trainRows, (r) => data.labels[r]),
      spec.seed,
      {
        epochs: training.epochs,
        lr: training.lr,
        onProgress: () => updates++,
      },
    );
    const logits = quick.logits(heldRows);

    expect(updates).toBe(training.epochs * 3);
    expect(logits.length).toBe(expected.length);
    const scale = Math.max(...expected.map(Math.abs));
    expect(scale).toBeGreaterThan(0.5); // trained, not at its initial weights
    const worst = Math.max(...logits.map((x, i) => Math.abs(x - expected[i])));
    expect(worst).toBeLessThan(1e-4 * scale); // 1e-5 here; a wrong update is off by 1e-1
  }, 60_000);

  it('gives the same out-of-fold probabilities, byte for byte, every run', async () => {
    const data = texts(300, 2, 3);
    const probs = async () =>
      Buffer.from((await outOfFoldProbabilities({ kind: 'text', data }, { folds: 3, seed: 2, epochs: 2 })).buffer);
    const first = await probs();
    expect((await probs()).equals(first)).toBe(true);
  });

  it('stops when its signal is aborted', async () => {
    const controller = new AbortController();
    let updates = 0;
    const onProgress = () => ++updates === 2 && controller.abort();
    const run = outOfFoldProbabilities(
      { kind: 'text', data: texts(300, 2, 4) },
      { folds: 3, onProgress, signal: controller.signal },
    );
    await expect(run).rejects.toThrow('aborted');
    expect(updates).toBe(2);
  });

  it('runs kernels assembled from their source (else: npm run gen:quick-kernels)', async () => {
    expect(Buffer.from(readFileSync(GENERATED)).equals(Buffer.from(await assembleQuickKernels()))).toBe(true);
  });
});
