import { parseFeatureRowsJsonl, parseSlicesJsonl, parseTabularJsonl } from '../engine/data/index.ts';
import { compareModels } from '../engine/metrics/compare.ts';
import { measureLatencies, type FeedsFor, type LatencyReport, type Measured } from '../engine/metrics/latency.ts';
import { perturbFeatures, perturbTexts } from '../engine/metrics/robustness.ts';
import { importClassifier, type Classifier } from '../engine/models/base.ts';
import { withSession } from '../engine/runtime/index.ts';
import { encodeDataset, parseTextJsonl, parseTextsJsonl } from '../engine/text/dataset.ts';
import { textEncoder } from '../engine/text/encode.ts';
import { batchOf, type Examples } from '../engine/train/examples.ts';
import { checkWidth } from '../engine/train/inputs.ts';
import { oodAurocOfSession, type UnlabelledRows } from '../engine/train/ood.ts';
import { scoreAndPredict } from '../engine/train/score.ts';
import { Registry } from '../core/registry/registry.ts';
import { driftFromProduction } from './drift.ts';
import { failOnInvalidInput } from './invalid-input.ts';
import { parseObjectKey, type ObjectStore } from '../core/object-store.ts';
import type { EvaluateInput, EvaluateResult, Evaluation } from '../core/jobs/stages.ts';

// The evaluate stage: the candidate and the model's current production version, scored on the same eval file
// with the same code, so the gate compares like with like: in aggregate, on seeded perturbed copies of the rows,
// and row by row (churn, bootstrap intervals, McNemar, slices). A text model reads the file's raw texts through the
// encoding saved in its own metadata (tokeniser or n-gram hashing), so candidate and production may differ in it.
// With production comes the drift of the candidate's training data from production's (activities/drift.ts).

/** Batch-1 latency is read from this many timed runs (after warm-up): enough for a stable p95 on a small model. */
const LATENCY_RUNS = 50;

export function createEvaluate(store: ObjectStore) {
  const registry = new Registry(store);
  return async function evaluate(input: EvaluateInput): Promise<EvaluateResult> {
    const text = async (key: string) => Buffer.from((await store.get(parseObjectKey(key))).bytes).toString('utf8');
    const evalText = await text(input.evalKey);
    const oodText = input.oodKey === undefined ? undefined : await text(input.oodKey);
    // A model that does not take the eval or OOD file's kind of input fails the job at once (failOnInvalidInput).
    const score = (bytes: Uint8Array, model: string) =>
      evaluateModel(bytes, evalText, oodText).catch((error: unknown) => failOnInvalidInput(error, model));
    const candidate = await score((await store.get(parseObjectKey(input.candidateKey))).bytes, 'the candidate');
    const alone = async () => {
      const [latency] = await latenciesOf([candidate]);
      return { candidate: { ...candidate.evaluation, latency } };
    };
    const production = await registry.getAlias(input.model, 'production');
    if (!production) return alone();
    const { record, keys } = await registry.getVersion(input.model, production.version);
    // An imported base model in production (the first fine-tune of it) outputs embeddings, not labels: there is no
    // production classifier to compare against yet.
    if (record.imported) return alone();
    const scored = await score((await store.get(keys['model.onnx'])).bytes, `production version ${production.version}`);
    // Measured together, so that neither pays the other's warm-up (engine/metrics/latency.ts).
    const [candidateLatency, productionLatency] = await latenciesOf([candidate, scored]);
    const drift = input.trainKey === undefined ? undefined : await driftFromProduction(store, record, input.trainKey);
    return {
      candidate: { ...candidate.evaluation, latency: candidateLatency },
      production: { version: production.version, evaluation: { ...scored.evaluation, latency: productionLatency } },
      comparison: compareModels({
        labels: candidate.labels,
        candidate: candidate.predicted,
        production: inLabelMap(scored, candidate.labelNames),
        labelNames: candidate.labelNames,
        slices: slicesOf(evalText),
      }),
      ...(drift ? { drift } : {}),
    };
  };
}

/**
 * A model's evaluation but its latency, the class it predicted for each eval row (indices into its own
 * `labelNames`), and what its latency is measured from: the model and its first eval rows as its inputs.
 */
type Scored = {
  evaluation: Omit<Evaluation, 'latency'>;
  labels: Int32Array;
  predicted: Int32Array;
  labelNames: readonly string[];
  model: Classifier['model'];
  feedsFor: FeedsFor;
};

