// The artefact of a training run: a plain inference model (`features` → `logits`, weights as initializers, no
// training nodes) that any ONNX consumer runs, carrying its label map and lineage in metadata_props.
import { createHash } from 'node:crypto';
import pkg from '../../package.json' with { type: 'json' };
import { encodeModel, type Model, type ValueInfo } from '../ir/index.ts';
import { TEXT_KEY, textInputNames, type TextEncoding } from '../text/encode.ts';
import { FEATURES, LABELS_KEY, LINEAGE_KEY, LOGITS } from '../models/layout.ts';

export const ENGINE_VERSION: string = pkg.version;

export interface Lineage {
  /** sha256 of the base model file; absent for a model trained from scratch. */
  base_model_sha256?: string;
  /** sha256 of each data file, by role (train, eval). */
  data_sha256: Record<string, string>;
  hyperparameters: Record<string, unknown>;
  seed: number;
  method: string;
  engine_version: string;
}

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Encodes the trained classifier for inference. Deterministic: the same weights and lineage give the same bytes. */
export function exportInference(model: Model, labelNames: string[], lineage: Lineage, text?: TextEncoding): Uint8Array {
  const { graph } = model;
  // A text model takes its encoding's inputs, and carries the encoding so that it takes raw text.
  const names = text ? textInputNames(text) : [FEATURES];
  const inputs = names.map((name) => graph.inputs.find((v) => v.name === name));
  const output = graph.outputs.find((v) => v.name === LOGITS);
  if (inputs.some((v) => !v) || !output || graph.outputs.length !== 1) {
    throw new Error(`export: the model must map '${names.join("', '")}' to a single output '${LOGITS}'`);
  }
  if (output.shape[1] !== labelNames.length) {
    throw new Error(`export: ${labelNames.length} labels for a model with ${String(output.shape[1])} outputs`);
  }
  // Weights that are initializers but still listed as inputs would be overridable at run time; inference has only
  // the data inputs.
  const inference: Model = {
    ...model,
    producer: 'ratchet',
    graph: { ...graph, inputs: inputs as ValueInfo[] },
    metadata: {
      ...model.metadata,
      [LABELS_KEY]: JSON.stringify(labelNames),
      [LINEAGE_KEY]: JSON.stringify(lineage),
      ...(text ? { [TEXT_KEY]: JSON.stringify(text) } : {}),
    },
  };
  return encodeModel(inference);
}
