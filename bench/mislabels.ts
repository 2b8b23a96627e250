// Mislabel findings on flipped labels: 5 %, 10 % and 20 % of the training labels of SpamAssassin emails and of a
// tabular task are flipped (seeded) at known rows; validation (policy.mislabels 'drop') flags rows, scored here by
// precision and recall against the flipped rows, and a model trained on all rows is compared, on a clean held-out
// set, with one trained on the rows less the flagged ones (the accuracy regained).
//   npx tsx bench/mislabels.ts            (both tasks)
//   npx tsx bench/mislabels.ts tabular    (one)
import { flagScores } from '../engine/metrics/label-issues.ts';
import { DEFAULT_ARCH } from '../engine/models/text.ts';
import { runTrainJob, type TrainJob } from '../engine/train/job.ts';
import { validateDataset } from '../governance/dataset/validate.ts';
import { blobs, flipLabels, spamSample } from './mislabels-data.ts';

const RATES = [0.05, 0.1, 0.2];
const TRAIN_ROWS = 2000;
const EVAL_ROWS = 600;

type Rec = { label: string } & ({ text: string } | { features: number[] });
const jsonl = (records: readonly Rec[]) => records.map((r) => JSON.stringify(r) + '\n').join('');

async function* once(text: string): AsyncGenerator<Uint8Array> {
  yield new TextEncoder().encode(text);
}

const tasks: Record<string, () => { train: Rec[]; eval: Rec[]; job: Omit<TrainJob, 'train'> }> = {
  spamassassin: () => {
    const all = spamSample(TRAIN_ROWS + EVAL_ROWS, 41);
    return {
      train: all.slice(0, TRAIN_ROWS),
      eval: all.slice(TRAIN_ROWS),
      job: {
        hidden: [],
        method: 'full',
        text: DEFAULT_ARCH.fasttext,
        config: { ...base, lr: 1e-2, epochs: 5 },
      },
    };
  },
  tabular: () => {
    const all = blobs(TRAIN_ROWS + EVAL_ROWS, 42, { spread: 3 });
    return {
      train: all.slice(0, TRAIN_ROWS),
      eval: all.slice(TRAIN_ROWS),
      job: { hidden: [64], method: 'full', config: { ...base, lr: 1e-3, epochs: 20 } },
    };
  },
};
const base = {
  batchSize: 32,
  decay: 'cosine' as const,
  optimizer: { kind: 'adamw' as const },
  loss: { kind: 'cross-entropy' as const },
  seed: 1,
};

async function accuracy(job: Omit<TrainJob, 'train'>, train: Rec[], evalSet: Rec[]): Promise<number> {
  const result = await runTrainJob(
    { ...job, train: 'train.jsonl', eval: 'eval.jsonl' },
    { train: jsonl(train), eval: jsonl(evalSet) },
  );
  return result.metrics!.accuracy;
}

const chosen = process.argv.slice(2);
const rows: string[] = [];
for (const [name, make] of Object.entries(tasks)) {
  if (chosen.length > 0 && !chosen.includes(name)) continue;
  const task = make();
  const clean = await accuracy(task.job, task.train, task.eval);
  for (const rate of RATES) {
    const { records, flipped } = flipLabels(task.train, rate, 7);
    const started = performance.now();
    const report = await validateDataset(
      { train: once(jsonl(records)) },
      { policy: { mislabels: { action: 'drop', reportRows: 10_000 } }, manifest: { licence: 'Apache-2.0' } },
    );
    const seconds = (performance.now() - started) / 1000;
    const dropLines = new Set(report.drop!.train);
    const scores = flagScores(
      [...dropLines].map((line) => line - 1),
      flipped,
    );
    const kept = records.filter((_, row) => !dropLines.has(row + 1));
    const all = await accuracy(task.job, records, task.eval);
    const cleaned = await accuracy(task.job, kept, task.eval);
    const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
    const row = `| ${name} | ${pct(rate)} | ${flipped.length} | ${scores.flagged} | ${scores.precision.toFixed(2)} | ${scores.recall.toFixed(2)} | ${seconds.toFixed(1)} s | ${pct(clean)} | ${pct(all)} | ${pct(cleaned)} | ${(100 * (cleaned - all)).toFixed(1)} |`;
    console.log(row);
    rows.push(row);
  }
}
console.log(
  '\n| task | flipped | rows flipped | rows flagged | precision | recall | validation time | accuracy, clean labels | accuracy, all rows | accuracy, flagged dropped | regained (points) |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
