// This checkout's engine against another checkout's (the old form of a change) in one process: the train-step graph
// of bench/peers.ts's text encoder (forward, loss, backward, AdamW), compiled by each engine and run on the same
// batch, the two sessions taking turns in blocks of runs (old new new old ...) so that a slow spell of this shared
// machine hits both. Prints the median run of each and the median over quads of blocks of old / new.
//   npx tsx bench/engine-ab.ts --baseline /path/to/other/checkout [--blocks 40] [--block-runs 10] [--batch 32]
//     [--max-length 64] [--d-model 64] [--heads 4] [--layers 2] [--ffn 256] [--vocab 4000] [--threads 2]
//     [--own-kernels] [--baseline-own-kernels]
// --own-kernels compiles this checkout's step with the engine's own kernels (the native runner; docs/ENGINE.md);
// with `--baseline .` that measures them against ONNX Runtime's standard operators in one process.
// --baseline-own-kernels compiles the baseline's with its own kernels too (each checkout builds its own runner).
// Each engine loads its own modules (the baseline's by path); ONNX Runtime is the one package both resolve.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type * as ort from 'onnxruntime-node';
import { Rng } from '../engine/data/index.ts';
import { scalar, tensor, type TensorData } from '../engine/ir/index.ts';
import { ATTENTION_MASK, INPUT_IDS } from '../engine/text/encode.ts';
import { ENCODER_FLAGS, encoderSizes, encoderSpec } from './encoder-flags.ts';

const { values } = parseArgs({
  options: {
    ...Object.fromEntries(['blocks', 'block-runs', ...ENCODER_FLAGS].map((k) => [k, { type: 'string' as const }])),
    baseline: { type: 'string' as const },
    'own-kernels': { type: 'boolean' as const },
    'baseline-own-kernels': { type: 'boolean' as const },
  },
});
if (!values.baseline) throw new Error('--baseline <checkout> is required (e.g. a git worktree of main)');
const num = (key: string, fallback: number) => Number((values as Record<string, unknown>)[key] ?? fallback);
const [blocks, blockRuns, batch, threads] = [
  num('blocks', 40),
  num('block-runs', 10),
  num('batch', 32),
  num('threads', 2),
];
const spec = encoderSpec(num, encoderSizes(num));

// One batch of random ids, each text of a random length with padding after it: the cost hangs on shapes, not words.
const L = spec.maxLength;
const rng = Rng.fromSeed(3);
const ids = new BigInt64Array(batch * L);
const mask = new Float32Array(batch * L);
for (let r = 0; r < batch; r++) {
  const length = 8 + rng.nextInt(L - 8);
  for (let t = 0; t < length; t++) {
    ids[r * L + t] = BigInt(1 + rng.nextInt(spec.vocab - 1));
    mask[r * L + t] = 1;
  }
}
const batchInputs: Record<string, TensorData> = {
  [INPUT_IDS]: tensor('int64', [batch, L], ids),
  [ATTENTION_MASK]: tensor('float32', [batch, L], mask),
  targets: tensor(
    'int64',
    [batch],
    Array.from({ length: batch }, () => BigInt(rng.nextInt(2))),
  ),
  step: scalar('float32', 1),
  lr: scalar('float32', 1e-3),
};

/** A run of the step graph that the engine under `root` compiles, timed in ms. */
async function stepAt(
  root: string,
  ownKernels = false,
): Promise<{ run: () => Promise<number>; release: () => Promise<void> }> {
  const { buildEncoder } = await import(resolve(root, 'engine/models/encoder.ts'));
  const { trainableParams } = await import(resolve(root, 'engine/models/methods.ts'));
  const { compileTraining } = await import(resolve(root, 'engine/train/compile.ts'));
  const { createSession, toOrt } = await import(resolve(root, 'engine/runtime/session.ts'));
  if (ownKernels && !(await (await import(resolve(root, 'engine/runtime/index.ts'))).nativeRunner())) {
    throw new Error('--own-kernels: the native runner is unavailable here (see the line above)');
  }
  const model = buildEncoder(spec);
  const compiled = compileTraining(model, {
    trainable: trainableParams(model.graph, { kind: 'full' }),
    classes: 2,
    loss: { kind: 'cross-entropy' },
    optimizer: { kind: 'adamw', weightDecay: 0 },
    threads,
    ownKernels,
  });
  const { session } = (await createSession(compiled.step, { threads })) as { session: ort.InferenceSession };
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of [...Object.entries(batchInputs), ...compiled.initial]) feeds[name] = toOrt(t);
  return {
    run: async () => {
      const start = performance.now();
      await session.run(feeds);
      return performance.now() - start;
    },
    release: () => session.release(),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const steps = {
  old: await stepAt(resolve(values.baseline), values['baseline-own-kernels']),
  new: await stepAt(resolve('.'), values['own-kernels']),
};
for (let i = 0; i < 10; i++) for (const s of Object.values(steps)) await s.run(); // warm-up
// Blocks of runs in the order old new new old: each quad's ratio takes a first and a second block of each, so
// whichever block follows the other session's counts the same on both sides. Blocks, not single runs: an idle
// session's ORT threads spin for a while after its run and would take the other's cores.
const times = { old: [] as number[], new: [] as number[] };
const blockMedians = { old: [] as number[], new: [] as number[] };
const ratios: number[] = [];
for (let i = 0; i < blocks; i++) {
  for (const which of i % 2 === 0 ? (['old', 'new'] as const) : (['new', 'old'] as const)) {
    const block: number[] = [];
    for (let r = 0; r < blockRuns; r++) block.push(await steps[which].run());
    times[which].push(...block);
    blockMedians[which].push(median(block));
  }
  const [o, n] = [blockMedians.old, blockMedians.new];
  if (i % 2 === 1) ratios.push((o[i - 1] + o[i]) / (n[i - 1] + n[i]));
}
for (const s of Object.values(steps)) await s.release();
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)];
console.log(
  `encoder d=${spec.dModel} heads=${spec.heads} layers=${spec.layers} ffn=${spec.ffn} L=${L} batch ${batch}, ` +
    `${threads} threads, ${blocks} blocks of ${blockRuns} runs; baseline ${values.baseline}` +
    `${values['own-kernels'] ? ", new with the engine's own kernels" : ''}` +
    `${values['baseline-own-kernels'] ? ', old with its own kernels' : ''}\n` +
    `median step run: old ${median(times.old).toFixed(2)} ms, new ${median(times.new).toFixed(2)} ms; ` +
    `old/new over quads: median ${median(ratios).toFixed(3)} (quartiles ${q(ratios, 0.25).toFixed(3)}, ` +
    `${q(ratios, 0.75).toFixed(3)})`,
);
