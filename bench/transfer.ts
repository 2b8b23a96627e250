// Transfer report: base (period 1) vs fine-tuned on a period-2 sample (full, LoRA) vs trained from scratch on that
// sample, scored on held-out period 2 and on hard ham. Prints a markdown table, then the figures as one JSON line.
//   npx tsx bench/transfer.ts [--width 1024] [--sample 300] [--seed 1]
import { parseArgs } from 'node:util';
import { accuracyOn, freshMlp, loadTransferData, trainWith, type Trained } from './transfer-story.ts';

const { values } = parseArgs({
  options: { width: { type: 'string' }, sample: { type: 'string' }, seed: { type: 'string' } },
});
const width = Number(values.width ?? 1024);
const sampleSize = Number(values.sample ?? 300);
const seed = Number(values.seed ?? 1);

const data = loadTransferData({ width, sampleSize, seed });
console.error(
  `period 1: ${data.period1.rows} messages; period-2 sample ${data.sample.rows}, held out ${data.heldOut.rows}; ` +
    `hard ham ${data.hardHam.rows}; features: ${width} hashed word buckets; model MLP ${width}-64-2`,
);

const base = await trainWith(freshMlp(width), 'full', data.period1, { batchSize: 32, epochs: 5, lr: 1e-3 });
const sampleRun = { batchSize: 16, epochs: 10, lr: 1e-3 };
const runs: [string, Trained][] = [
  ['base (period 1)', base],
  ['fine-tuned, full', await trainWith(base.model, 'full', data.sample, sampleRun)],
  ['fine-tuned, LoRA r=4', await trainWith(base.model, 'lora:4,alpha=8', data.sample, { ...sampleRun, lr: 5e-3 })],
  ['from scratch on the sample', await trainWith(freshMlp(width), 'full', data.sample, sampleRun)],
];

const rows = [];
for (const [name, run] of runs) {
  rows.push({
    model: name,
    period2_accuracy: await accuracyOn(run.model, data.heldOut),
    hard_ham_accuracy: await accuracyOn(run.model, data.hardHam),
    train_ms: Math.round(run.trainMs),
    trainable_params: run.trainableParams,
  });
}
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
console.log('| model | period-2 held-out accuracy | hard-ham accuracy | training wall time | trainable parameters |');
console.log('|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.model} | ${pct(r.period2_accuracy)} | ${pct(r.hard_ham_accuracy)} | ${(r.train_ms / 1000).toFixed(2)} s | ${r.trainable_params.toLocaleString('en')} |`,
  );
}
console.log(JSON.stringify({ width, sample: sampleSize, seed, rows }));
