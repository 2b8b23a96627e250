// Where a train step's time goes: ONNX Runtime's own per-node timings of the engine's compiled step, summed by
// operator and grouped (matrix multiplies, element-wise, softmax and its gradient, normalisation, the optimiser's
// update, copies and shape ops), beside the step's wall time, so that what is not matrix multiplication shows.
//
//   node --import tsx bench/profile-step.ts [--batch 256] [--steps 20]
//
// The MLP 512-1024-1024-10 of bench/train-step.ts, AdamW, 2 threads. The profile covers every run of the step
// session, the warm-up steps included; a node's time is its kernel's, so the host's work between runs (batching,
// feeds) is the wall time the kernels do not explain. A first pass without profiling gives the step's wall and
// `session.run` as JavaScript sees it: the difference from ORT's own run is the binding's copies in and out.
import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { NativeSession } from '../engine/runtime/native/runner.ts';
import { LAYERS, THREADS, trainMlp } from './mlp-step.ts';

const { values } = parseArgs({
  options: { batch: { type: 'string', default: '256' }, steps: { type: 'string', default: '20' } },
});
const BATCH = Number(values.batch);
const STEPS = Number(values.steps);

/** Operator groups, first match wins; the rest is "other". */
const GROUPS: [string, RegExp][] = [
  ['matrix multiply', /^(MatMul|Gemm|FusedMatMul|FusedGemm)$/],
  ['softmax / cross-entropy', /Softmax|LogSoftmax|CrossEntropy|NegativeLogLikelihood/],
  ['normalisation', /Norm/],
  ['reductions', /^Reduce/],
  [
    'element-wise',
    /^(Add|Sub|Mul|Div|Relu|ReluGrad|Gelu|GeluGrad|BiasGelu|Sqrt|Pow|Neg|Exp|Log|Where|Greater|Less|Equal|Max|Min|Tanh|Sigmoid|Cast|Not|And|Or)$/,
  ],
  [
    'copies and shapes',
    /^(Identity|Reshape|Transpose|Concat|Split|Slice|Gather|GatherElements|ScatterElements|Shape|Expand|Unsqueeze|Squeeze|Flatten|Tile|ConstantOfShape|Range|OneHot|MemcpyFromHost|MemcpyToHost)$/,
  ],
];

const group = (op: string) => GROUPS.find(([, pattern]) => pattern.test(op))?.[0] ?? 'other';

// One ORT run a step (the trainer's chunks put several in one run, engine/train/chunk.ts): each profiled run and each
// timed session.run is then one step, and the binding's cost per step shows.
const ONE_RUN_A_STEP = { stepsPerRun: 1 };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// First without profiling (it costs time): the step's wall and `session.run` as JavaScript sees it, the latter
// timed by wrapping the binding's run for this pass only.
const unprofiled = { steps: [] as number[], runs: [] as number[] };
{
  type Run = (this: unknown, ...args: never[]) => Promise<unknown>;
  // The binding's class (`InferenceSession` is typed as a factory, but its instances share this prototype) and the
  // native runner's, which runs the step when the engine's own kernels are in use.
  const prototypes = [
    (ort.InferenceSession as unknown as { prototype: { run: Run } }).prototype,
    NativeSession.prototype,
  ];
  const plain = prototypes.map((p) => p.run);
  prototypes.forEach((prototype, i) => {
    prototype.run = async function (...args) {
      const start = performance.now();
      const out = await plain[i].apply(this, args);
      unprofiled.runs.push(performance.now() - start);
      return out;
    };
  });
  const stamps: number[] = [];
  await trainMlp(BATCH, STEPS, () => stamps.push(performance.now()), ONE_RUN_A_STEP);
  prototypes.forEach((prototype, i) => (prototype.run = plain[i]));
  unprofiled.steps = stamps.slice(1).map((t, i) => t - stamps[i]);
}

const dir = mkdtempSync(join(tmpdir(), 'ratchet-profile-'));
process.env.RATCHET_ORT_PROFILE = join(dir, 'step');
const stamps: number[] = [];
try {
  await trainMlp(BATCH, STEPS, () => stamps.push(performance.now()), ONE_RUN_A_STEP);
  // The step session's profile: the largest file (the eval and export sessions run little).
  const files = readdirSync(dir).map((name) => join(dir, name));
  const profile = files
    .map((file) => ({ file, events: JSON.parse(readFileSync(file, 'utf8')) as TraceEvent[] }))
    .sort((a, b) => kernelUs(b.events) - kernelUs(a.events))[0];
  report(profile.events);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

type TraceEvent = { cat: string; name: string; dur?: number; args?: { op_name?: string } };

function kernels(events: TraceEvent[]): TraceEvent[] {
  return events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.args?.op_name);
}

function kernelUs(events: TraceEvent[]): number {
  return kernels(events).reduce((sum, e) => sum + (e.dur ?? 0), 0);
}

function report(events: TraceEvent[]): void {
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  const runUs = runs.reduce((sum, e) => sum + (e.dur ?? 0), 0);
  const byOp = new Map<string, number>();
  for (const e of kernels(events)) byOp.set(e.args!.op_name!, (byOp.get(e.args!.op_name!) ?? 0) + (e.dur ?? 0));
  const byGroup = new Map<string, number>();
  for (const [op, us] of byOp) byGroup.set(group(op), (byGroup.get(group(op)) ?? 0) + us);
  const total = [...byOp.values()].reduce((a, b) => a + b, 0);
  const wallMs = stamps.length > 1 ? (stamps.at(-1)! - stamps[0]) / (stamps.length - 1) : NaN;
  const perStep = (us: number) => (us / runs.length / 1000).toFixed(2);
  console.log(`MLP ${LAYERS.join('-')}, batch ${BATCH}, AdamW, ${THREADS} threads; ${runs.length} step runs profiled`);
  console.log(
    `without profiling: ${median(unprofiled.steps).toFixed(2)} ms a step, session.run from JavaScript ` +
      `${median(unprofiled.runs).toFixed(2)} ms (medians)`,
  );
  console.log(`with profiling: wall per step (trainer, between progress calls): ${wallMs.toFixed(2)} ms`);
  console.log(`session run per step: ${perStep(runUs)} ms; kernels per step: ${perStep(total)} ms`);
  console.log('\n| group | ms a step | share of kernel time |\n|---|---|---|');
  for (const [name, us] of [...byGroup].sort((a, b) => b[1] - a[1]))
    console.log(`| ${name} | ${perStep(us)} | ${((100 * us) / total).toFixed(1)} % |`);
  console.log('\n| operator | ms a step | share |\n|---|---|---|');
  for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 12))
    console.log(`| ${op} | ${perStep(us)} | ${((100 * us) / total).toFixed(1)} % |`);
}
