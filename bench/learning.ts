// Learning quality: Ratchet against PyTorch with the same recipe, several seeds each, held-out accuracy (mean ± sd)
// side by side with the mean wall time of a run.
//   npx tsx bench/learning.ts [--seeds 1,2,3] [--parts tabular,text] [--threads 2]
//                             [--splits p2-to-p1,p1-to-p2] [--text-models fasttext,encoder]
// - tabular: non-linear 3-class tasks generated here (bench/learning/tabular-tasks.ts), 3,000 rows to train on and
//   1,000 held out; `ratchet train --arch mlp --epochs 40` with the CLI's defaults (MLP 64-64, AdamW lr 1e-3, weight
//   decay 0.01, batch 32, cosine decay to 0) against bench/learning/torch_mlp.py, that recipe in torch.nn/torch.optim.
// - text: raw SpamAssassin mail across its two periods, both directions (bench/learning/raw-mail.ts);
//   `ratchet train --arch fasttext|encoder` with its defaults against the same model and recipe in PyTorch, and
//   scikit-learn's TF-IDF + logistic regression (bench/learning/text.ts).
// Ratchet's time is its `ratchet train` process; PyTorch's and scikit-learn's their training loop or fit. The Python
// oracle venv (test/oracle/python.ts) is built on first use. Prints markdown tables, then one JSON line.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { oraclePython } from '../test/oracle/python.ts';
import { oracle, ratchetTrain, reportPair, summary, type Run } from './learning/runs.ts';
import { TASKS, tabularTask } from './learning/tabular-tasks.ts';
import { textRows } from './learning/text.ts';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1,2,3' },
    parts: { type: 'string', default: 'tabular,text' },
    threads: { type: 'string', default: '2' },
    splits: { type: 'string', default: 'p2-to-p1,p1-to-p2' },
    'text-models': { type: 'string', default: 'fasttext,encoder' },
  },
});
const seeds = values.seeds.split(',').map(Number);
const threads = Number(values.threads);
const parts = values.parts.split(',');
const EPOCHS = 40;

const cell = (runs: Run[] | undefined) => {
  if (!runs) return '—';
  const s = summary(runs);
  return runs.length === 1 ? s.mean.toFixed(1) : `${s.mean.toFixed(1)} ± ${s.sd.toFixed(1)}`;
};
const seconds = (runs: Run[] | undefined) => (runs ? summary(runs).seconds.toFixed(1) : '—');
const gap = (ours: Run[] | undefined, theirs: Run[]) =>
  ours ? (summary(ours).mean - summary(theirs).mean).toFixed(1) : '—';

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r) + '\n').join('');

async function tabularRows(python: string, dir: string) {
  const rows = [];
  for (const task of Object.keys(TASKS)) {
    const files = { train: join(dir, `${task}-train.jsonl`), test: join(dir, `${task}-test.jsonl`) };
    // Train and test are independent draws of the task; the run seeds vary the model and the shuffles only.
    await writeFile(files.train, jsonl(tabularTask(task, 3000, 1000)));
    await writeFile(files.test, jsonl(tabularTask(task, 1000, 2000)));
    const row = { split: task, model: 'MLP 64-64', ratchet: [] as Run[], pytorch: [] as Run[] };
    for (const seed of seeds) {
      const plan = { ...files, out: join(dir, `${task}-${seed}`), seed, threads };
      row.ratchet.push(await ratchetTrain(plan, ['--arch', 'mlp', '--epochs', String(EPOCHS)]));
      const recipe = { hidden: [64, 64], epochs: EPOCHS, batch: 32, lr: 1e-3, weight_decay: 0.01, seed, threads };
      row.pytorch.push(await oracle(python, 'torch_mlp.py', [files.train, files.test, JSON.stringify(recipe)]));
      reportPair(task, seed, row.ratchet.at(-1)!, row.pytorch.at(-1)!);
    }
    rows.push(row);
  }
  return rows;
}

const python = await oraclePython((line) => console.error(line));
const dir = await mkdtemp(join(tmpdir(), 'ratchet-learning-'));
const all = [];
try {
  for (const part of parts) {
    const rows =
      part === 'tabular'
        ? await tabularRows(python, dir)
        : await textRows(python, dir, seeds, threads, {
            splits: values.splits.split(','),
            models: values['text-models'].split(','),
          });
    console.log(`\n${part}: held-out accuracy %, seeds ${seeds.join(', ')}\n`);
    console.log('| data | model | Ratchet | PyTorch / scikit-learn | Ratchet − peer | Ratchet s | peer s |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const r of rows) {
      console.log(
        `| ${r.split} | ${r.model} | ${cell(r.ratchet)} | ${cell(r.pytorch)} | ${gap(r.ratchet, r.pytorch)} | ` +
          `${seconds(r.ratchet)} | ${seconds(r.pytorch)} |`,
      );
    }
    all.push(...rows.map((r) => ({ part, ...r })));
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ seeds, threads, rows: all }));
