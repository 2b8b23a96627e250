// The cost of training-time dropout's masks (engine/train/dropout.ts) against the generator before it, in one process:
// a graph x → Dropout(0.1) → ReduceSum, rewritten by each builder, on a MiniLM attention-probability tensor
// [16, 12, 128, 128] and a hidden-state one [16, 128, 384], with the model's symbolic batch and length. Each round runs
// each graph `--runs` times, the two builders in alternating order; a graph's figure is the median over rounds of its
// round's median run, and the ratio the median over rounds of the before-to-after ratio. "No mask" is the same graph
// with the Dropout as the identity (ReduceSum alone): what is left of a run when the mask is taken out.
//   npx tsx bench/dropout-mask.ts [--rounds 15] [--runs 5] [--threads 2]
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import {
  GraphBuilder,
  createModel,
  emptyGraph,
  onnxDataType,
  scalar,
  type Dim,
  type Graph,
} from '../engine/ir/index.ts';
import { createSession } from '../engine/runtime/index.ts';
import { DROPOUT_KEY, activateDropout, dropoutKey } from '../engine/train/dropout.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string' }, runs: { type: 'string' }, threads: { type: 'string' } },
});
const ROUNDS = Number(values.rounds ?? 15);
const RUNS = Number(values.runs ?? 5);
const THREADS = Number(values.threads ?? 2);
const RATIO = 0.1;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * The builder before this one, as the baseline: per element, an int64 Range cast to uint32, xor the key, lowbias32
 * (three xor-shifts, two multiplies), a threshold on all 32 bits, the factor cast and scaled. One node, ratio RATIO.
 */
function activateDropoutBefore(graph: Graph): void {
  const node = graph.nodes.find((n) => n.op === 'Dropout')!;
  const b = new GraphBuilder(graph);
  const key = b.input(DROPOUT_KEY, 'int64', []);
  const bits = (v: number) => b.constant(scalar('uint32', v), 'dropout_const');
  const toBits = (x: string) => b.op('Cast', [x], { to: onnxDataType('uint32') });
  const xorShift = (x: string, n: number) =>
    b.op('BitwiseXor', [x, b.op('BitShift', [x, bits(n)], { direction: 'RIGHT' })]);
  const times = (x: string, m: number) => b.op('Mul', [x, bits(m)]);
  const before = graph.nodes.length;
  const x = node.inputs[0];
  const int64 = (v: number) => b.constant(scalar('int64', v), 'dropout_const');
  const index = toBits(b.op('Range', [int64(0), b.op('Size', [x]), int64(1)]));
  let h = b.op('BitwiseXor', [index, toBits(key)]);
  h = xorShift(times(xorShift(times(xorShift(h, 16), 0x7feb352d), 15), 0x446ca68b), 16);
  const kept = b.op('GreaterOrEqual', [b.op('Reshape', [h, b.op('Shape', [x])]), bits(Math.round(RATIO * 2 ** 32))]);
  const scale = b.constant(scalar('float32', 1 / (1 - RATIO)), 'dropout_scale');
  const factor = b.op('Mul', [b.op('Cast', [kept], { to: onnxDataType('float32') }), scale]);
  b.op('Mul', [x, factor]);
  const added = graph.nodes.splice(before);
  added.at(-1)!.outputs = [node.outputs[0]];
  graph.nodes.splice(graph.nodes.indexOf(node), 1, ...added);
}

type Builder = 'before' | 'after' | 'no mask';

async function session(shape: Dim[], builder: Builder) {
  const b = new GraphBuilder(emptyGraph('dropout'));
  const x = b.input('x', 'float32', shape);
  const dropped = b.op('Dropout', [x, b.constant(scalar('float32', RATIO), 'ratio')]);
  b.op('ReduceSum', [dropped], { keepdims: 0 }, 'sum');
  b.output('sum', 'float32', []);
  if (builder === 'before') activateDropoutBefore(b.graph);
  if (builder === 'after') activateDropout(b.graph);
  return (await createSession(createModel(b.graph), { threads: THREADS })).session;
}

const CASES: { name: string; shape: Dim[]; dims: number[] }[] = [
  { name: 'attention [16, 12, 128, 128]', shape: ['batch', 12, 'length', 'length'], dims: [16, 12, 128, 128] },
  { name: 'hidden [16, 128, 384]', shape: ['batch', 'length', 384], dims: [16, 128, 384] },
];

console.log(`threads ${THREADS}, ${ROUNDS} rounds of ${RUNS} runs, ratio ${RATIO}`);
for (const { name, shape, dims } of CASES) {
  const builders: Builder[] = ['before', 'after', 'no mask'];
  const sessions = await Promise.all(builders.map((builder) => session(shape, builder)));
  const data = new Float32Array(dims.reduce((a, d) => a * d)).fill(1);
  const x = new ort.Tensor('float32', data, dims);
  const ms: number[][] = builders.map(() => []);
  for (let round = 0; round < ROUNDS + 1; round++) {
    const order = round % 2 ? [1, 0, 2] : [0, 1, 2];
    for (const i of order) {
      const runs: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const key = new ort.Tensor('int64', BigInt64Array.of(dropoutKey(1, round, run)), []);
        const feeds: Record<string, ort.Tensor> = builders[i] === 'no mask' ? { x } : { x, [DROPOUT_KEY]: key };
        const start = performance.now();
        await sessions[i].run(feeds);
        runs.push(performance.now() - start);
      }
      // The first round warms up.
      if (round > 0) ms[i].push(median(runs));
    }
  }
  const [before, after, none] = ms.map(median);
  const ratio = median(ms[0].map((t, r) => t / ms[1][r]));
  const maskRatio = median(ms[0].map((t, r) => (t - ms[2][r]) / (ms[1][r] - ms[2][r])));
  console.log(
    `${name}: before ${before.toFixed(2)} ms, after ${after.toFixed(2)} ms, ratio ${ratio.toFixed(2)}x; ` +
      `no mask ${none.toFixed(2)} ms, the masks alone ${maskRatio.toFixed(2)}x`,
  );
  await Promise.all(sessions.map((s) => s.release()));
}
