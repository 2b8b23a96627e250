// Step time of mixed precision (precision 'fp16') against float32, for an MLP and the default text encoder, on the
// execution provider given (default cpu).
//
//   npx tsx bench/mixed-precision.ts [cpu|cuda]
//
// Each figure is the median step of a real trainer run after warm-up steps; rounds alternate fp32 and fp16 so that a
// burst of load elsewhere on a shared machine hits neither side alone, and the best round of each counts.
import { Rng, type TabularDataset } from '../engine/data/index.ts';
import { tensor, type Model } from '../engine/ir/index.ts';
import { buildEncoder } from '../engine/models/encoder.ts';
import { buildMlp } from '../engine/models/mlp.ts';
import { trainableParams } from '../engine/models/methods.ts';
import { DEFAULT_ARCH } from '../engine/models/text.ts';
import type { ExecutionProvider } from '../engine/runtime/index.ts';
import { ATTENTION_MASK, INPUT_IDS } from '../engine/text/encode.ts';
import type { Examples } from '../engine/train/examples.ts';
import { train } from '../engine/train/trainer.ts';

const THREADS = 2;
const WARMUP_STEPS = 3;
const TIMED_STEPS = 8;
const ROUNDS = 3;
const ep = (process.argv[2] ?? 'cpu') as ExecutionProvider;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const labelNames = ['a', 'b'];

function tabular(rows: number, width: number): TabularDataset {
  const rng = Rng.fromSeed(1);
  const features = Float32Array.from({ length: rows * width }, () => rng.nextFloat() * 2 - 1);
  return { rows, width, features, labels: Int32Array.from({ length: rows }, (_, i) => i % 2), labelNames };
}

/** Random token ids, every text filling its 8 windows of 64 tokens (the default encoder's input). */
function texts(rows: number, vocab: number, tokens: number): Examples {
  const rng = Rng.fromSeed(1);
  const ids = Array.from({ length: rows * tokens }, () => 1 + rng.nextInt(vocab - 1));
  return {
    rows,
    inputs: {
      [INPUT_IDS]: tensor('int64', [rows, tokens], ids),
      [ATTENTION_MASK]: tensor('float32', [rows, tokens], new Float32Array(rows * tokens).fill(1)),
    },
    labels: Int32Array.from({ length: rows }, (_, i) => i % 2),
    labelNames,
  };
}

const arch = DEFAULT_ARCH.encoder;
const cases: { name: string; model: Model; data: Examples; batch: number }[] = [
  {
    name: 'MLP 512-1024-1024-10, batch 256',
    model: buildMlp({ inputs: 512, hidden: [1024, 1024], classes: 2, seed: 1 }),
    data: tabular(256 * (WARMUP_STEPS + TIMED_STEPS), 512),
    batch: 256,
  },
  {
    name: `encoder d${arch.dModel} L${arch.layers} ${arch.windows}×${arch.maxLength} tokens, batch 32`,
    model: buildEncoder({ ...arch, vocab: arch.vocabSize, classes: 2, seed: 1 }),
    data: texts(32 * (WARMUP_STEPS + TIMED_STEPS), arch.vocabSize, arch.windows * arch.maxLength),
    batch: 32,
  },
];

async function stepMs(model: Model, data: Examples, batch: number, precision: 'fp32' | 'fp16'): Promise<number> {
  const stamps: number[] = [];
  await train({
    model,
    trainable: trainableParams(model.graph, { kind: 'full' }),
    train: data,
    config: {
      batchSize: batch,
      maxSteps: WARMUP_STEPS + TIMED_STEPS,
      lr: 1e-3,
      optimizer: { kind: 'adamw' },
      loss: { kind: 'cross-entropy' },
      seed: 1,
      threads: THREADS,
      ep,
      precision,
    },
    onProgress: () => stamps.push(performance.now()),
  });
  return median(stamps.slice(WARMUP_STEPS).map((t, i) => t - stamps[WARMUP_STEPS - 1 + i]));
}

console.log(`${ep}, ${THREADS} intra-op threads, AdamW, median of ${TIMED_STEPS} steps, best of ${ROUNDS} rounds`);
for (const c of cases) {
  const best = { fp32: Infinity, fp16: Infinity };
  for (let round = 0; round < ROUNDS; round++) {
    for (const precision of ['fp32', 'fp16'] as const) {
      best[precision] = Math.min(best[precision], await stepMs(c.model, c.data, c.batch, precision));
    }
  }
  const ratio = best.fp16 / best.fp32;
  console.log(
    `${c.name}: fp32 ${best.fp32.toFixed(1)} ms/step, fp16 ${best.fp16.toFixed(1)} ms/step, fp16/fp32 ${ratio.toFixed(2)}`,
  );
}