/**
 * The models' latencies, measured together, each on a session of its own with one intra-op thread: with two, a
 * session's second thread ran where the machine let it, and under load two copies of one model measured 0.69-1.37x
 * apart at batch 32 (their medians over 1,000 interleaved runs); with one, within 1 %.
 */
async function latenciesOf(models: Scored[], open: Scored[] = [], sessions: Measured[] = []): Promise<LatencyReport[]> {
  if (open.length === models.length) return measureLatencies(sessions, { runs: LATENCY_RUNS });
  const next = models[open.length];
  return withSession(next.model, { ep: 'cpu', threads: 1 }, (session) =>
    latenciesOf(models, [...open, next], [...sessions, { session, feedsFor: next.feedsFor }]),
  );
}

async function evaluateModel(bytes: Uint8Array, evalText: string, oodText?: string): Promise<Scored> {
  const classifier = importClassifier(bytes, 'model.onnx');
  const { data, perturbed } = evalSetsOf(classifier, evalText);
  const ood = oodText === undefined ? undefined : oodRowsOf(classifier, oodText);
  return withSession(classifier.model, { ep: 'cpu' }, async (session) => {
    const { scores: metrics, predicted } = await scoreAndPredict(session, data);
    if (ood) metrics.ood_auroc = await oodAurocOfSession(session, data, ood);
    const robustness: Record<string, number> = {};
    for (const [name, inputs] of Object.entries(perturbed)) {
      robustness[name] = (await scoreAndPredict(session, inputs())).scores.accuracy;
    }
    return {
      evaluation: { metrics, robustness },
      labels: data.labels,
      predicted,
      labelNames: data.labelNames,
      model: classifier.model,
      feedsFor: (batch: number) => batchOf(data, firstRows(data.rows, batch)).inputs,
    };
  });
}

/**
 * A model's predictions as indices into another label map: candidate and production may order their labels
 * differently. A class the other map lacks becomes -1, which matches no label (a wrong prediction).
 */
function inLabelMap({ predicted, labelNames }: Scored, into: readonly string[]): Int32Array {
  const indexOf = new Map(into.map((name, i) => [name, i]));
  return Int32Array.from(predicted, (k) => indexOf.get(labelNames[k]) ?? -1);
}

/**
 * The eval file as the model's inputs (feature rows, or texts encoded the way the model was trained), and its
 * perturbation suite (engine/metrics/robustness.ts) as the same kind of inputs, by name, made when asked for. The
 * suite's seed is fixed, so candidate and production are scored on the same perturbed rows.
 */
function evalSetsOf(
  classifier: Classifier,
  evalText: string,
): { data: Examples; perturbed: Record<string, () => Examples> } {
  const options = { labelNames: classifier.labelNames, source: 'eval' };
  if (classifier.text) {
    const encoder = textEncoder(classifier.text);
    const texts = parseTextJsonl(evalText, options);
    const suite = Object.entries(perturbTexts(texts.texts));
    return {
      data: encodeDataset(texts, encoder),
      perturbed: Object.fromEntries(
        suite.map(([name, changed]) => [name, () => encodeDataset({ ...texts, texts: changed }, encoder)]),
      ),
    };
  }
  const rows = parseTabularJsonl(evalText, options);
  checkWidth(rows, classifier.inputs, 'eval');
  const suite = Object.entries(perturbFeatures(rows));
  return {
    data: rows,
    perturbed: Object.fromEntries(suite.map(([name, features]) => [name, () => ({ ...rows, features })])),
  };
}

/**
 * The OOD file as the model's inputs, like the eval file (`examplesOf`): `{"features"}` rows for a tabular model,
 * `{"text"}` records encoded through the model's own encoding for a text model. Labels, if any, are ignored.
 */
function oodRowsOf(classifier: Classifier, oodText: string): UnlabelledRows {
  if (!classifier.text) return parseFeatureRowsJsonl(oodText, { source: 'ood' });
  const texts = parseTextsJsonl(oodText, { source: 'ood' });
  return { rows: texts.length, inputs: textEncoder(classifier.text).encode(texts) };
}

/** The eval rows' declared slices, or none when no row declares one. */
function slicesOf(evalText: string): (string | null)[] | undefined {
  let slices: (string | null)[] = [];
  try {
    slices = parseSlicesJsonl(evalText, { source: 'eval' });
  } catch (error) {
    failOnInvalidInput(error);
  }
  return slices.some((s) => s !== null) ? slices : undefined;
}

/** Row indices 0, 1, … for a batch of `batch` (repeating the rows when there are fewer). */
const firstRows = (rows: number, batch: number) => Int32Array.from({ length: batch }, (_, i) => i % rows);
