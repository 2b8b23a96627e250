// Peers side by side in one run: the identical text encoder (engine/models/encoder.ts) trained for one epoch on the
// same SpamAssassin texts, from the same initial weights, in the same batch order, by this engine (ONNX Runtime),
// by PyTorch CPU and by TensorFlow.js. Prints per-peer step times, the engine's speed-up over each, and each final
// held-out accuracy; then the figures as one JSON line.
// This machine's CPU time comes and goes in spells of seconds (a plain JS loop varies by 30 % from run to run), so
// the engine and PyTorch each train the epoch `--rounds` times, in alternating order, each PyTorch epoch moments
// after or before an engine one (PyTorch stays up between them; the engine opens new sessions every epoch). The
// speed-up is the median over rounds of the two medians' ratio in that round: a slow spell hits both of a pair.
//   npx tsx bench/peers.ts [--python PATH] [--rounds 9] [--train-rows 256] [--eval-rows 500] [--batch 32]
//     [--max-length 64] [--d-model 64] [--heads 4] [--layers 2] [--ffn 256] [--vocab 4000] [--lr 0.001]
//     [--threads 2] [--tfjs-steps 2]
// PyTorch runs under --python (default: $RATCHET_TORCH_PYTHON, else the test oracles' venv, built on first use by
// test/oracle/python.ts); where it cannot import torch, its row says so.
import { execFile } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../engine/data/index.ts';
import { writeSafetensors } from '../engine/io/safetensors.ts';
import { tensor, type TensorData } from '../engine/ir/index.ts';
import { buildEncoder } from '../engine/models/encoder.ts';
import { trainableParams } from '../engine/models/methods.ts';
import { withSession } from '../engine/runtime/index.ts';
import { inputsAt, type InputDataset } from '../engine/train/examples.ts';
import { scoreSession } from '../engine/train/score.ts';
import { train } from '../engine/train/trainer.ts';
import { textEncoder } from '../engine/text/encode.ts';
import { spamAssassin } from '../infra/demo/spam-assassin.ts';
import { learnWordPiece } from '../engine/text/wordpiece.ts';
import { oraclePython } from '../test/oracle/python.ts';
import { startPythonPeer } from './peers/python-peer.ts';
import { ENCODER_FLAGS, encoderSizes, encoderSpec } from './encoder-flags.ts';

const { values } = parseArgs({
  options: Object.fromEntries(
    ['python', 'rounds', 'train-rows', 'eval-rows', 'lr', 'tfjs-steps', ...ENCODER_FLAGS].map((k) => [
      k,
      { type: 'string' as const },
    ]),
  ),
});
const num = (key: string, fallback: number) => Number(values[key] ?? fallback);
const python =
  (values.python as string | undefined) ??
  process.env.RATCHET_TORCH_PYTHON ??
  (await oraclePython((line) => console.error(line)));
const [trainRows, evalRows, batchSize, lr, threads] = [
  num('train-rows', 256),
  num('eval-rows', 500),
  num('batch', 32),
  num('lr', 1e-3),
  num('threads', 2),
];
// TensorFlow.js trains at a few seconds per step or worse here: it runs the epoch's first --tfjs-steps batches, once.
const tfjsSteps = num('tfjs-steps', 2);
const rounds = num('rounds', 9);
const SEED = 1;

// Data: period 1 of the corpus, shuffled once; the first rows train, the next ones are held out.
const records = spamAssassin(['easy-ham-1', 'spam-1']);
const shuffled = Rng.fromSeed(7).permutation(records.length);
const pick = (from: number, count: number) => Array.from(shuffled.subarray(from, from + count), (i) => records[i]);
const [trainRecords, evalRecords] = [pick(0, trainRows), pick(trainRows, evalRows)];
const tokenizer = learnWordPiece(
  trainRecords.map((r) => r.text),
  { vocabSize: encoderSizes(num).vocab, maxLength: encoderSizes(num).maxLength },
);
const encoder = textEncoder(tokenizer.spec);
const labelNames = ['ham', 'spam'];
const dataset = (rs: typeof records): InputDataset => ({
  rows: rs.length,
  inputs: encoder.encode(rs.map((r) => r.text)),
  labels: Int32Array.from(rs, (r) => labelNames.indexOf(r.label)),
  labelNames,
});
const [trainSet, evalSet] = [dataset(trainRecords), dataset(evalRecords)];

