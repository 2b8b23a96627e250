// OOD AUROC for a text model: the OOD file's `{"text"}` records are encoded through the model's own saved encoding
// (as activities/evaluate.ts does for the eval and OOD files), and the max-softmax AUROC separates emails, which
// the model was trained on, from text that is nothing like an email.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../engine/invalid-input.ts';
import { oodAuroc, softmax } from '../../engine/metrics/index.ts';
import { importClassifier } from '../../engine/models/base.ts';
import { DEFAULT_ARCH } from '../../engine/models/text.ts';
import { withSession } from '../../engine/runtime/index.ts';
import { encodeDataset, parseTextJsonl, parseTextsJsonl } from '../../engine/text/dataset.ts';
import { textEncoder } from '../../engine/text/encode.ts';
import { spamAssassin, textJsonl } from '../../infra/demo/spam-assassin.ts';
import { runTrainJob } from '../../engine/train/job.ts';
import { oodAurocOfSession } from '../../engine/train/ood.ts';
import { gibberishJsonl } from '../helpers/gibberish.ts';

describe('OOD AUROC of a text model', () => {
  it('separates held-out emails from gibberish, and equals oodAuroc on the logits computed by hand', async () => {
    const emails = spamAssassin(['easy-ham-1', 'spam-1']);
    const data = {
      train: textJsonl(emails.filter((_, i) => i % 10 === 0)),
      eval: textJsonl(emails.filter((_, i) => i % 10 === 5)),
    };
    const { model } = await runTrainJob(
      {
        train: 'train.jsonl',
        eval: 'eval.jsonl',
        hidden: [],
        method: 'full',
        text: { ...DEFAULT_ARCH.fasttext, dim: 16, maxLength: 256 },
        config: {
          batchSize: 32,
          epochs: 15,
          lr: 0.05,
          optimizer: { kind: 'adamw' },
          loss: { kind: 'cross-entropy' },
          seed: 0,
        },
      },
      data,
    );
    const classifier = importClassifier(model!, 'model.onnx');
    const encoder = textEncoder(classifier.text!);
    const inTexts = parseTextJsonl(data.eval, { labelNames: classifier.labelNames });
    const inDist = encodeDataset(inTexts, encoder);
    const oodTexts = parseTextsJsonl(gibberishJsonl(120, 3), { source: 'ood' });
    const ood = { rows: oodTexts.length, inputs: encoder.encode(oodTexts) };

    await withSession(classifier.model, { ep: 'cpu' }, async (session) => {
      const auroc = await oodAurocOfSession(session, inDist, ood);
      expect(auroc).toBeGreaterThan(0.8);

      // The same figure from one session run per set, fed by hand, and the engine's metric.
      const logitsOf = async (inputs: typeof ood.inputs) => {
        const feeds = Object.fromEntries(
          Object.entries(inputs).map(([name, t]) => [name, new ort.Tensor(t.dtype, t.data, t.dims)]),
        );
        return (await session.run(feeds)).logits.data as Float32Array;
      };
      const classes = classifier.labelNames!.length;
      const expected = oodAuroc(
        softmax(await logitsOf(encoder.encode(inTexts.texts)), classes),
        softmax(await logitsOf(ood.inputs), classes),
        classes,
      );
      expect(auroc).toBeCloseTo(expected, 12);

      // Feature rows for a text model are the wrong input, said as such (no retry can fix it).
      const rows = { rows: 1, width: 4, features: new Float32Array(4) };
      await expect(oodAurocOfSession(session, inDist, rows)).rejects.toThrow(InvalidInput);
      await expect(oodAurocOfSession(session, inDist, rows)).rejects.toThrow(
        'the OOD rows are features; the model takes named inputs (text)',
      );
    });
  }, 120_000);

  it('reads an OOD text file whose records have no labels, and names a record that is not text', () => {
    expect(parseTextsJsonl('{"text": "a"}\n{"text": "b", "label": 3}\n')).toEqual(['a', 'b']);
    expect(() => parseTextsJsonl('{"text": "a"}\n{"features": [1]}\n', { source: 'ood' })).toThrow(
      'ood:2: "text" must be a string, got missing (this looks like feature data, not text)',
    );
  });
});
