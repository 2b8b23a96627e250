// sessionLogits' runs of fewer rows (the mislabel check's held-out texts, engine/train/out-of-fold.ts) must give the
// logits of one run over each batch, bit for bit: the rows see the batch's tensors, at the batch's width.
import { describe, expect, it } from 'vitest';
import { newTextModel } from '../../engine/models/text.ts';
import { withSession } from '../../engine/runtime/session.ts';
import { encodeDataset } from '../../engine/text/dataset.ts';
import { textEncoder } from '../../engine/text/encode.ts';
import { batchOf } from '../../engine/train/examples.ts';
import { QUICK_FASTTEXT } from '../../engine/train/out-of-fold.ts';
import { sessionLogits } from '../../engine/train/score.ts';

describe('sessionLogits in runs of fewer rows', () => {
  it("gives one run's logits over a batch of texts of different lengths", async () => {
    const words = 'free offer meeting patch release thanks please report server build'.split(' ');
    const texts = Array.from({ length: 37 }, (_, i) =>
      Array.from({ length: 1 + ((i * 7) % 23) }, (_, j) => words[(i * 3 + j * 5) % words.length]).join(' '),
    );
    const labels = Int32Array.from(texts, (_, i) => i % 2);
    const { model, encoding } = newTextModel(QUICK_FASTTEXT, [], 2, 3);
    const data = encodeDataset({ texts, labels, labelNames: ['a', 'b'] }, textEncoder(encoding));
    const inputsOf = (ix: Int32Array) => batchOf(data, ix).inputs;
    const [whole, inRuns] = await withSession(model, { threads: 1 }, async (session) => [
      await sessionLogits(session, data, 2, inputsOf),
      await sessionLogits(session, data, 2, inputsOf, 5),
    ]);
    expect(whole.length).toBe(texts.length * 2);
    expect(inRuns).toEqual(whole);
  });
});
