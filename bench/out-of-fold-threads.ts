// The mislabel check's quick models on one intra-op thread against two: out-of-fold probabilities (5 folds, the
// quick fastText and MLP of engine/train/out-of-fold.ts) of generated mail-like texts and of tabular blobs, timed in
// alternating rounds (median per side), with a check that both thread counts give the same bytes.
//
//   node --import tsx bench/out-of-fold-threads.ts [--rows 2000] [--words 150] [--rounds 3]
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Rng } from '../engine/data/index.ts';
import { outOfFoldProbabilities, type OutOfFoldData } from '../engine/train/out-of-fold.ts';
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
function mail(): OutOfFoldData {
  const words = 'the of and to a in is you that it for on are with as this be at have from or by not your we an'
    .split(' ')
    .concat('offer free account money click meeting report patch server build release thanks please'.split(' '));
  const rng = Rng.fromSeed(7);
  const texts = Array.from({ length: rows }, () =>
    Array.from({ length: minWords + rng.nextInt(2 * minWords) }, () => words[rng.nextInt(words.length)]).join(' '),
  );
  const labels = Int32Array.from(texts, () => (rng.nextFloat() < 0.3 ? 1 : 0));
  return { kind: 'text', data: { texts, labels, labelNames: ['ham', 'spam'] } };
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

for (const [name, input] of [
  [`text (${rows} texts of ${minWords}-${3 * minWords} words)`, mail()],
  [`features (${rows} rows)`, tabular()],
] as const) {
  const seconds: Record<number, number[]> = { 1: [], 2: [] };
  const digests: Record<number, Set<string>> = { 1: new Set(), 2: new Set() };
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const threads of [2, 1]) {
      const start = performance.now();
      const probs = await outOfFoldProbabilities(input, { folds: 5, seed: 1, threads });
      seconds[threads].push((performance.now() - start) / 1000);
      digests[threads].add(createHash('sha256').update(probs).digest('hex'));
    }
  }
  const same = digests[1].size === 1 && digests[2].size === 1 && [...digests[1]][0] === [...digests[2]][0];
  console.log(
    `${name}: 2 threads ${median(seconds[2]).toFixed(2)} s, 1 thread ${median(seconds[1]).toFixed(2)} s ` +
      `(x${(median(seconds[1]) / median(seconds[2])).toFixed(2)}); ` +
      `${same ? 'the same probabilities every run on both' : 'PROBABILITIES DIFFER'}`,
  );
}
