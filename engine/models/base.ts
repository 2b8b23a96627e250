// Fine-tuning starts from a classifier ONNX file, e.g. one torch.onnx.export wrote. It is brought to the engine's
// layout (input `features`, output `logits`) and its head is kept or replaced to fit the training labels.
import { Rng } from '../data/index.ts';
import { GraphBuilder, decodeModel, type ExternalDataReader, type Model } from '../ir/index.ts';
import { loadModel, readModelFile } from '../onnx/load.ts';
import { cloneGraph, renameValue } from './graph-edit.ts';
import { EMBEDDINGS } from './bert.ts';
import { FEATURES, LABELS_KEY, LOGITS } from './layout.ts';
import type { Method } from './methods.ts';
import { linearInit } from './init.ts';
import { findHead } from './params.ts';
import { textEncodingOf, textInputNames, type TextEncoding } from '../text/encode.ts';
import { InvalidInput } from '../invalid-input.ts';

export interface Classifier {
  model: Model;
  inputs: number;
  classes: number;
  /** The label of each output, when the model records them (models Ratchet exported do). */
  labelNames?: string[];
  /** How raw text becomes the inputs, for a text classifier. */
  text?: TextEncoding;
  /** A pretrained text encoder without a head (output `embeddings`, models/bert-base.ts); `classes` is 0. */
  headless?: boolean;
}

/** A model's ONNX bytes, with a reader for the tensors it keeps in other files (as torch.onnx.export may write it). */
export type ModelBytes = Uint8Array | { bytes: Uint8Array; externalData?: ExternalDataReader };

export const modelBytesOf = (model: ModelBytes): Uint8Array => (model instanceof Uint8Array ? model : model.bytes);

function readable<T>(source: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`model file not found: ${source}`);
    const problem = `${source} is not a readable ONNX model (${(e as Error).message})`;
    // An errno is the file system's trouble, worth a retry; anything else is in the bytes themselves.
    throw code === undefined ? new InvalidInput(problem) : new Error(problem);
  }
}

/** Decodes a model's ONNX bytes; `source` (a path, an object key) is what errors call it. */
export function decodeModelBytes(bytes: ModelBytes, source: string): Model {
  const options = bytes instanceof Uint8Array ? {} : bytes;
  return readable(source, () => decodeModel(modelBytesOf(bytes), options));
}

/** Decodes ONNX bytes holding a classifier; `source` (a path, an object key) is what errors call it. See `classifier`. */
export function importClassifier(bytes: ModelBytes, source: string): Classifier {
  return classifier(decodeModelBytes(bytes, source), source);
}

/** A classifier file's bytes with the external data beside it, for `importClassifier`; errors as `loadClassifier`'s. */
export function readClassifierFile(path: string): ModelBytes {
  return readable(path, () => readModelFile(path));
}

/** Loads a classifier file, with any external tensor data beside it (as torch.onnx.export may write it). */
export function loadClassifier(path: string): Classifier {
  return classifier(
    readable(path, () => loadModel(path)),
    path,
  );
}

/**
 * A classifier with one float input [batch, d] and one output [batch, C], renamed to the engine's layout; or a text
 * classifier (its metadata holds a text encoding) whose inputs are the encoding's, by name.
 */
function classifier(decoded: Model, source: string): Classifier {
  const graph = cloneGraph(decoded.graph);
  const inputs = graph.inputs.filter((v) => !graph.initializers.has(v.name));
  const text = textEncodingOf(decoded.metadata, source);
  if (graph.outputs.length !== 1 || (!text && inputs.length !== 1)) {
    throw new InvalidInput(
      `${source}: a classifier needs one input and one output, found ${inputs.length} and ${graph.outputs.length}`,
    );
  }
  const [input] = inputs;
  const width = input.shape[1];
  if (text && graph.outputs[0].name === EMBEDDINGS)
    return { model: { ...decoded, graph }, inputs: 0, classes: 0, text, headless: true };
  if (text) {
    const expected = textInputNames(text);
    if (inputs.map((v) => v.name).join() !== expected.join()) {
      throw new InvalidInput(
        `${source}: a ${text.kind} text model takes inputs ${expected.join(', ')}, found ${inputs.map((v) => v.name).join(', ')}`,
      );
    }
  } else if (input.dtype !== 'float32' || input.shape.length !== 2 || typeof width !== 'number') {
    throw new InvalidInput(
      `${source}: input '${input.name}' must be float32 [batch, features], got ${input.dtype} [${input.shape}]`,
    );
  } else {
    renameValue(graph, input.name, FEATURES);
    graph.inputs = [input, ...graph.inputs.filter((v) => v !== input)];
  }
  renameValue(graph, graph.outputs[0].name, LOGITS);
  const head = (() => {
    try {
      return findHead(graph);
    } catch (e) {
      throw new InvalidInput(`${source}: ${(e as Error).message}`);
    }
  })();
  const w = graph.initializers.get(head.weight)!;
  const classes = head.transposed ? w.dims[0] : w.dims[1];
  graph.outputs[0].shape = [input.shape[0], classes];
  const model: Model = { ...decoded, graph };
  const labels = decoded.metadata[LABELS_KEY];
  return {
    model,
    inputs: width as number,
    classes,
    labelNames: labels === undefined ? undefined : parseLabels(labels, source),
    ...(text ? { text } : {}),
  };
}

