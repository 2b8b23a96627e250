// A text encoder that torch.onnx.export wrote (a BERT taking input_ids and attention_mask, e.g. a sentence-transformers
// model with its pooling, or a plain BertModel) as a base model to fine-tune, like the one bert-base.ts builds from an
// HF directory: output `embeddings` [batch, d], inputs in the engine's layout (int64 ids, a float32 mask), and the
// tokenizer it was trained with in its metadata, since an export carries none. Hidden states [batch, seq, d] are
// mean-pooled over the tokens the mask keeps, as sentence-transformers pools them.
import { readFileSync } from 'node:fs';
import {
  GraphBuilder,
  encodeModel,
  onnxDataType,
  tensor,
  tensorAttr,
  type DType,
  type Graph,
  type Model,
  type ValueInfo,
} from '../ir/index.ts';
import { InvalidInput } from '../invalid-input.ts';
import { ATTENTION_MASK, INPUT_IDS, TEXT_KEY, textEncodingOf, type HfTokenizerEncoding } from '../text/encode.ts';
import { HfTokenizer, parseTokenizerJson } from '../text/hf-tokenizer.ts';
import { meanPool } from './attention.ts';
import { EMBEDDINGS } from './bert.ts';
import { cloneGraph, renameValue } from './graph-edit.ts';

const TOKEN_TYPE_IDS = 'token_type_ids';
/** Output names a pooled sentence embedding goes by (ours, sentence-transformers'), before any other [batch, d]. */
const POOLED = [EMBEDDINGS, 'sentence_embedding'];
const HIDDEN = 'last_hidden_state';

/** True for a model that takes token ids but carries no tokenizer: a text encoder as torch.onnx.export writes it. */
export function needsTokenizer(model: Model): boolean {
  return (
    textEncodingOf(model.metadata, '') === undefined &&
    model.graph.inputs.some((v) => v.name === INPUT_IDS && !model.graph.initializers.has(v.name))
  );
}

/** A tokenizer.json file, parsed; errors name the file. */
export function readTokenizerFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new InvalidInput(`tokenizer file not found: ${path}`);
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InvalidInput(`${path} is not JSON (${(e as Error).message})`);
  }
}

/**
 * The base model of an exported text encoder (see `needsTokenizer`), its texts encoded by `tokenizer` (tokenizer.json
 * as parsed) and cut at `maxLength` tokens (default: the tokenizer's truncation, else the position embeddings').
 */
