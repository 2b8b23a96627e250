// The default fastText (a job's defaults: engine/models/text.ts, engine/train/defaults.ts) trained on one intra-op
// thread against two: one epoch over SpamAssassin emails, the two thread counts in alternating order each round,
// with the SHA-256 of the trained weights, which must be the same on both (the engine's sums do not hang on threads).
//
//   npx tsx bench/fasttext-threads.ts [--rows 1200] [--rounds 4]
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { trainableParams } from '../engine/models/methods.ts';
import { DEFAULT_ARCH, newTextModel } from '../engine/models/text.ts';
import { encodeDataset } from '../engine/text/dataset.ts';
import { textEncoder } from '../engine/text/encode.ts';
import { TRAINING_DEFAULTS } from '../engine/train/defaults.ts';
import { train } from '../engine/train/trainer.ts';
import { spamAssassin } from '../infra/demo/spam-assassin.ts';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '1200' }, rounds: { type: 'string', default: '4' } },
});
const records = spamAssassin(['easy-ham-1', 'spam-1']).slice(0, Number(values.rows));
const texts = records.map((r) => r.text);
const labels = Int32Array.from(records, (r) => (r.label === 'spam' ? 1 : 0));
const arch = DEFAULT_ARCH.fasttext;
const { encoding } = newTextModel(arch, texts, 2, 1);
const data = encodeDataset({ texts, labels, labelNames: ['ham', 'spam'] }, textEncoder(encoding));

/** Wall time of one epoch on `threads`, and the trained weights' digest. */
async function epoch(threads: number): Promise<{ ms: number; sha: string }> {
  const { model } = newTextModel(arch, texts, 2, 1, encoding);
  const start = performance.now();
  const result = await train({
    model,
    trainable: trainableParams(model.graph, { kind: 'full' }),
    train: data,
    config: {
      batchSize: 32,
      epochs: 1,
      lr: TRAINING_DEFAULTS.fasttext.lr,
      decay: 'cosine',
      optimizer: { kind: 'adamw' },
      loss: { kind: 'cross-entropy' },
      seed: 1,
      threads,
    },
  });
  const ms = performance.now() - start;
  const sha = createHash('sha256');
  for (const t of result.model.graph.initializers.values())
    sha.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return { ms, sha: sha.digest('hex').slice(0, 16) };
}

const times: Record<1 | 2, number[]> = { 1: [], 2: [] };
const digests = new Set<string>();
for (let round = 0; round < Number(values.rounds); round++) {
  for (const threads of round % 2 ? ([2, 1] as const) : ([1, 2] as const)) {
    const { ms, sha } = await epoch(threads);
    times[threads].push(ms);
    digests.add(sha);
    console.log(`round ${round + 1}, ${threads} thread(s): ${ms.toFixed(0)} ms, weights ${sha}`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `fastText ${arch.buckets} buckets × ${arch.dim}, ${records.length} emails, one epoch: 1 thread ${median(times[1]).toFixed(0)} ms, ` +
    `2 threads ${median(times[2]).toFixed(0)} ms (1 thread ${(median(times[2]) / median(times[1])).toFixed(2)}x faster); ` +
    `weights ${digests.size === 1 ? 'identical' : 'DIFFER'} across thread counts`,
);
