// A tiny BERT in the Hugging Face layout, written by hand for tests that need no download: a tokenizer.json of the
// BERT kind over a 13-token vocabulary, a config.json and random weights in torch's layout.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../engine/data/index.ts';
import { encodeSafetensors } from '../../engine/io/safetensors.ts';
import type { TensorData } from '../../engine/ir/index.ts';
import { bertParameterShapes } from '../../engine/models/bert.ts';
import { parseBertConfig } from '../../engine/models/bert-config.ts';
import { uniform } from '../../engine/models/init.ts';
import type { TrainJob } from '../../engine/train/job.ts';

const VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  'hello',
  'world',
  'play',
  '##ing',
  '##s',
  ',',
  '!',
  'cafe',
];

export function tokenizerJson(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '1.0',
    truncation: { max_length: 8, strategy: 'LongestFirst', stride: 0, direction: 'Right' },
    padding: { strategy: { Fixed: 8 }, direction: 'Right', pad_id: 0, pad_token: '[PAD]' },
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [2] }, '[SEP]': { id: '[SEP]', ids: [3] } },
    },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(VOCAB.map((t, i) => [t, i])),
    },
    ...overrides,
  };
}

export const TINY_CONFIG = {
  architectures: ['BertModel'],
  model_type: 'bert',
  vocab_size: VOCAB.length,
  hidden_size: 8,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 16,
  hidden_act: 'gelu',
  layer_norm_eps: 1e-12,
  max_position_embeddings: 16,
  type_vocab_size: 2,
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  position_embedding_type: 'absolute',
};

/** Random BertModel weights, by Hugging Face name, in torch's layout ([out, in] linears), plus the unused pooler. */
export function tinyWeights(seed = 1): Record<string, TensorData> {
  const rng = Rng.fromSeed(seed);
  const shapes = bertParameterShapes(parseBertConfig(TINY_CONFIG, 'tiny'));
  const weights = Object.fromEntries([...shapes].map(([name, { dims }]) => [name, uniform(rng, dims, 0.5)]));
  return { ...weights, 'pooler.dense.weight': uniform(rng, [8, 8], 0.5), 'pooler.dense.bias': uniform(rng, [8], 0.5) };
}

/**
 * Writes the tiny model as an HF directory (sentence-transformers' modules.json and mean pooling included) and
 * returns its path; `files` replaces or, with null, removes any of the files.
 */
export function tinyBertDir(files: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ratchet-tiny-bert-'));
  const contents: Record<string, unknown> = {
    'config.json': TINY_CONFIG,
    'tokenizer.json': tokenizerJson(),
    'model.safetensors': encodeSafetensors(tinyWeights()),
    'modules.json': [
      { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
      { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
      { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
    ],
    '1_Pooling/config.json': { word_embedding_dimension: 8, pooling_mode_mean_tokens: true },
    ...files,
  };
  mkdirSync(join(dir, '1_Pooling'));
  for (const [name, value] of Object.entries(contents)) {
    if (value === null) continue;
    writeFileSync(join(dir, name), value instanceof Uint8Array ? value : JSON.stringify(value));
  }
  return dir;
}

/** Writes 48 {"text", "label"} lines of the tiny vocabulary to `path`, labelled by whether "hello" is a word; returns it. */
export function writeGreetings(path: string): string {
  const phrases = ['hello world', 'hello cafe !', 'playing , world', 'plays cafe', 'world hello', 'cafe , plays'];
  const lines = Array.from({ length: 48 }, (_, i) => phrases[i % phrases.length]).map((text) =>
    JSON.stringify({ text, label: text.includes('hello') ? 'greeting' : 'other' }),
  );
  writeFileSync(path, lines.join('\n'));
  return path;
}

/** `rows` random texts of the tiny vocabulary as JSONL, labelled by whether "hello" is among their words. */
export function greetingsJsonl(rows: number, seed: number): string {
  const rng = Rng.fromSeed(seed);
  const words = ['hello', 'world', 'playing', 'plays', 'cafe', ',', '!'];
  return Array.from({ length: rows }, () => {
    const text = Array.from(
      { length: 1 + Math.floor(rng.nextFloat() * 5) },
      () => words[Math.floor(rng.nextFloat() * 7)],
    );
    return JSON.stringify({ text: text.join(' '), label: text.includes('hello') ? 'greeting' : 'other' });
  }).join('\n');
}

/** A training job on the tiny BERT (`base: tiny-bert`) over greetingsJsonl's train and eval files. */
export const tinyBertJob = (method: string, maxSteps = 40): TrainJob => ({
  train: 'train.jsonl',
  eval: 'eval.jsonl',
  base: 'tiny-bert',
  hidden: [],
  method,
  config: {
    batchSize: 16,
    maxSteps,
    lr: 1e-2,
    optimizer: { kind: 'adamw', weightDecay: 0 },
    loss: { kind: 'cross-entropy' },
    seed: 3,
    evalEvery: maxSteps,
  },
});
