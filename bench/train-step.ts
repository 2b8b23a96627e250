// Training-step throughput of the compiled train-step graph, against ONNX Runtime's own MatMul peak measured in the
// same process with the same thread count.
//
//   npx tsx bench/train-step.ts
//
// Each batch is timed three ways in the same rounds: as the trainer runs it (several updates a run, AdamW as the
// engine's own kernel in the native runner), with ONNX Runtime's standard operators only (RATCHET_NATIVE=off, the
// design before the native runner), and one run a step (what the trainer does for a large state).
//
// FLOPs per step are taken as 6 · params · batch (forward 2·p·b, backward 4·p·b for an MLP's matrix multiplies;
// the element-wise ops and the AdamW update are not counted, so the figure understates the work a little).
// The machine is shared: every figure is the median over its runs within a round, and the best of ROUNDS rounds
// that alternate peak and training measurements, so a burst of load elsewhere hits neither side alone.
import * as ort from 'onnxruntime-node';
import { Rng } from '../engine/data/index.ts';
import { GraphBuilder, createModel, emptyGraph } from '../engine/ir/index.ts';
import { createSession, nativeRunner } from '../engine/runtime/index.ts';
import { LAYERS, THREADS, trainMlp } from './mlp-step.ts';

const BATCHES = [256, 1024];
const WARMUP_STEPS = 8;
const TIMED_STEPS = 24;
const ROUNDS = 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** An ORT session multiplying two random n×n float32 matrices, and a function timing one run of it in ms. */
async function matmul(n: number): Promise<() => Promise<number>> {
  const b = new GraphBuilder(emptyGraph('matmul'));
  const y = b.op('MatMul', [b.input('a', 'float32', [n, n]), b.input('b', 'float32', [n, n])], {}, 'y');
  b.output(y, 'float32', [n, n]);
  const { session } = await createSession(createModel(b.graph), { threads: THREADS });
  const rng = Rng.fromSeed(n);
  const random = () => Float32Array.from({ length: n * n }, () => rng.nextFloat() - 0.5);
  const feeds = { a: new ort.Tensor('float32', random(), [n, n]), b: new ort.Tensor('float32', random(), [n, n]) };
  await session.run(feeds);
  return async () => {
    const start = performance.now();
    await session.run(feeds);
    return performance.now() - start;
  };
}

async function matmulGflops(run: () => Promise<number>, n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < (n <= 1024 ? 15 : 5); i++) times.push(await run());
  return (2 * n ** 3) / (median(times) / 1000) / 1e9;
}

/**
 * Mean wall time of a step of a real trainer run (host batching included) after warm-up steps, in the trainer's own
 * chunks: from the end of step WARMUP_STEPS to the last, as the trainer reports them (a chunk's time spread evenly
 * over its steps). `stepsPerRun` 1: one ORT run a step.
 */
async function stepMs(batch: number, { stepsPerRun, onnxOnly }: { stepsPerRun?: number; onnxOnly?: boolean } = {}) {
  const stamps: number[] = [];
  if (onnxOnly) process.env.RATCHET_NATIVE = 'off';
  try {
    await trainMlp(batch, WARMUP_STEPS + TIMED_STEPS, (elapsed) => stamps.push(elapsed), { stepsPerRun });
  } finally {
    delete process.env.RATCHET_NATIVE;
  }
  return (stamps.at(-1)! - stamps[WARMUP_STEPS - 1]) / TIMED_STEPS;
}

const params = LAYERS.slice(1).reduce((sum, out, i) => sum + out * LAYERS[i] + out, 0);
const sizes = [1024, 2048];
const runners = await Promise.all(sizes.map(matmul));
const peaks = new Map(sizes.map((n) => [n, 0]));
const stepTimes = new Map(BATCHES.map((batch) => [batch, Infinity]));
const onnxOnlyTimes = new Map(BATCHES.map((batch) => [batch, Infinity]));
const singleTimes = new Map(BATCHES.map((batch) => [batch, Infinity]));
const runner = await nativeRunner();
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, n] of sizes.entries()) peaks.set(n, Math.max(peaks.get(n)!, await matmulGflops(runners[i], n)));
  for (const batch of BATCHES) {
    stepTimes.set(batch, Math.min(stepTimes.get(batch)!, await stepMs(batch)));
    onnxOnlyTimes.set(batch, Math.min(onnxOnlyTimes.get(batch)!, await stepMs(batch, { onnxOnly: true })));
    singleTimes.set(batch, Math.min(singleTimes.get(batch)!, await stepMs(batch, { stepsPerRun: 1 })));
  }
}
const peak = Math.max(...peaks.values());
const shown = sizes.map((n) => `n=${n} ${peaks.get(n)!.toFixed(1)} GFLOP/s`).join(', ');
console.log(`native runner: ${runner ? `yes (ONNX Runtime ${runner.ortVersion})` : 'unavailable: ONNX ops only'}`);
console.log(`ORT MatMul float32, ${THREADS} intra-op threads: ${shown}; peak ${peak.toFixed(1)}`);
console.log(
  `MLP ${LAYERS.join('-')} (${(params / 1e6).toFixed(2)} M params), AdamW, cross-entropy; FLOPs/step = 6 · params · batch`,
);
const ofPeak = (batch: number, ms: number) => {
  const gflops = (6 * params * batch) / (ms / 1000) / 1e9;
  return `${ms.toFixed(1)} ms/step, ${gflops.toFixed(1)} GFLOP/s, ${((100 * gflops) / peak).toFixed(0)} % of MatMul peak`;
};
for (const [batch, ms] of stepTimes) {
  const single = singleTimes.get(batch)!;
  const onnxOnly = onnxOnlyTimes.get(batch)!;
  console.log(`batch ${String(batch).padStart(4)}: ${ofPeak(batch, ms)}`);
  console.log(
    `  ONNX ops only (RATCHET_NATIVE=off): ${ofPeak(batch, onnxOnly)}; own kernels ${(onnxOnly / ms).toFixed(2)}x faster`,
  );
  console.log(`  one run a step: ${ofPeak(batch, single)}; chunks ${(single / ms).toFixed(2)}x faster`);
}
