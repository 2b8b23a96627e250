// LoRA through the training job on a text model (what `ratchet train --base MODEL --method lora:R` runs): the
// exported file is the base architecture with the adapters folded in, and what LoRA does not target is untouched.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/data/index.ts';
import type { TensorData } from '../../engine/ir/index.ts';
import { importClassifier } from '../../engine/models/base.ts';
import { spamAssassin, textJsonl } from '../../infra/demo/spam-assassin.ts';
import { runTrainJob } from '../../engine/train/job.ts';

const bytes = (t: TensorData) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

describe('LoRA fine-tuning of a text encoder through the training job', () => {
  it('exports the base layout with merged weights; embeddings and norms stay byte-identical', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ratchet-lora-text-'));
    const records = spamAssassin(['easy-ham-2', 'spam-2']);
    const order = Rng.fromSeed(9).permutation(records.length);
    const pick = (from: number, to: number) => textJsonl(Array.from(order.subarray(from, to), (i) => records[i]));
    const files = { base: join(dir, 'base.jsonl'), tune: join(dir, 'tune.jsonl'), eval: join(dir, 'eval.jsonl') };
    await writeFile(files.base, pick(0, 320));
    await writeFile(files.tune, pick(320, 480));
    await writeFile(files.eval, pick(480, 640));
    const config = { batchSize: 32, lr: 2e-3, optimizer: { kind: 'adamw' as const }, seed: 1 };
    const text = { kind: 'encoder', vocabSize: 1000, maxLength: 32, dModel: 16, heads: 2, layers: 1, ffn: 32 } as const;
    await runTrainJob(
      {
        train: files.base,
        eval: files.eval,
        text: { ...text, pooling: 'mean' },
        hidden: [],
        method: 'full',
        config: { ...config, epochs: 1, loss: { kind: 'cross-entropy' } },
      },
      { out: join(dir, 'base') },
    );
    const basePath = join(dir, 'base', 'model.onnx');
    const tuned = await runTrainJob(
      {
        train: files.tune,
        eval: files.eval,
        base: basePath,
        hidden: [],
        method: 'lora:2,alpha=4',
        config: { ...config, lr: 1e-2, epochs: 2, loss: { kind: 'cross-entropy' } },
      },
      { out: join(dir, 'lora') },
    );
    expect(tuned.metrics?.accuracy).toBeGreaterThan(0.5);

    const base = importClassifier(await readFile(basePath), 'base').model.graph.initializers;
    const merged = importClassifier(await readFile(join(dir, 'lora', 'model.onnx')), 'lora');
    expect(merged.text?.kind).toBe('wordpiece');
    expect([...merged.model.graph.initializers.keys()].sort()).toEqual([...base.keys()].sort());
    const changed = [...base].filter(
      ([name, t]) => !bytes(t).equals(bytes(merged.model.graph.initializers.get(name)!)),
    );
    // Exactly the MatMul weights moved (q, k, v, out, FFN up and down, head); embeddings, biases, norms did not.
    expect(changed.map(([name]) => name).sort()).toEqual(
      [
        'blocks.0.attn.k.weight',
        'blocks.0.attn.out.weight',
        'blocks.0.attn.q.weight',
        'blocks.0.attn.v.weight',
        'blocks.0.ffn.down.weight',
        'blocks.0.ffn.up.weight',
        'head.weight',
      ].sort(),
    );
  }, 120_000);
});
