// LoRA through the training job on a text model (what `ratchet train --base MODEL --method lora:R` runs): the
// exported file is the base architecture with the adapters folded in, and what LoRA does not target is untouched.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/data/index.ts';
import type { TensorData } from '../../engine/ir/index.ts';
import { importClassifier } from '../../engine/models/base.ts';
import { spamAssassin, textJsonl } from '../../infra/demo/spam-assassin.ts';
import { runTrainJob } from '../../engine/train/job.ts';

const bytes = (t: TensorData) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

describe('LoRA fine-tuning of a text encoder through the training job', () => {
  it('exports the base layout with merged weights; embeddings and norms stay byte-identical', async () => {
    const records = spamAssassin(['easy-ham-2', 'spam-2']);
    const order = Rng.fromSeed(9).permutation(records.length);
    const pick = (from: number, to: number) => textJsonl(Array.from(order.subarray(from, to), (i) => records[i]));
    const data = { base: pick(0, 320), tune: pick(320, 480), eval: pick(480, 640) };
    const config = { batchSize: 32, lr: 2e-3, optimizer: { kind: 'adamw' as const }, seed: 1 };
    const text = { kind: 'encoder', vocabSize: 1000, maxLength: 32, dModel: 16, heads: 2, layers: 1, ffn: 32 } as const;
    const trained = await runTrainJob(
      {
        train: 'base.jsonl',
        eval: 'eval.jsonl',
        text: { ...text, pooling: 'mean' },
        hidden: [],
        method: 'full',
        config: { ...config, epochs: 1, loss: { kind: 'cross-entropy' } },
      },
      { train: data.base, eval: data.eval },
    );
    const baseModel = trained.model!;
    const tuned = await runTrainJob(
      {
        train: 'tune.jsonl',
        eval: 'eval.jsonl',
        base: 'base.onnx',
        hidden: [],
        method: 'lora:2,alpha=4',
        config: { ...config, lr: 1e-2, epochs: 2, loss: { kind: 'cross-entropy' } },
      },
      { train: data.tune, eval: data.eval, base: baseModel },
    );
    expect(tuned.metrics?.accuracy).toBeGreaterThan(0.5);

    const base = importClassifier(baseModel, 'base').model.graph.initializers;
    const merged = importClassifier(tuned.model!, 'lora');
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