const spec = encoderSpec(num, { vocab: tokenizer.spec.vocab.length, maxLength: tokenizer.spec.maxLength });
const model = buildEncoder(spec);
const trainable = trainableParams(model.graph, { kind: 'full' });
const parameters = trainable.reduce((n, p) => n + model.graph.initializers.get(p)!.data.length, 0);
const steps = Math.ceil(trainRows / batchSize);
console.error(
  `encoder d=${spec.dModel} heads=${spec.heads} layers=${spec.layers} ffn=${spec.ffn} L=${spec.maxLength} ` +
    `vocab=${spec.vocab} (${parameters.toLocaleString('en')} parameters); ${trainRows} training texts, ` +
    `batch ${batchSize}: ${steps} steps; ${evalRows} held out; ${threads} threads`,
);

// The peers get the engine's initial weights and its first epoch's batch order, so all three compute the same thing.
const order = Rng.fromSeed(SEED).permutation(trainRows);
const asInt32 = (labels: Int32Array) => tensor('int32', [labels.length], labels);
// The rows themselves, in the epoch's order, at the full width.
const rowsOf = (set: InputDataset, rows: ArrayLike<number>): Record<string, TensorData> =>
  Object.fromEntries(
    Object.entries(inputsAt(set.inputs, rows)).map(([name, t]) => [
      name,
      tensor(t.type as 'int64' | 'float32', [...t.dims], t.data as BigInt64Array | Float32Array),
    ]),
  );
const trainInputs = rowsOf(trainSet, order);
const evalInputs = rowsOf(
  evalSet,
  Int32Array.from({ length: evalSet.rows }, (_, r) => r),
);
const shared: Record<string, TensorData> = {
  train_ids: trainInputs.input_ids,
  train_mask: trainInputs.attention_mask,
  train_labels: asInt32(Int32Array.from(order, (r) => trainSet.labels[r])),
  eval_ids: evalInputs.input_ids,
  eval_mask: evalInputs.attention_mask,
  eval_labels: asInt32(evalSet.labels),
};
for (const p of trainable) shared[`w:${p}`] = model.graph.initializers.get(p)!;
const dir = await mkdtemp(join(tmpdir(), 'ratchet-peers-'));
await writeSafetensors(join(dir, 'data.safetensors'), shared);
await writeFile(join(dir, 'config.json'), JSON.stringify({ spec, batchSize, lr, threads, tfjsSteps }));

interface PeerRun {
  peer: string;
  runtime: string;
  step_ms: number[];
  /** Each step's training loss (engine and PyTorch). */
  losses?: number[];
  /** Null for a peer that ran part of the epoch only. */
  accuracy: number | null;
}
type Outcome = PeerRun | { peer: string; error: string };

/** One epoch from the initial weights; held-out accuracy only when `score` (every round trains the same). */
async function engineRun(score: boolean): Promise<PeerRun> {
  const stepMs: number[] = [];
  const losses: number[] = [];
  let last = 0;
  const result = await train({
    model,
    trainable,
    train: trainSet,
    config: {
      batchSize,
      epochs: 1,
      lr,
      decay: 'constant',
      optimizer: { kind: 'adamw', weightDecay: 0 },
      loss: { kind: 'cross-entropy' },
      seed: SEED,
      threads,
    },
    onProgress: (p) => {
      stepMs.push(p.elapsedMs - last);
      losses.push(p.loss);
      last = p.elapsedMs;
    },
  });
  const accuracy = score
    ? (await withSession(result.model, { threads }, (session) => scoreSession(session, evalSet))).accuracy
    : null;
  return {
    peer: 'Ratchet engine',
    runtime: `onnxruntime-node ${ort.env.versions.common} (${result.ep})`,
    step_ms: stepMs,
    losses,
    accuracy,
  };
}

/** Runs the TF.js peer script and reads the JSON line it prints last; a peer that cannot run yields its reason. */
function tfjsRun(): Promise<Outcome> {
  const peer = 'TensorFlow.js';
  const script = join(import.meta.dirname, 'peers/tfjs-encoder.ts');
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', script, dir], { maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      if (error) {
        resolve({ peer, error: stderr.split('\n').find((l) => /^\w*Error\b/.test(l)) ?? error.message });
        return;
      }
      const out = JSON.parse(stdout.trim().split('\n').at(-1)!);
      const skipped = out.skipped.length ? `; ${out.skipped.join('; ')}` : '';
      resolve({
        peer,
        runtime: `TensorFlow.js ${out.version} (${out.backend}${skipped})`,
        step_ms: out.step_ms,
        accuracy: out.accuracy,
      });
    });
  });
}

/**
 * PyTorch as a process that stays up (bench/peers/torch_encoder.py): each epoch() trains one epoch there, so an
 * engine epoch and a PyTorch epoch run moments apart. Where torch cannot start, epoch() yields the reason.
 */
