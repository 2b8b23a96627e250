// The mislabel check's quick models (engine/train/out-of-fold.ts), out-of-fold probabilities over 5 folds, timed in
// alternating rounds (median per side):
// - text: the quick fastText trained on the host (quick-fasttext.ts) against the same folds trained through ONNX
//   Runtime by the engine's trainer, as the check did before; prints the speed ratio and how far the two sides'
//   probabilities are apart;
// - features: the quick MLP on one intra-op thread against two, with a check that both give the same bytes.
//
//   node --import tsx bench/quick-models.ts [--rows 2000] [--words 150] [--rounds 3]
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Rng } from '../engine/data/index.ts';
import { softmax } from '../engine/metrics/softmax.ts';
import { newTextModel } from '../engine/models/text.ts';
import { encodeDataset, type TextDataset } from '../engine/text/dataset.ts';
import { textEncoder } from '../engine/text/encode.ts';
import { subsetOf } from '../engine/train/examples.ts';
import {
  QUICK_FASTTEXT,
  QUICK_FASTTEXT_TRAINING,
  outOfFoldProbabilities,
  stratifiedFolds,
  type OutOfFoldData,
} from '../engine/train/out-of-fold.ts';
import { trainedLogits } from '../engine/train/quick-mlp.ts';
import { blobs } from './mislabels-data.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '2000' },
    words: { type: 'string', default: '150' },
    rounds: { type: 'string', default: '3' },
  },
});
const rows = Number(values.rows);
const minWords = Number(values.words);

/** Texts of minWords to 3 × minWords words from the vocabulary of bench/validate-rss.ts, labels at random. */
function mail(): TextDataset {
  const words = 'the of and to a in is you that it for on are with as this be at have from or by not your we an'
    .split(' ')
    .concat('offer free account money click meeting report patch server build release thanks please'.split(' '));
  const rng = Rng.fromSeed(7);
  const texts = Array.from({ length: rows }, () =>
    Array.from({ length: minWords + rng.nextInt(2 * minWords) }, () => words[rng.nextInt(words.length)]).join(' '),
  );
  const labels = Int32Array.from(texts, () => (rng.nextFloat() < 0.3 ? 1 : 0));
  return { texts, labels, labelNames: ['ham', 'spam'] };
}

function tabular(): OutOfFoldData {
  const records = blobs(rows, 8);
  return {
    kind: 'features',
    data: {
      rows,
      width: records[0].features.length,
      features: Float32Array.from(records.flatMap((r) => r.features)),
      labels: Int32Array.from(records, (r) => Number(r.label.slice(1))),
      labelNames: ['c0', 'c1', 'c2'],
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const FOLDS = 5;
const SEED = 1;

/** The quick fastText's folds trained through ORT, as the check trained them before it trained them on the host. */
async function throughOrt(data: TextDataset): Promise<Float64Array> {
  const classes = data.labelNames.length;
  const { encoding } = newTextModel(QUICK_FASTTEXT, [], classes, SEED);
  const encoded = encodeDataset(data, textEncoder(encoding));
  const fold = stratifiedFolds(data.labels, FOLDS, SEED);
  const probs = new Float64Array(data.labels.length * classes);
  for (let k = 0; k < FOLDS; k++) {
    const rowsWhere = (held: boolean) => Int32Array.from(fold.keys()).filter((r) => (fold[r] === k) === held);
    const heldRows = rowsWhere(true);
    const model = newTextModel(QUICK_FASTTEXT, [], classes, SEED + k, encoding).model;
    const training = { ...QUICK_FASTTEXT_TRAINING, seed: SEED + k };
    const logits = await trainedLogits(
      model,
      subsetOf(encoded, rowsWhere(false)),
      subsetOf(encoded, heldRows),
      training,
      {},
    );
    const p = softmax(logits, classes);
    heldRows.forEach((row, i) => probs.set(p.subarray(i * classes, (i + 1) * classes), row * classes));
  }
  return probs;
}

const text = mail();
const textSeconds = { host: [] as number[], ort: [] as number[] };
let apart = { probability: 0, rows: 0 };
for (let round = 0; round < Number(values.rounds); round++) {
  let start = performance.now();
  const host = await outOfFoldProbabilities({ kind: 'text', data: text }, { folds: FOLDS, seed: SEED });
  textSeconds.host.push((performance.now() - start) / 1000);
  start = performance.now();
  const ort = await throughOrt(text);
  textSeconds.ort.push((performance.now() - start) / 1000);
  const argmax = (p: Float64Array, r: number) => (p[2 * r + 1] > p[2 * r] ? 1 : 0);
  apart = {
    probability: Math.max(...host.map((x, i) => Math.abs(x - ort[i]))),
    rows: text.labels.filter((_, r) => argmax(host, r) !== argmax(ort, r)).length,
  };
}
console.log(
  `text (${rows} texts of ${minWords}-${3 * minWords} words): on the host ${median(textSeconds.host).toFixed(2)} s, ` +
    `through ORT ${median(textSeconds.ort).toFixed(2)} s ` +
    `(host x${(median(textSeconds.ort) / median(textSeconds.host)).toFixed(2)} as fast); probabilities at most ` +
    `${apart.probability.toExponential(1)} apart, ${apart.rows} rows predicted differently`,
);

const features = tabular();
const seconds: Record<number, number[]> = { 1: [], 2: [] };
const digests: Record<number, Set<string>> = { 1: new Set(), 2: new Set() };
for (let round = 0; round < Number(values.rounds); round++) {
  for (const threads of [2, 1]) {
    const start = performance.now();
    const probs = await outOfFoldProbabilities(features, { folds: FOLDS, seed: SEED, threads });
    seconds[threads].push((performance.now() - start) / 1000);
    digests[threads].add(createHash('sha256').update(probs).digest('hex'));
  }
}
const same = digests[1].size === 1 && digests[2].size === 1 && [...digests[1]][0] === [...digests[2]][0];
console.log(
  `features (${rows} rows): 2 threads ${median(seconds[2]).toFixed(2)} s, 1 thread ${median(seconds[1]).toFixed(2)} s ` +
    `(x${(median(seconds[1]) / median(seconds[2])).toFixed(2)}); ` +
    `${same ? 'the same probabilities every run on both' : 'PROBABILITIES DIFFER'}`,
);