function parseLabels(text: string, source: string): string[] {
  let labels: unknown;
  try {
    labels = JSON.parse(text);
  } catch {
    labels = undefined;
  }
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) {
    throw new InvalidInput(
      `${source}: metadata '${LABELS_KEY}' must be a JSON array of strings, got ${text.slice(0, 80)}`,
    );
  }
  return labels;
}

/** `model` with its head replaced by a freshly initialised one for `classes` outputs (same layout). */
export function withFreshHead(model: Model, classes: number, seed: number): Model {
  const graph = cloneGraph(model.graph);
  const head = findHead(graph);
  const old = graph.initializers.get(head.weight)!;
  const hidden = head.transposed ? old.dims[1] : old.dims[0];
  const { weight, bias } = linearInit(Rng.fromSeed(seed), hidden, classes, head.transposed ? 'out-in' : 'in-out');
  graph.initializers.set(head.weight, weight);
  if (head.bias) graph.initializers.set(head.bias, bias);
  graph.outputs[0].shape = [graph.outputs[0].shape[0], classes];
  return { ...model, graph };
}

/** A headless encoder (`embeddings` [batch, d]) with a freshly initialised linear classifier on its embedding. */
export function withClassifierHead(encoder: Model, classes: number, seed: number): Model {
  const graph = cloneGraph(encoder.graph);
  const width = graph.outputs[0].shape[1] as number;
  const { weight, bias } = linearInit(Rng.fromSeed(seed), width, classes);
  const b = new GraphBuilder(graph);
  const product = b.op('MatMul', [EMBEDDINGS, b.initializer('classifier.weight', weight)]);
  b.op('Add', [product, b.initializer('classifier.bias', bias)], {}, LOGITS);
  graph.outputs = [{ name: LOGITS, dtype: 'float32', shape: [graph.outputs[0].shape[0], classes] }];
  return { ...encoder, graph };
}

/**
 * The label map training uses and the model to start from, and whether its head is new. A headless encoder gets a
 * fresh head. A base model's head is kept when it knows every training label; `head` gets a fresh head for a new
 * label set; any other method cannot, since it would keep training outputs that mean other labels. A base without
 * a label map is taken to score the data's labels in sorted order when their counts match.
 */
export function fitLabels(
  base: Classifier,
  dataLabels: string[],
  method: Method,
  seed: number,
): { model: Model; labelNames: string[]; freshHead?: boolean } {
  if (base.headless) {
    return { model: withClassifierHead(base.model, dataLabels.length, seed), labelNames: dataLabels, freshHead: true };
  }
  const known = base.labelNames;
  const fits = known ? dataLabels.every((l) => known.includes(l)) : dataLabels.length === base.classes;
  if (fits) return { model: base.model, labelNames: known ?? dataLabels };
  if (method.kind === 'head')
    return { model: withFreshHead(base.model, dataLabels.length, seed), labelNames: dataLabels, freshHead: true };
  if (known) {
    const unknown = dataLabels.filter((l) => !known.includes(l));
    throw new InvalidInput(
      `label ${unknown.map((l) => JSON.stringify(l)).join(', ')} is unknown to the base model's head ` +
        `(${known.map((l) => JSON.stringify(l)).join(', ')}); use --method head to train a new head`,
    );
  }
  throw new InvalidInput(
    `the base model has ${base.classes} outputs and no label map, the data has ${dataLabels.length} labels; ` +
      `use --method head to train a new head`,
  );
}
