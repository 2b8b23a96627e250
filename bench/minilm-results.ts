// The pretrained transformer against the models Ratchet trains from scratch, on the learning benchmark's text splits
// (raw SpamAssassin mail across the corpus's periods, bench/learning/raw-mail.ts): `ratchet train` with
// all-MiniLM-L6-v2 + LoRA, `--arch encoder` and `--arch fasttext` (their defaults), each as a user runs it, in a
// child process whose wall time and peak RSS (/usr/bin/time) are recorded with the exported model's held-out
// accuracy, macro-F1 and ECE and the parameters its method trained. Then `ratchet distill` turns the MiniLM teacher
// into a fastText student: its share of the teacher's accuracy at its share of the parameters.
//   npx tsx bench/minilm-results.ts [--seed 1] [--threads 2] [--max-length 128] [--method lora:8] [--epochs 2]
//     [--lr 0.0005] [--batch-size 16] [--splits p2-to-p1,p1-to-p2] [--text raw|message]
// --text message: each email as the Subject line and the body's start (no headers), the same messages and splits.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { textJsonl } from '../infra/demo/spam-assassin.ts';
import { minilmWheel } from '../test/helpers/minilm.ts';
import { oraclePython } from '../test/oracle/python.ts';
import { rawMailSplits } from './learning/raw-mail.ts';

const exec = promisify(execFile);
const { values } = parseArgs({
  options: Object.fromEntries(
    ['seed', 'threads', 'max-length', 'method', 'epochs', 'lr', 'batch-size', 'splits', 'text'].map((k) => [
      k,
      { type: 'string' as const },
    ]),
  ),
});
const opt = (key: string, fallback: string) => String(values[key] ?? fallback);
const [seed, threads] = [opt('seed', '1'), opt('threads', '2')];
const wanted = opt('splits', 'p2-to-p1,p1-to-p2').split(',');
const wheel = await minilmWheel(await oraclePython((line) => console.error(line)));
const ratchet = join(import.meta.dirname, '..', 'bin/ratchet.mjs');

type Measured = {
  accuracy: number;
  macro_f1: number;
  ece: number;
  parameters: number;
  seconds: number;
  rss_mb: number;
};

/**
 * `ratchet COMMAND ARGS` under /usr/bin/time: the scores in the metrics.json it wrote to `out` with the parameter
 * count under `parametersKey`, its wall time and peak RSS.
 */
async function measure(command: string, args: string[], out: string, parametersKey: string): Promise<Measured> {
  const { stderr } = await exec(
    '/usr/bin/time',
    ['-f', 'ratchet-time %e %M', process.execPath, ratchet, command, ...args, '--out', out],
    { maxBuffer: 256 << 20 },
  );
  const [, seconds, kb] = /ratchet-time ([\d.]+) (\d+)/.exec(stderr)!;
  const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
  return {
    accuracy: metrics.accuracy,
    macro_f1: metrics.macro_f1,
    ece: metrics.ece,
    parameters: metrics[parametersKey],
    seconds: Number(seconds),
    rss_mb: Number(kb) / 1024,
  };
}

const row = (split: string, model: string, m: Measured) =>
  `| ${split} | ${model} | ${(100 * m.accuracy).toFixed(1)} | ${(100 * m.macro_f1).toFixed(1)} | ` +
  `${m.ece.toFixed(3)} | ${m.parameters.toLocaleString('en')} | ${m.seconds.toFixed(0)} s | ${m.rss_mb.toFixed(0)} MB |`;

const lines: string[] = [];
const shares: string[] = [];
const report: Record<string, Record<string, Measured>> = {};
const raw = opt('text', 'raw') === 'raw';
for (const split of rawMailSplits(1, undefined, { raw }).filter((s) => wanted.includes(s.name))) {
  const dir = await mkdtemp(join(tmpdir(), `ratchet-minilm-results-${split.name}-`));
  const [train, test] = [join(dir, 'train.jsonl'), join(dir, 'test.jsonl')];
  await writeFile(train, textJsonl(split.train));
  await writeFile(test, textJsonl(split.test));
  const common = ['--train', train, '--eval', test, '--seed', seed, '--threads', threads];
  const runs: [string, string, string[]][] = [
    [
      `MiniLM + ${opt('method', 'lora:8')}`,
      'minilm',
      [
        ...['--base', wheel, '--method', opt('method', 'lora:8'), '--max-length', opt('max-length', '128')],
        ...['--epochs', opt('epochs', '2'), '--lr', opt('lr', '0.0005'), '--batch-size', opt('batch-size', '16')],
      ],
    ],
    ['encoder (from scratch)', 'encoder', ['--arch', 'encoder']],
    ['fastText (from scratch)', 'fasttext', ['--arch', 'fasttext']],
  ];
  report[split.name] = {};
  for (const [name, key, flags] of runs) {
    const m = await measure('train', [...common, ...flags], join(dir, key), 'trainable_parameters');
    report[split.name][key] = m;
    lines.push(row(split.name, name, m));
    console.error(lines.at(-1));
  }
  const student = await measure(
    'distill',
    [...common, '--teacher', join(dir, 'minilm', 'model.onnx'), '--student-arch', 'fasttext'],
    join(dir, 'student'),
    'parameters',
  );
  report[split.name].student = student;
  lines.push(row(split.name, 'fastText student of MiniLM', student));
  console.error(lines.at(-1));
  // The share of the whole teacher (every weight MiniLM carries, not only those LoRA trained).
  const teacher = JSON.parse(await readFile(join(dir, 'student', 'metrics.json'), 'utf8')).teacher;
  shares.push(
    `${split.name}: the student keeps ${((100 * student.accuracy) / teacher.accuracy).toFixed(1)} % of the ` +
      `teacher's accuracy with ${((100 * student.parameters) / teacher.parameters).toFixed(2)} % of its ` +
      `${teacher.parameters.toLocaleString('en')} parameters`,
  );
  console.error(shares.at(-1));
}
console.log('| split | model | accuracy | macro-F1 | ECE | trainable parameters | wall time | peak RSS |');
console.log('|---|---|---|---|---|---|---|---|');
for (const line of lines) console.log(line);
for (const share of shares) console.log(share);
console.log(JSON.stringify(report));
