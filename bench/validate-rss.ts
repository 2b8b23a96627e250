// Peak memory of dataset validation on a generated JSONL file (200 MB by default).
//
//   node --import tsx bench/validate-rss.ts [--mb 200] [--words 150] [--file PATH]
//
// --words sets the shortest record (records hold N to 3N words): few words means many records, which is what
// the duplicate tables grow with.
// Generates the file once (streamed, seeded), then runs child processes over it, one after the other: two
// read-only passes (sha256 over a read stream, and over fileChunks' one refilled buffer, which the validations
// read through), validation without the mislabel check (every check that reads the whole file), once with the
// duplicate tables on the main thread (the design before tables-thread.ts) and once on their own thread, as a file
// this size gets them, and the full validation with the default policy (which adds the mislabel check's quick
// models, trained on a sample of at most 5,000 records whatever the file's size); then that validation again with
// the Node flags the Helm chart gives a `cpu` worker, where validation runs in a cluster (workers.cpu.nodeOptions).
// Each child reports its peak RSS (getrusage maxRSS) and its wall time; throughput is in MB/s (10^6 bytes).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { fileChunks } from '../governance/dataset/file-chunks.ts';
import { validateDataset } from '../governance/dataset/validate.ts';
import { chartNodeOptions } from '../infra/cluster/chart-node-options.ts';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '200' },
    words: { type: 'string', default: '150' },
    file: { type: 'string' },
    child: { type: 'string' }, // internal: one of MODES
  },
});
const megabytes = Number(values.mb);
const minWords = Number(values.words);
const file = values.file ?? join(tmpdir(), `ratchet-bench-${megabytes}mb-${minWords}w.jsonl`);
const MODES = ['read-stream', 'read', 'no-mislabels-inline', 'no-mislabels', 'validate'] as const;

if (values.child) {
  const start = performance.now();
  let summary: unknown;
  if (values.child === 'read-stream' || values.child === 'read') {
    const sha256 = createHash('sha256');
    for await (const chunk of values.child === 'read' ? fileChunks(file) : createReadStream(file)) sha256.update(chunk);
    summary = { sha256: sha256.digest('hex') };
  } else {
    const policy = values.child.startsWith('no-mislabels') ? { mislabels: { action: 'off' as const } } : undefined;
    // 0: the tables stay on the main thread, as for a small file.
    const expectedBytes = values.child.endsWith('-inline') ? 0 : statSync(file).size;
    const options = { manifest: { licence: 'MIT' }, policy, expectedBytes };
    const report = await validateDataset({ train: fileChunks(file) }, options);
    summary = { records: report.files.train.records, findings: report.findings.map((f) => `${f.code}:${f.count}`) };
  }
  const seconds = (performance.now() - start) / 1000;
  const { maxRSS, userCPUTime, systemCPUTime } = process.resourceUsage();
  const cpuSeconds = (userCPUTime + systemCPUTime) / 1e6; // the whole process, start-up and other threads included
  console.log(JSON.stringify({ seconds, cpuSeconds, maxRssMiB: maxRSS / 1024, summary }));
} else {
  if (!existsSync(file) || statSync(file).size < megabytes * 1024 * 1024) await generate(file, megabytes, minWords);
  const bytes = statSync(file).size;
  console.log(`file: ${file} (${(bytes / 2 ** 20).toFixed(1)} MiB)`);
  const runs = Object.fromEntries(MODES.map((mode) => [mode, runChild(mode)])) as Record<(typeof MODES)[number], Run>;
  const workerFlags = chartNodeOptions('cpu');
  const inWorker = runChild('validate', workerFlags.split(' ').filter(Boolean));
  for (const [mode, r] of [...Object.entries(runs), [`validate (cpu worker: ${workerFlags})`, inWorker] as const]) {
    console.log(
      `${mode.padEnd(19)} peak RSS ${r.maxRssMiB.toFixed(1).padStart(6)} MiB  ` +
        `${r.seconds.toFixed(2).padStart(6)} s  ${(bytes / 1e6 / r.seconds).toFixed(1).padStart(6)} MB/s  ` +
        `(process CPU ${r.cpuSeconds.toFixed(2)} s)  ${JSON.stringify(r.summary)}`,
    );
  }
  const floors = { read: 'read-stream', 'no-mislabels': 'read', validate: 'read' } as const;
  for (const [mode, floor] of Object.entries(floors) as [keyof typeof floors, (typeof floors)[keyof typeof floors]][]) {
    console.log(
      `${mode} / ${floor}: peak RSS x${(runs[mode].maxRssMiB / runs[floor].maxRssMiB).toFixed(2)}, ` +
        `time x${(runs[mode].seconds / runs[floor].seconds).toFixed(1)}`,
    );
  }
  const [thread, inline] = [runs['no-mislabels'], runs['no-mislabels-inline']];
  console.log(
    `tables on their thread / on the main thread: ${(inline.seconds / thread.seconds).toFixed(2)}x as fast, ` +
      `peak RSS ${(thread.maxRssMiB - inline.maxRssMiB).toFixed(1)} MiB more`,
  );
}

type Run = { seconds: number; cpuSeconds: number; maxRssMiB: number; summary: unknown };

function runChild(mode: string, nodeFlags: string[] = []): Run {
  const self = fileURLToPath(import.meta.url);
  const out = spawnSync(process.execPath, [...nodeFlags, '--import', 'tsx', self, '--child', mode, '--file', file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (out.status !== 0) throw new Error(`${mode} child exited with ${out.status}`);
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!);
}

/** Mail-like records (150 words: 1-3 KB each), two labels; a few exact repeats and email addresses, as in real corpora. */
async function generate(path: string, mb: number, minWords: number): Promise<void> {
  console.log(`generating ${mb} MB of JSONL at ${path} ...`);
  const words = 'the of and to a in is you that it for on are with as this be at have from or by not your we an'
    .split(' ')
    .concat('offer free account money click meeting report patch server build release thanks please'.split(' '));
  let seed = 0x2545f491;
  const random = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const out = createWriteStream(path);
  let written = 0;
  let previous = '';
  for (let i = 0; written < mb * 1024 * 1024; i++) {
    let line: string;
    if (i % 500 === 499) {
      line = previous; // an exact duplicate now and then
    } else {
      const n = minWords + Math.floor(random() * 2 * minWords);
      const text = Array.from({ length: n }, () => words[Math.floor(random() * words.length)]).join(' ');
      const contact = i % 50 === 0 ? ` write to user${i}@example.com` : '';
      line = JSON.stringify({ text: `${i.toString(36)} ${text}${contact}`, label: random() < 0.3 ? 'spam' : 'ham' });
    }
    previous = line;
    written += Buffer.byteLength(line) + 1;
    if (!out.write(line + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}
