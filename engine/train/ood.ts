// Out-of-distribution detection by maximum softmax probability (Hendrycks & Gimpel, 2017): a classifier session run
// over its in-distribution eval rows and over rows it should not recognise, scored by how well its top-class
// confidence tells the two apart.
import * as ort from 'onnxruntime-node';
import type { EngineSession } from '../runtime/index.ts';
import type { FeatureRows } from '../data/index.ts';
import { InvalidInput } from '../invalid-input.ts';
import { oodAuroc, softmax } from '../metrics/index.ts';
import { FEATURES } from '../models/layout.ts';
import { batchOf, inputsAt, type Examples, type InputDataset } from './examples.ts';
import { sessionLogits } from './score.ts';

/** Rows without labels, of the kind the model takes: feature rows, or named inputs (a text model's encoded texts). */
export type UnlabelledRows = FeatureRows | Pick<InputDataset, 'rows' | 'inputs'>;

/** AUROC of the max softmax probability, `inDist` rows positive, `ood` rows negative: 1 separates them, 0.5 is chance. */
export async function oodAurocOfSession(
  session: EngineSession,
  inDist: Examples,
  ood: UnlabelledRows,
): Promise<number> {
  const kind = (rows: Examples | UnlabelledRows) => ('inputs' in rows ? 'named inputs (text)' : 'features');
  if (kind(ood) !== kind(inDist)) {
    throw new InvalidInput(`the OOD rows are ${kind(ood)}; the model takes ${kind(inDist)}`);
  }
  if (!('inputs' in ood) && !('inputs' in inDist) && ood.width !== inDist.width) {
    throw new InvalidInput(`the OOD rows have ${ood.width} features; the model takes ${inDist.width}`);
  }
  const classes = inDist.labelNames.length;
  const inLogits = await sessionLogits(session, inDist, classes, (ix) => batchOf(inDist, ix).inputs);
  const oodLogits = await sessionLogits(session, ood, classes, (ix) =>
    'inputs' in ood
      ? inputsAt(ood.inputs, ix)
      : { [FEATURES]: new ort.Tensor('float32', rowsAt(ood, ix), [ix.length, ood.width]) },
  );
  return oodAuroc(softmax(inLogits, classes), softmax(oodLogits, classes), classes);
}

/** The features of rows `indices`, in that order, as one row-major block. */
function rowsAt(rows: FeatureRows, indices: Int32Array): Float32Array {
  const out = new Float32Array(indices.length * rows.width);
  indices.forEach((r, i) => out.set(rows.features.subarray(r * rows.width, (r + 1) * rows.width), i * rows.width));
  return out;
}
