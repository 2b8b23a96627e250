import { parseFeatureRowsJsonl, parseTabularJsonl, type FeatureRows } from '../engine/data/index.ts';
import { measureLatency, type LatencyReport } from '../engine/metrics/latency.ts';
import { importClassifier, type Classifier } from '../engine/models/base.ts';
import type { EvaluationMetrics } from '../engine/metrics/evaluate.ts';
import { withSession } from '../engine/runtime/index.ts';
import { encodeDataset, parseTextJsonl } from '../engine/text/dataset.ts';
import { textEncoder } from '../engine/text/encode.ts';
import { batchOf, type Examples } from '../engine/train/examples.ts';
import { oodAurocOfSession } from '../engine/train/ood.ts';
import { scoreSession } from '../engine/train/score.ts';
import { Registry } from './registry/registry.ts';
import { parseObjectKey, type ObjectStore } from './object-store.ts';

// The evaluate stage: the candidate and the model's current production version, scored on the same eval file
// with the same code, so the gate compares like with like. A text model reads the file's raw texts through the
// encoding saved in its own metadata (tokeniser or n-gram hashing), so candidate and production may differ in it.

export type Evaluation = { metrics: EvaluationMetrics; latency: LatencyReport };

export type EvaluateInput = {
  model: string;
  candidateKey: string;
  evalKey: string;
  /** Rows unlike the training data (labels ignored): each model's `metrics.ood_auroc` is measured against them. */
  oodKey?: string;
};

export type EvaluateResult = {
  candidate: Evaluation;
  /** Absent while the model has no production version. */
  production?: { version: number; evaluation: Evaluation };
};

/** Batch-1 latency is read from this many timed runs (after warm-up): enough for a stable p95 on a small model. */
const LATENCY_RUNS = 50;

export function createEvaluate(store: ObjectStore) {
  const registry = new Registry(store);
  return async function evaluate(input: EvaluateInput): Promise<EvaluateResult> {
    const evalText = Buffer.from((await store.get(parseObjectKey(input.evalKey))).bytes).toString('utf8');
    const ood = input.oodKey === undefined ? undefined : await oodRows(store, input.oodKey);
    const candidate = await evaluateModel((await store.get(parseObjectKey(input.candidateKey))).bytes, evalText, ood);
    const production = await registry.getAlias(input.model, 'production');
    if (!production) return { candidate };
    const { keys } = await registry.getVersion(input.model, production.version);
    const evaluation = await evaluateModel((await store.get(keys['model.onnx'])).bytes, evalText, ood);
    return { candidate, production: { version: production.version, evaluation } };
  };
}

async function evaluateModel(bytes: Uint8Array, evalText: string, ood?: FeatureRows): Promise<Evaluation> {
  const classifier = importClassifier(bytes, 'model.onnx');
  const data = examplesOf(classifier, evalText);
  return withSession(classifier.model, { ep: 'cpu' }, async (session) => {
    const metrics = await scoreSession(session, data);
    if (ood) metrics.ood_auroc = await oodAurocOfSession(session, data, ood);
    const latency = await measureLatency(session, (batch) => batchOf(data, firstRows(data.rows, batch)).inputs, {
      runs: LATENCY_RUNS,
    });
    return { metrics, latency };
  });
}

/** The eval file as the model's inputs: feature rows, or texts encoded the way the model was trained. */
function examplesOf(classifier: Classifier, evalText: string): Examples {
  const options = { labelNames: classifier.labelNames, source: 'eval' };
  if (!classifier.text) return parseTabularJsonl(evalText, options);
  return encodeDataset(parseTextJsonl(evalText, options), textEncoder(classifier.text));
}

/** The OOD file's features; its labels, if any, are ignored (validation has checked its records' shape). */
async function oodRows(store: ObjectStore, key: string): Promise<FeatureRows> {
  const text = Buffer.from((await store.get(parseObjectKey(key))).bytes).toString('utf8');
  return parseFeatureRowsJsonl(text, { source: 'ood' });
}

/** Row indices 0, 1, … for a batch of `batch` (repeating the rows when there are fewer). */
const firstRows = (rows: number, batch: number) => Int32Array.from({ length: batch }, (_, i) => i % rows);
