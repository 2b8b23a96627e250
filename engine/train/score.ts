import * as ort from 'onnxruntime-node';
import { batches } from '../data/index.ts';
import { evaluate, type EvaluationMetrics } from '../metrics/index.ts';
import { LOGITS } from '../models/layout.ts';
import { batchOf, type Examples } from './examples.ts';

export type Scores = EvaluationMetrics & { loss: number };

/**
 * Runs an inference session over `data` and scores its logits. `loss` is the mean cross-entropy (the NLL), the
 * figure training minimises, so train and eval report the same quantity.
 */
export async function scoreSession(session: ort.InferenceSession, data: Examples): Promise<Scores> {
  const classes = data.labelNames.length;
  const logits = new Float32Array(data.rows * classes);
  const all = Int32Array.from({ length: data.rows }, (_, i) => i);
  for (const indices of batches(all, 1024)) {
    const out = await session.run(batchOf(data, indices).inputs);
    logits.set(out[LOGITS].data as Float32Array, indices[0] * classes);
  }
  const metrics = evaluate(logits, data.labels, data.labelNames);
  return { loss: metrics.nll, ...metrics };
}
