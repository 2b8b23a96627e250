// Text models on real data: the SpamAssassin corpus, period 1 (easy-ham-1 + spam-1; 2500 ham, 500 spam, so always
// answering "ham" scores 0.833). A small encoder and a fastText student trained for a few dozen steps each must do
// clearly better on held-out emails; and `ratchet train --arch` / `ratchet eval` work end to end on raw text.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lastJson, ratchet } from './ratchet-cli.ts';
import { stratifiedSplit } from '../../engine/data/index.ts';
import { decodeModel } from '../../engine/ir/index.ts';
import { evaluate } from '../../engine/metrics/index.ts';
import { buildEncoder } from '../../engine/models/encoder.ts';
import { buildFastText } from '../../engine/models/fasttext.ts';
import { encodeDataset, parseTextJsonl, pickTexts, type TextDataset } from '../../engine/text/dataset.ts';
import { TEXT_KEY, textEncoder, type TextEncoder } from '../../engine/text/encode.ts';
import type { HashedNgramSpec } from '../../engine/text/ngrams.ts';
import { spamAssassin, textJsonl } from '../../infra/demo/spam-assassin.ts';
import { learnWordPiece } from '../../engine/text/wordpiece.ts';
import type { Model } from '../../engine/ir/index.ts';
import { checkpointOf, type CheckpointFiles } from '../../engine/train/checkpoint.ts';
import { resumedJob, runTrainJob, type TrainJob } from '../../engine/train/job.ts';
import { train } from '../../engine/train/trainer.ts';
import { DEFAULT_ARCH } from '../../engine/models/text.ts';

const MAJORITY = 2500 / 3000;

let period1: TextDataset;
let trainTexts: TextDataset;
let heldOut: TextDataset;

beforeAll(() => {
  period1 = parseTextJsonl(textJsonl(spamAssassin(['easy-ham-1', 'spam-1'])));
  const split = stratifiedSplit(period1.labels, 0.2, 0);
  trainTexts = pickTexts(period1, split.train);
  heldOut = pickTexts(period1, split.heldOut);
});

