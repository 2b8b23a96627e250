// A pretrained BERT as a base model to fine-tune: one ONNX file, as `ratchet train --base` reads it from an HF
// directory or wheel and as the registry holds it once imported. It maps `input_ids` and `attention_mask` to the
// pooled `embeddings` (without the Normalize module, if the model has one: the classifier reads the pooled output)
// and carries in its metadata its tokenizer (so it reads raw text), that its Dropout nodes drop while training, and
// where it came from (sha256s, licence). Fine-tuning puts a fresh classifier on the embedding (models/base.ts).
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { encodeModel, type Model } from '../ir/index.ts';
import { InvalidInput } from '../invalid-input.ts';
import { INPUT_IDS, TEXT_KEY, type HfTokenizerEncoding } from '../text/encode.ts';
import { decodeModelBytes, readClassifierFile, type ModelBytes } from './base.ts';
import { buildBertEmbedder } from './bert.ts';
import { DROPOUT_MODE_KEY, PRETRAINED_KEY } from './layout.ts';
import { needsTokenizer, onnxBaseBytes } from './onnx-base.ts';
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
 * A base model's bytes from a file: an ONNX classifier as it is, a pretrained BERT (HF directory or wheel) as its
 * base model's ONNX bytes, the same bytes for the same files and `maxLength`, or a text encoder torch.onnx.export
 * wrote (models/onnx-base.ts) with the tokenizer of `tokenizer`, else of the tokenizer.json beside it.
 */
export function readBaseFile(path: string, maxLength?: number, tokenizer?: string): ModelBytes {
  if (isPretrainedPath(path)) {
    if (tokenizer !== undefined) throw new InvalidInput(`--tokenizer applies to an ONNX text encoder, not ${path}`);
    return encodeModel(pretrainedBase(loadPretrained(path), { maxLength }));
  }
  const file = readClassifierFile(path);
  const model = decodeModelBytes(file, path);
  if (needsTokenizer(model)) {
    const beside = join(dirname(path), 'tokenizer.json');
    const tokenizerFile = tokenizer ?? (existsSync(beside) ? beside : undefined);
    if (tokenizerFile === undefined) {
      throw new InvalidInput(
        `${path} takes ${INPUT_IDS} but carries no tokenizer: give --tokenizer tokenizer.json (or put one beside it)`,
      );
    }
    return onnxBaseBytes(model, path, tokenizerFile, maxLength);
  }
  for (const [flag, value] of Object.entries({ '--max-length': maxLength, '--tokenizer': tokenizer })) {
    if (value !== undefined) {
      throw new InvalidInput(
        `${flag} applies to a pretrained base (an HF directory or wheel) or an ONNX text encoder without a tokenizer, not ${path}`,
      );
    }
  }
  return file;
}
