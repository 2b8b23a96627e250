// `ratchet tokenize`, `ratchet embed` and `ratchet train --base` in a child process on a tiny HF directory: one JSON
// array per {"text"} line, in order, honouring --max-length, and the same numbers as the embedder run in-process; a
// fine-tuned model that `ratchet eval` scores on raw text; bad input is one line.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeModel } from '../../engine/ir/index.ts';
import { buildBertEmbedder } from '../../engine/models/bert.ts';
import { pretrainedBase } from '../../engine/models/bert-base.ts';
import { loadPretrained, pretrainedInputs } from '../../engine/models/pretrained.ts';
import { toOrt, withSession } from '../../engine/runtime/session.ts';
import { tinyBertDir, writeGreetings } from '../helpers/tiny-bert.ts';
import { lastJson, ratchet } from './ratchet-cli.ts';

const dir = tinyBertDir();
const data = join(dir, 'texts.jsonl');
const texts = ['hello world', 'Playing, CAFE!', 'hello hello hello hello hello hello hello hello'];
writeFileSync(data, texts.map((text) => JSON.stringify({ text, id: 1 })).join('\n') + '\n\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const lines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as number[]);

describe('ratchet tokenize / embed', () => {
  it('tokenize prints each text’s ids, cut at --max-length', async () => {
    const run = await ratchet('tokenize', '--model', dir, '--data', data, '--max-length', '5');
    expect(run.code, run.stderr).toBe(0);
    expect(lines(run.stdout)).toEqual([
      [2, 5, 6, 3],
      [2, 7, 8, 10, 3],
      [2, 5, 5, 5, 3],
    ]);
  });

  it('embed prints each text’s normalised embedding, as the embedder computes it in-process', async () => {
    const run = await ratchet('embed', '--model', dir, '--data', data);
    expect(run.code, run.stderr).toBe(0);
    const printed = lines(run.stdout);
    const model = loadPretrained(dir);
    const expected = await withSession(buildBertEmbedder(model.config, model.weights, model.pooling), {}, async (s) => {
      const inputs = pretrainedInputs(model, texts);
      const out = await s.run({ input_ids: toOrt(inputs.input_ids), attention_mask: toOrt(inputs.attention_mask) });
      return Array.from(out.embeddings.data as Float32Array);
    });
    expect(printed.flat()).toEqual(expected);
    expect(printed.map((row) => row.length)).toEqual([8, 8, 8]);
  });

  it('reads the base model ONNX file `ratchet models import` registers: the same ids and embeddings', async () => {
    const onnx = join(dir, 'base.onnx');
    writeFileSync(onnx, encodeModel(pretrainedBase(loadPretrained(dir), { maxLength: 12 })));
    const ids = await ratchet('tokenize', '--model', onnx, '--data', data);
    const fromDir = await ratchet('tokenize', '--model', dir, '--data', data, '--max-length', '12');
    expect(ids.code, ids.stderr).toBe(0);
    expect(lines(ids.stdout)).toEqual(lines(fromDir.stdout));
    const embedded = await ratchet('embed', '--model', onnx, '--data', data);
    expect(embedded.code, embedded.stderr).toBe(0);
    const expected = lines((await ratchet('embed', '--model', dir, '--data', data, '--max-length', '12')).stdout);
    const got = lines(embedded.stdout);
    // Normalised here after the graph rather than inside it: the same numbers up to float rounding.
    for (const [r, row] of got.entries()) for (const [i, x] of row.entries()) expect(x).toBeCloseTo(expected[r][i], 6);
    const tooLong = await ratchet('embed', '--model', onnx, '--data', data, '--max-length', '13');
    expect(tooLong.stderr.trim()).toBe('ratchet embed: max length must be an integer in [2, 12], got 13');
  });

  it('says what is wrong in one line', async () => {
    const tooLong = await ratchet('embed', '--model', dir, '--data', data, '--max-length', '17');
    expect([tooLong.code, tooLong.stderr.trim()]).toEqual([
      1,
      'ratchet embed: max length must be an integer in [2, 16], got 17',
    ]);
    const noModel = await ratchet('tokenize', '--model', join(dir, 'nope'), '--data', data);
    expect(noModel.stderr.trim()).toBe(`ratchet tokenize: pretrained model not found: ${join(dir, 'nope')}`);
  });
});

describe('ratchet train --base HF_DIR', () => {
  const labelled = writeGreetings(join(dir, 'labelled.jsonl'));

  it('fine-tunes with LoRA and a new head; ratchet eval scores the model on raw text', async () => {
    const out = join(dir, 'tuned');
    const args = ['--base', dir, '--method', 'lora:4,alpha=16', '--max-length', '6', '--max-steps', '100'];
    const settings = ['--batch-size', '16', '--lr', '0.01'];
    const trained = lastJson(await ratchet('train', '--train', labelled, '--out', out, ...args, ...settings));
    const scored = lastJson(await ratchet('eval', '--model', join(out, 'model.onnx'), '--data', labelled));
    expect(scored.accuracy).toBeGreaterThan(0.5);
    expect(trained.accuracy).toBeGreaterThan(0.5);
  }, 60_000);

  it('says what is wrong in one line', async () => {
    const onnx = join(dir, 'tuned', 'model.onnx');
    const run = await ratchet(
      'train',
      '--train',
      labelled,
      '--out',
      join(dir, 'x'),
      '--base',
      onnx,
      '--max-length',
      '6',
    );
    expect([run.code, run.stderr.trim()]).toEqual([
      1,
      `ratchet train: --max-length applies to a pretrained base (an HF directory or wheel) or an ONNX text encoder without a tokenizer, not ${onnx}`,
    ]);
    const classifier = await ratchet('embed', '--model', onnx, '--data', labelled);
    expect([classifier.code, classifier.stderr.trim()]).toEqual([
      1,
      `ratchet embed: ${onnx} has no 'embeddings' output (it has logits): a classifier, not a base model`,
    ]);
  });
});
