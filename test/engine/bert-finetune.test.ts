// Fine-tuning a pretrained BERT through the training job (what `ratchet train --base HF_DIR|WHEEL` runs), on the tiny
// hand-made model of test/helpers/tiny-bert.ts: each method lowers the loss and moves exactly the parameters it
// names; the exported model reads raw text with the model's own tokenizer; dropout trains bit-reproducibly, a
// resumed run included, and is the identity in the eval graph and the export.
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, type TensorData } from '../../engine/ir/index.ts';
import { importClassifier } from '../../engine/models/base.ts';
import { readBaseFile } from '../../engine/models/bert-base.ts';
import { DROPOUT_MODE_KEY, PRETRAINED_KEY } from '../../engine/models/layout.ts';
import { checkpointOf, type CheckpointFiles } from '../../engine/train/checkpoint.ts';
import { resumedJob, runTrainJob } from '../../engine/train/job.ts';
import { greetingsJsonl, tinyBertDir, tinyBertJob } from '../helpers/tiny-bert.ts';

const dir = tinyBertDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const inputs = { train: greetingsJsonl(160, 1), eval: greetingsJsonl(64, 2), base: readBaseFile(dir) };

const bytes = (t: TensorData) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
const base = decodeModel(inputs.base as Uint8Array).graph.initializers;

/** The names of the base's weights the fine-tuned model changed, and the new head's. */
async function tune(method: string) {
  const result = await runTrainJob(tinyBertJob(method), inputs);
  const tuned = importClassifier(result.model!, 'tuned.onnx');
  const weights = tuned.model.graph.initializers;
  const changed = [...base].filter(([name, t]) => !bytes(t).equals(bytes(weights.get(name)!))).map(([n]) => n);
  const losses = (JSON.parse(result.metricsJson!).train_loss as { loss: number }[]).map((l) => l.loss);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { result, tuned, changed, first: mean(losses.slice(0, 5)), last: mean(losses.slice(-5)) };
}

const linears = (filter: RegExp) => [...base.keys()].filter((n) => filter.test(n) && base.get(n)!.dims.length === 2);

describe('fine-tuning a pretrained BERT through the training job', () => {
  it('head: only the new classifier trains; the model reads raw text and keeps where it came from', async () => {
    const { tuned, changed, first, last, result } = await tune('head');
    expect(last).toBeLessThan(first);
    expect(changed).toEqual([]);
    expect(tuned.labelNames).toEqual(['greeting', 'other']);
    expect(tuned.text).toMatchObject({ kind: 'hf-tokenizer', maxLength: 8 });
    expect(tuned.model.metadata[DROPOUT_MODE_KEY]).toBe('train');
    expect(JSON.parse(tuned.model.metadata[PRETRAINED_KEY]).sha256.safetensors).toMatch(/^[0-9a-f]{64}$/);
    expect(result.metrics!.accuracy).toBeGreaterThan(0.5);
  }, 60_000);

  it('full: every weight moves', async () => {
    const { changed, first, last } = await tune('full');
    expect(last).toBeLessThan(first);
    const weights = [...base].filter(([, t]) => t.dtype === 'float32' && t.dims.length > 0).map(([n]) => n);
    expect(changed.sort()).toEqual(weights.sort());
  }, 60_000);

  it('bitfit: the biases (LayerNorm shifts included) and the new head move, nothing else', async () => {
    const { changed, first, last } = await tune('bitfit');
    expect(last).toBeLessThan(first);
    expect(changed.sort()).toEqual([...base.keys()].filter((n) => n.endsWith('.bias')).sort());
  }, 60_000);

  it('lora: the targeted projections move (adapters merged), the head trains in full, nothing else', async () => {
    const all = await tune('lora:2');
    expect(all.last).toBeLessThan(all.first);
    expect(all.changed.sort()).toEqual(linears(/^encoder\./).sort());
    expect([...all.tuned.model.graph.initializers.keys()].some((n) => n.includes('lora'))).toBe(false);
    const attention = await tune('lora:2,alpha=4,target=attention\\.self\\.(query|value)');
    expect(attention.last).toBeLessThan(attention.first);
    expect(attention.changed.sort()).toEqual(linears(/attention\.self\.(query|value)/).sort());
  }, 120_000);

  it('dropout: the same seed gives the same bytes, resumed or not; it changes what trains', async () => {
    const checkpoints = new Map<number, CheckpointFiles>();
    const whole = await runTrainJob(
      { ...tinyBertJob('full', 12), config: { ...tinyBertJob('full', 12).config, checkpointEvery: 5 } },
      inputs,
      { onCheckpoint: (files, step) => void checkpoints.set(step, files) },
    );
    const checkpoint = checkpointOf(checkpoints.get(5)!, 'step-00000005');
    const resumed = await runTrainJob(resumedJob(checkpoint), inputs, { resume: checkpoint });
    expect(Buffer.from(resumed.model!).equals(whole.model!)).toBe(true);
    // The same base with its Dropout nodes the identity in training too trains to other weights.
    const decoded = decodeModel(inputs.base as Uint8Array);
    const metadata = Object.fromEntries(Object.entries(decoded.metadata).filter(([k]) => k !== DROPOUT_MODE_KEY));
    const still = await runTrainJob(tinyBertJob('full', 12), {
      ...inputs,
      base: encodeModel({ ...decoded, metadata }),
    });
    const weightsOf = (model: Uint8Array) => importClassifier(model, 'tuned.onnx').model.graph.initializers;
    const [a, b] = [weightsOf(whole.model!), weightsOf(still.model!)];
    expect([...a].filter(([name, t]) => !bytes(t).equals(bytes(b.get(name)!))).length).toBeGreaterThan(0);
  }, 60_000);
});
