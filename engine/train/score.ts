import * as ort from 'onnxruntime-node';
import type { EngineSession } from '../runtime/index.ts';
import { batches } from '../data/index.ts';
import { argmaxRows, evaluate, type EvaluationMetrics } from '../metrics/index.ts';
import { LOGITS } from '../models/layout.ts';
import { batchOf, inferenceRows, type Examples } from './examples.ts';

export type Scores = EvaluationMetrics & { loss: number };

/**
 * Runs an inference session over `data` and scores its logits. `loss` is the mean cross-entropy (the NLL), the
 * figure training minimises, so train and eval report the same quantity.
 */
export async function scoreSession(session: EngineSession, data: Examples): Promise<Scores> {
  return (await scoreAndPredict(session, data)).scores;
}

/** `scoreSession`'s scores and the predicted class of each row, for comparing two models row by row. */
export async function scoreAndPredict(
  session: EngineSession,
  data: Examples,
): Promise<{ scores: Scores; predicted: Int32Array }> {
  const classes = data.labelNames.length;
  const logits = await sessionLogits(session, data, classes, (ix) => batchOf(data, ix).inputs);
  const metrics = evaluate(logits, data.labels, data.labelNames);
  return { scores: { loss: metrics.nll, ...metrics }, predicted: argmaxRows(logits, classes) };
}

/**
 * The session's logits (rows × classes, row-major) over the rows of `data`, fed `inputsOf(indices)` a batch at a
 * time, of as many rows as `inferenceRows` allows; each batch in runs of at most `runRows` of its rows, which see
 * the batch's own tensors (the same width) and so give the same logits as one run over it.
 */
export async function sessionLogits(
  session: EngineSession,
  data: { rows: number },
  classes: number,
  inputsOf: (indices: Int32Array) => Record<string, ort.Tensor>,
  runRows = Infinity,
): Promise<Float32Array> {
  const logits = new Float32Array(data.rows * classes);
  const all = Int32Array.from({ length: data.rows }, (_, i) => i);
  for (const indices of batches(all, inferenceRows(data))) {
    const inputs = inputsOf(indices);
    for (let start = 0; start < indices.length; start += runRows) {
      const end = Math.min(indices.length, start + runRows);
      const out = await session.run(end - start === indices.length ? inputs : rowsOf(inputs, start, end));
      logits.set(out[LOGITS].data as Float32Array, (indices[0] + start) * classes);
    }
  }
  return logits;
}

/** Rows [start, end) of tensors whose first axis is the row, as views (no copy). */
function rowsOf(inputs: Record<string, ort.Tensor>, start: number, end: number): Record<string, ort.Tensor> {
  const rows: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(inputs)) {
    const perRow = t.dims.slice(1).reduce((n, d) => n * d, 1);
    const data = (t.data as Float32Array).subarray(start * perRow, end * perRow);
    rows[name] = new ort.Tensor(t.type as 'float32', data, [end - start, ...t.dims.slice(1)]);
  }
  return rows;
}