export function onnxBase(model: Model, source: string, opts: { tokenizer: unknown; maxLength?: number }): Model {
  const graph = cloneGraph(model.graph);
  const fail = (problem: string) => new InvalidInput(`${source}: ${problem}`);
  const inputs = graph.inputs.filter((v) => !graph.initializers.has(v.name));
  const byName = new Map(inputs.map((v) => [v.name, v]));
  const others = inputs.filter((v) => ![INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS].includes(v.name));
  if (!byName.has(ATTENTION_MASK) || others.length > 0) {
    throw fail(
      `a text encoder takes ${INPUT_IDS}, ${ATTENTION_MASK} and optionally ${TOKEN_TYPE_IDS}, found ${inputs.map((v) => v.name).join(', ')}`,
    );
  }
  for (const v of inputs) {
    if (v.shape.length !== 2 || !v.dtype.startsWith('int'))
      throw fail(`input '${v.name}' must be integer [batch, seq]`);
  }
  const [batch, seq] = byName.get(INPUT_IDS)!.shape;
  const { output, pool } = embeddingOutput(graph, source);
  const width = output.shape.at(-1) as number;

  // The embedding's name is ours: a value that already has it (not the output) gives it up.
  if (output.name !== EMBEDDINGS) renameValue(graph, EMBEDDINGS, `${EMBEDDINGS}.onnx`);
  // The engine feeds int64 ids and a float32 mask: an input the export typed otherwise is renamed and cast to its
  // type from the engine's; token types (one segment) become zeros of the ids' shape.
  const engineTypes: [string, DType][] = [
    [INPUT_IDS, 'int64'],
    [ATTENTION_MASK, 'float32'],
  ];
  const casts = engineTypes.filter(([name, dtype]) => byName.get(name)!.dtype !== dtype);
  for (const [name] of casts) renameValue(graph, name, `${name}.onnx`);
  graph.inputs = [
    ...engineTypes.map(([name, dtype]) => ({ name, dtype, shape: [batch, seq] })),
    ...graph.inputs.filter((v) => graph.initializers.has(v.name)),
  ];
  const b = new GraphBuilder(graph);
  const start = graph.nodes.length;
  for (const [name] of casts) b.op('Cast', [name], { to: onnxDataType(byName.get(name)!.dtype) }, `${name}.onnx`);
  const types = byName.get(TOKEN_TYPE_IDS);
  if (types) {
    const zero = tensorAttr(tensor(types.dtype, [1], [0]));
    b.op('ConstantOfShape', [b.op('Shape', [INPUT_IDS])], { value: zero }, TOKEN_TYPE_IDS);
  }
  // The new nodes read only the inputs: they go first, where the graph's order has them computed in time.
  graph.nodes.unshift(...graph.nodes.splice(start));

  if (output.name !== EMBEDDINGS) {
    const pooled = pool ? meanPool(b, output.name, ATTENTION_MASK, width) : output.name;
    b.op('Identity', [pooled], {}, EMBEDDINGS);
  }
  graph.outputs = [{ name: EMBEDDINGS, dtype: 'float32', shape: [batch, width] }];

  const tokenizer = new HfTokenizer(parseTokenizerJson(opts.tokenizer, `${source}: tokenizer.json`));
  const positions = positionCount(graph);
  const maxLength = opts.maxLength ?? tokenizer.spec.maxLength ?? positions;
  if (maxLength === undefined) throw fail('the tokenizer sets no max length: give --max-length');
  const limit = positions ?? Infinity;
  if (!(Number.isInteger(maxLength) && maxLength >= 2 && maxLength <= limit)) {
    throw new InvalidInput(`max length must be an integer in [2, ${limit}], got ${maxLength}`);
  }
  const text: HfTokenizerEncoding = { kind: 'hf-tokenizer', maxLength, tokenizer: opts.tokenizer };
  return { ...model, graph, metadata: { ...model.metadata, [TEXT_KEY]: JSON.stringify(text) } };
}

/**
 * The output to embed texts with: a pooled embedding [batch, d] (by name first, else the only one), else hidden
 * states [batch, seq, d] (by name first, else the only ones) to pool.
 */
function embeddingOutput(graph: Graph, source: string): { output: ValueInfo; pool: boolean } {
  const floats = graph.outputs.filter((o) => o.dtype === 'float32' && typeof o.shape.at(-1) === 'number');
  const pick = (rank: number, names: string[]) => {
    const ofRank = floats.filter((o) => o.shape.length === rank);
    return ofRank.find((o) => names.includes(o.name)) ?? (ofRank.length === 1 ? ofRank[0] : undefined);
  };
  const pooled = pick(2, POOLED);
  if (pooled) return { output: pooled, pool: false };
  const hidden = pick(3, [HIDDEN]);
  if (hidden) return { output: hidden, pool: true };
  const found = graph.outputs.map((o) => `${o.name} ${o.dtype} [${o.shape}]`).join(', ');
  throw new InvalidInput(
    `${source}: no output to embed texts with: a text encoder outputs a pooled embedding float32 [batch, d] or hidden states [batch, seq, d], found ${found}`,
  );
}

/** The rows of a position-embedding table (an initializer named so), when the graph has one. */
function positionCount(graph: Graph): number | undefined {
  const table = [...graph.initializers].find(([name, t]) => /position_embeddings/.test(name) && t.dims.length === 2);
  return table?.[1].dims[0];
}

/** `model`'s base-model bytes (see `onnxBase`), with the tokenizer from a tokenizer.json file. */
export function onnxBaseBytes(model: Model, source: string, tokenizerFile: string, maxLength?: number): Uint8Array {
  return encodeModel(onnxBase(model, source, { tokenizer: readTokenizerFile(tokenizerFile), maxLength }));
}