async function startTorch(): Promise<{ epoch: () => Promise<Outcome>; stop: () => void }> {
  const peer = 'PyTorch';
  const torch = await startPythonPeer(python, join(import.meta.dirname, 'peers/torch_encoder.py'), [dir]);
  return {
    epoch: async () => {
      const out = await torch.round('epoch');
      if ('error' in out) return { peer, error: String(out.error) };
      return {
        peer,
        runtime: `PyTorch ${out.version} (CPU, ${out.threads} threads)`,
        step_ms: out.step_ms as number[],
        losses: out.losses as number[],
        accuracy: out.accuracy as number,
      };
    },
    stop: torch.stop,
  };
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const torch = await startTorch();
const engineRounds: PeerRun[] = [];
const torchRounds: Outcome[] = [];
for (let round = 0; round < rounds; round++) {
  const engineFirst = round % 2 === 0;
  if (engineFirst) engineRounds.push(await engineRun(round === 0));
  torchRounds.push(await torch.epoch());
  if (!engineFirst) engineRounds.push(await engineRun(false));
  const t = torchRounds.at(-1)!;
  const [e, p] = [median(engineRounds.at(-1)!.step_ms), 'error' in t ? NaN : median(t.step_ms)];
  console.error(`round ${round + 1}/${rounds}: engine ${e.toFixed(1)} ms, PyTorch ${p.toFixed(1)} ms per step`);
}
torch.stop();
const tfjs: Outcome = tfjsSteps > 0 ? await tfjsRun() : { peer: 'TensorFlow.js', error: 'skipped (--tfjs-steps 0)' };
await rm(dir, { recursive: true });

/** All rounds of one peer as one row: every step time, and the first round's accuracy (the rounds train the same). */
const pooled = (runs: Outcome[]): Outcome => {
  const failed = runs.find((r) => 'error' in r);
  if (failed) return failed;
  const ok = runs as PeerRun[];
  return { ...ok[0], step_ms: ok.flatMap((r) => r.step_ms) };
};
/** Median over rounds of (peer's median step / engine's median step) in the same round. */
const pairedSpeedup = (runs: Outcome[]) =>
  runs.some((r) => 'error' in r)
    ? NaN
    : median(runs.map((r, i) => median((r as PeerRun).step_ms) / median(engineRounds[i].step_ms)));
const engineMedian = median(engineRounds.flatMap((r) => r.step_ms));
const peers: Array<{ run: Outcome; rounds: number; speedup: number }> = [
  { run: pooled(engineRounds), rounds, speedup: 1 },
  { run: pooled(torchRounds), rounds, speedup: pairedSpeedup(torchRounds) },
  // TF.js runs once and partially: its steps are compared with the engine's median over all rounds.
  { run: tfjs, rounds: 1, speedup: 'error' in tfjs ? NaN : median(tfjs.step_ms) / engineMedian },
];
console.log(
  '| peer | runtime | rounds × steps | median step | engine speed-up (median over rounds) | held-out accuracy |',
);
console.log('|---|---|---|---|---|---|');
const rows = peers.map(({ run, rounds: n, speedup }) => {
  if ('error' in run) {
    console.log(`| ${run.peer} | not run: ${run.error} | | | | |`);
    return run;
  }
  const m = median(run.step_ms);
  const perRound = run.step_ms.length / n;
  console.log(
    `| ${run.peer} | ${run.runtime} | ${n} × ${perRound} of ${steps} | ${m.toFixed(1)} ms | ${speedup.toFixed(2)}x | ` +
      `${run.accuracy === null ? 'not scored (partial epoch)' : `${(100 * run.accuracy).toFixed(1)} %`} |`,
  );
  return { ...run, rounds: n, median_step_ms: m, speedup };
});
// The peers compute the same thing (same weights, same batches in the same order): their losses step by step agree
// to float32 rounding. A mismatch here (the rows and labels out of step once) is a bug in the bench, not a result.
const [engineLosses, torchLosses] = [engineRounds[0].losses!, 'error' in torchRounds[0] ? [] : torchRounds[0].losses!];
const lossGap = Math.max(...torchLosses.map((l, i) => Math.abs(l - engineLosses[i]) / Math.max(1e-6, Math.abs(l))));
if (torchLosses.length > 0) {
  const agree = lossGap < 1e-3;
  console.log(
    `step losses, engine against PyTorch over the epoch: largest relative difference ${lossGap.toExponential(1)} ` +
      `(${agree ? 'the same computation' : 'NOT the same computation: check the data each peer is given'})`,
  );
}
console.log(
  JSON.stringify({
    spec,
    loss_gap: lossGap,
    parameters,
    train_rows: trainRows,
    eval_rows: evalRows,
    batch: batchSize,
    threads,
    rounds,
    rows,
  }),
);
