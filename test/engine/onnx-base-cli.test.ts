// The BERT torch.onnx.export wrote (test/fixtures/onnx/bert-*.onnx, random weights in the tiny config of
// test/helpers/tiny-bert.ts) as a base model: with the tiny tokenizer it embeds raw text exactly as the export does,
// hidden-state outputs are mean-pooled, and `ratchet train --base` fine-tunes it in full and with LoRA; a missing
// tokenizer or an output that is no embedding is one line.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder, encodeModel, int64s, tensor, type Model } from '../../engine/ir/index.ts';
import { importClassifier } from '../../engine/models/base.ts';
import { readBaseFile } from '../../engine/models/bert-base.ts';
import { onnxBase } from '../../engine/models/onnx-base.ts';
import { loadModel } from '../../engine/onnx/load.ts';
import { textEncoder } from '../../engine/text/encode.ts';
import { toOrt, withSession } from '../../engine/runtime/session.ts';
import { tokenizerJson, writeGreetings } from '../helpers/tiny-bert.ts';
import { lastJson, ratchet } from './ratchet-cli.ts';

const fixture = (file: string) => fileURLToPath(new URL(`../fixtures/onnx/${file}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ratchet-onnx-base-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tokenizer = join(dir, 'tokenizer.json');
writeFileSync(tokenizer, JSON.stringify(tokenizerJson()));
const texts = ['hello world', 'Playing, CAFE!', 'hello'];

/** The embeddings `model` gives `texts`, fed as the base model's tokenizer encodes them. */
async function embed(model: Model, feeds: Record<string, ReturnType<typeof toOrt>>): Promise<number[]> {
  return withSession(model, {}, async (s) => Array.from((await s.run(feeds)).embeddings.data as Float32Array));
}

describe('a BERT written by torch.onnx.export as a base model', () => {
  it('embeds text as the export does: int64 mask cast from the float one, hidden states mean-pooled', async () => {
    const exported = loadModel(fixture('bert-opset17.onnx'));
    const base = importClassifier(readBaseFile(fixture('bert-opset17.onnx'), 6, tokenizer), 'bert-opset17.onnx');
    expect(base.headless).toBe(true);
    expect(base.text).toMatchObject({ kind: 'hf-tokenizer', maxLength: 6 });
    expect(base.model.graph.inputs.map((v) => `${v.name} ${v.dtype}`)).toEqual([
      'input_ids int64',
      'attention_mask float32',
    ]);
    const inputs = textEncoder(base.text!).encode(texts);
    const ours = await embed(base.model, {
      input_ids: toOrt(inputs.input_ids),
      attention_mask: toOrt(inputs.attention_mask),
    });
    const mask = toOrt(
      tensor('int64', inputs.attention_mask.dims, Array.from(inputs.attention_mask.data as Float32Array)),
    );
    expect(ours).toEqual(await embed(exported, { input_ids: toOrt(inputs.input_ids), attention_mask: mask }));

    // Hidden states [batch, seq, d] (here each row the embedding, times the mask) pool back to the embedding.
    const b = new GraphBuilder(exported.graph);
    const rows = b.op('Unsqueeze', ['embeddings', b.constant(int64s([1]))]);
    const kept = b.op('Unsqueeze', [b.op('Cast', ['attention_mask'], { to: 1 }), b.constant(int64s([2]))]);
    b.op('Mul', [rows, kept], {}, 'last_hidden_state');
    exported.graph.outputs = [{ name: 'last_hidden_state', dtype: 'float32', shape: ['batch', 'seq', 8] }];
    const pooled = onnxBase(exported, 'hidden.onnx', { tokenizer: tokenizerJson() });
    expect(pooled.graph.outputs).toEqual([{ name: 'embeddings', dtype: 'float32', shape: ['batch', 8] }]);
    const again = await embed(pooled, {
      input_ids: toOrt(inputs.input_ids),
      attention_mask: toOrt(inputs.attention_mask),
    });
    again.forEach((x, i) => expect(x).toBeCloseTo(ours[i], 6));
  });

  it('ratchet tokenize and embed read the export with --tokenizer: the ids and embeddings of the base model', async () => {
    const data = join(dir, 'texts.jsonl');
    writeFileSync(data, texts.map((text) => JSON.stringify({ text })).join('\n') + '\n');
    const model = fixture('bert-opset17.onnx');
    const base = importClassifier(readBaseFile(model, 6, tokenizer), 'bert-opset17.onnx');
    const inputs = textEncoder(base.text!).encode(texts);
    const expected = await embed(base.model, {
      input_ids: toOrt(inputs.input_ids),
      attention_mask: toOrt(inputs.attention_mask),
    });
    const args = ['--model', model, '--tokenizer', tokenizer, '--data', data, '--max-length', '6'];
    const embedded = await ratchet('embed', ...args);
    expect(embedded.code, embedded.stderr).toBe(0);
    const rows = embedded.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as number[]);
    expect(rows.map((r) => r.length)).toEqual([8, 8, 8]);
    rows.flat().forEach((x, i) => expect(x).toBeCloseTo(expected[i], 6));
    const ids = await ratchet('tokenize', ...args);
    const width = inputs.input_ids.dims[1];
    const padded = ids.stdout
      .trim()
      .split('\n')
      .map((line) => {
        const row = JSON.parse(line) as number[];
        return [...row, ...Array(width - row.length).fill(0)];
      });
    expect(padded.flat()).toEqual(Array.from(inputs.input_ids.data as BigInt64Array, Number));
    const without = await ratchet('embed', '--model', model, '--data', data);
    expect(without.stderr.trim()).toBe(
      `ratchet embed: ${model} carries no tokenizer: give --tokenizer tokenizer.json (or put one beside it)`,
    );
  });

  it('checks the max length against the tokenizer and the position embeddings', () => {
    const exported = loadModel(fixture('bert-opset14.onnx'));
    expect(() => onnxBase(exported, 'x.onnx', { tokenizer: tokenizerJson(), maxLength: 17 })).toThrow(
      'max length must be an integer in [2, 16], got 17',
    );
    const untruncated = tokenizerJson({ truncation: null });
    expect(JSON.parse(onnxBase(exported, 'x.onnx', { tokenizer: untruncated }).metadata['ratchet.text'])).toMatchObject(
      {
        maxLength: 16,
      },
    );
  });
});

describe('ratchet train --base EXPORT.onnx', () => {
  const labelled = writeGreetings(join(dir, 'labelled.jsonl'));
  const settings = ['--max-steps', '30', '--batch-size', '16', '--lr', '0.03'];

  it('fine-tunes the opset-14 TorchScript export in full (--tokenizer) and the dynamo one with LoRA (tokenizer.json beside it)', async () => {
    const full = join(dir, 'full');
    const run = await ratchet(
      'train',
      '--train',
      labelled,
      '--out',
      full,
      '--base',
      fixture('bert-opset14.onnx'),
      '--tokenizer',
      tokenizer,
      '--method',
      'full',
      ...settings,
    );
    expect(lastJson(run).accuracy).toBeGreaterThan(0.9);
    const scored = lastJson(await ratchet('eval', '--model', join(full, 'model.onnx'), '--data', labelled));
    expect(scored.accuracy).toBeGreaterThan(0.9);

    for (const file of ['bert-dynamo-opset18.onnx', 'bert-dynamo-opset18.onnx.data'])
      copyFileSync(fixture(file), join(dir, file));
    const lora = join(dir, 'lora');
    const args = ['--base', join(dir, 'bert-dynamo-opset18.onnx'), '--method', 'lora:4,alpha=16'];
    const tuned = lastJson(await ratchet('train', '--train', labelled, '--out', lora, ...args, ...settings));
    expect(tuned.accuracy).toBeGreaterThan(0.9);
  }, 120_000);

  it('says in one line that an export needs a tokenizer, or an output to embed with', async () => {
    const bare = fixture('bert-opset14.onnx');
    const run = await ratchet('train', '--train', labelled, '--out', join(dir, 'x'), '--base', bare);
    expect([run.code, run.stderr.trim()]).toEqual([
      1,
      `ratchet train: ${bare} takes input_ids but carries no tokenizer: give --tokenizer tokenizer.json (or put one beside it)`,
    ]);
    const model = loadModel(bare);
    const b = new GraphBuilder(model.graph);
    b.op('ReduceSum', ['embeddings'], { keepdims: 0 }, 'total');
    model.graph.outputs = [{ name: 'total', dtype: 'float32', shape: [] }];
    const scalar = join(dir, 'scalar.onnx');
    writeFileSync(scalar, encodeModel(model));
    const wrong = await ratchet('train', '--train', labelled, '--out', join(dir, 'y'), '--base', scalar);
    expect([wrong.code, wrong.stderr.trim()]).toEqual([
      1,
      `ratchet train: ${scalar}: no output to embed texts with: a text encoder outputs a pooled embedding float32 [batch, d] or hidden states [batch, seq, d], found total float32 []`,
    ]);
  });
});