async function heldOutAccuracy(model: Model, encoder: TextEncoder, steps: number, lr: number) {
  const trainSet = encodeDataset(trainTexts, encoder);
  const evalSet = encodeDataset(heldOut, encoder);
  const trainable = [...model.graph.initializers]
    .filter(([, t]) => t.dtype === 'float32' && t.dims.length > 0)
    .map(([name]) => name);
  const started = performance.now();
  const result = await train({
    model,
    trainable,
    train: trainSet,
    eval: evalSet,
    config: {
      batchSize: 32,
      maxSteps: steps,
      lr,
      optimizer: { kind: 'adamw' },
      loss: { kind: 'cross-entropy' },
      seed: 0,
      evalEvery: steps,
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const { accuracy } = evaluate(result.evals.at(-1)!.logits, evalSet.labels, evalSet.labelNames);
  console.log(
    `${model.graph.name}: ${steps} steps in ${seconds.toFixed(1)} s, held-out accuracy ${accuracy.toFixed(4)}`,
  );
  return accuracy;
}

describe('text models on SpamAssassin period 1', () => {
  it('a small encoder (WordPiece learnt from the training emails) reaches >= 0.95 held-out accuracy in 60 steps', async () => {
    const tokenizer = learnWordPiece(trainTexts.texts, { vocabSize: 2000, maxLength: 64 });
    const model = buildEncoder({
      vocab: tokenizer.vocabSize,
      maxLength: 64,
      dModel: 32,
      heads: 2,
      layers: 1,
      ffn: 64,
      classes: 2,
      pooling: 'mean',
      seed: 0,
    });
    const accuracy = await heldOutAccuracy(model, textEncoder(tokenizer.spec), 60, 3e-3);
    expect(accuracy).toBeGreaterThanOrEqual(0.95);
    expect(accuracy).toBeGreaterThan(MAJORITY + 0.1);
  }, 120_000);

  it('a fastText student (hashed words, bigrams, character 3-4-grams) reaches >= 0.95 in 60 steps', async () => {
    const hashing: HashedNgramSpec = {
      kind: 'hashed-ngrams',
      buckets: 1 << 14,
      wordNgrams: 2,
      charNgrams: [3, 4],
      maxLength: 256,
    };
    const model = buildFastText({
      buckets: hashing.buckets,
      maxLength: hashing.maxLength,
      dim: 16,
      classes: 2,
      seed: 0,
    });
    const accuracy = await heldOutAccuracy(model, textEncoder(hashing), 60, 0.05);
    expect(accuracy).toBeGreaterThanOrEqual(0.95);
  }, 120_000);
});

describe('text JSONL', () => {
  it('reads texts and labels (sorted label map, or a given one), naming the line of any bad record', () => {
    const data = parseTextJsonl('{"text": "b", "label": "spam"}\n\n{"text": "", "label": "ham"}\r\n');
    expect(data.texts).toEqual(['b', '']);
    expect(data.labelNames).toEqual(['ham', 'spam']);
    expect(Array.from(data.labels)).toEqual([1, 0]);
    const bad = (text: string) => () => parseTextJsonl(text, { source: 'x.jsonl' });
    expect(bad('{"text": "a", "label": "ham"}\n{"text": 3, "label": "ham"}')).toThrow(
      'x.jsonl:2: "text" must be a string, got 3',
    );
    expect(bad('{"text": "a"}')).toThrow('x.jsonl:1: "label" must be a non-empty string or a number, got missing');
    expect(bad('{"text": "a", "label": "ham"')).toThrow('x.jsonl:1: not valid JSON');
    expect(bad('["a", "ham"]')).toThrow('x.jsonl:1: expected an object {"text": "...", "label": ...}');
    expect(bad('\n\n')).toThrow('x.jsonl:1: no records');
    expect(() => parseTextJsonl('{"text": "a", "label": "eggs"}', { labelNames: ['ham', 'spam'] })).toThrow(
      'label "eggs" is not in the label map ("ham", "spam")',
    );
  });
});

describe('text training jobs', () => {
  it('resume with the tokeniser stored in the checkpoint to a byte-identical model; a text base fine-tunes', async () => {
    const data = { train: textJsonl(spamAssassin(['easy-ham-1', 'spam-1']).filter((_, i) => i % 10 === 0)) };
    const job: TrainJob = {
      train: 'train.jsonl',
      hidden: [],
      method: 'full',
      text: { ...DEFAULT_ARCH.encoder, vocabSize: 300, maxLength: 24, dModel: 8, heads: 2, layers: 1, ffn: 16 },
      config: {
        batchSize: 16,
        maxSteps: 6,
        lr: 3e-3,
        optimizer: { kind: 'adamw' },
        loss: { kind: 'cross-entropy' },
        seed: 0,
        checkpointEvery: 3,
      },
    };
    const checkpoints = new Map<number, CheckpointFiles>();
    const whole = (await runTrainJob(job, data, { onCheckpoint: (files, step) => void checkpoints.set(step, files) }))
      .model!;
    const checkpoint = checkpointOf(checkpoints.get(3)!, 'step-00000003');
    expect((checkpoint.state.run as unknown as TrainJob).textEncoding?.kind).toBe('wordpiece');
    const resumed = await runTrainJob(resumedJob(checkpoint), data, { resume: checkpoint });
    expect(Buffer.compare(resumed.model!, whole)).toBe(0);

    // The exported encoder is a base model: its own tokeniser encodes the data, and its layout trains again.
    const tuned = await runTrainJob(
      { train: 'train.jsonl', base: 'whole.onnx', hidden: [], method: 'bitfit', config: job.config },
      { ...data, base: whole },
    );
    const before = decodeModel(whole);
    const after = decodeModel(tuned.model!);
    expect(after.metadata[TEXT_KEY]).toBe(before.metadata[TEXT_KEY]);
    const weight = (m: Model, name: string) => Array.from(m.graph.initializers.get(name)!.data as Float32Array);
    // BitFit: the weights stay, the biases move.
    expect(weight(after, 'blocks.0.attn.q.weight')).toEqual(weight(before, 'blocks.0.attn.q.weight'));
    expect(weight(after, 'embeddings.token')).toEqual(weight(before, 'embeddings.token'));
    expect(weight(after, 'head.bias')).not.toEqual(weight(before, 'head.bias'));
  }, 120_000);
});

describe('ratchet train --arch and ratchet eval on raw text', () => {
  it('exports a model that carries its tokeniser; eval on the raw-text file reproduces the printed metrics', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ratchet-text-'));
    const records = spamAssassin(['easy-ham-1', 'spam-1']).filter((_, i) => i % 5 === 0); // 600 emails
    const trainFile = join(dir, 'train.jsonl');
    const evalFile = join(dir, 'eval.jsonl');
    await writeFile(trainFile, textJsonl(records.filter((_, i) => i % 4 !== 0)));
    await writeFile(evalFile, textJsonl(records.filter((_, i) => i % 4 === 0)));
    const out = join(dir, 'encoder');
    const trained = lastJson(
      await ratchet(
        'train',
        '--arch',
        'encoder',
        '--train',
        trainFile,
        '--eval',
        evalFile,
        '--out',
        out,
        '--vocab-size',
        '800',
        '--max-length',
        '32',
        '--d-model',
        '16',
        '--heads',
        '2',
        '--layers',
        '1',
        '--ffn',
        '32',
        '--max-steps',
        '15',
        '--lr',
        '0.003',
      ),
    );
    const model = decodeModel(new Uint8Array(await readFile(join(out, 'model.onnx'))));
    expect(model.graph.inputs.map((v) => v.name)).toEqual(['input_ids', 'attention_mask']);
    const saved = JSON.parse(model.metadata[TEXT_KEY]);
    expect(saved.kind).toBe('wordpiece');
    expect(saved.vocab).toHaveLength(800);
    const scored = lastJson(await ratchet('eval', '--model', join(out, 'model.onnx'), '--data', evalFile));
    expect(scored.accuracy).toBe(trained.accuracy);
    expect(scored.loss).toBeCloseTo(trained.loss as number, 6);
  }, 120_000);

  it('says what is wrong with feature data given to a text architecture, and with bad flags', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ratchet-text-'));
    const features = join(dir, 'features.jsonl');
    await writeFile(features, '{"features": [1, 2], "label": "a"}\n');
    const run = await ratchet('train', '--arch', 'fasttext', '--train', features, '--out', join(dir, 'out'));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'features.jsonl:1: "text" must be a string, got missing (this looks like feature data, not text)',
    );
    const flags = await ratchet('train', '--arch', 'encoder', '--buckets', '10', '--train', features, '--out', dir);
    expect(flags.code).toBe(1);
    expect(flags.stderr).toContain('--buckets do not apply to --arch encoder');
    const base = await ratchet('train', '--arch', 'fasttext', '--base', 'm.onnx', '--train', features, '--out', dir);
    expect(base.stderr).toContain('--arch fasttext builds a model from scratch; with --base drop --arch');
  }, 60_000);
});
