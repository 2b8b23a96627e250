// The transfer story: a spam classifier trained on period 1 of the SpamAssassin corpus meets period 2, where spam
// has moved on. A small labelled sample of period 2 is enough to catch up by fine-tuning (full or LoRA); the same
// sample alone, trained from scratch, is not. Shared by bench/transfer.ts and the real-data test.
import * as ort from 'onnxruntime-node';
import { Rng, takeRows, type TabularDataset } from '../engine/data/index.ts';
import type { Model } from '../engine/ir/index.ts';
import { accuracy, argmaxRows } from '../engine/metrics/index.ts';
import { FEATURES, LOGITS } from '../engine/models/layout.ts';
import { mergeLora } from '../engine/models/lora.ts';
import { modelForMethod, parseMethod, trainableParams } from '../engine/models/methods.ts';
import { buildMlp } from '../engine/models/mlp.ts';
import { createSession } from '../engine/runtime/index.ts';
import { train, type TrainConfig } from '../engine/train/trainer.ts';
import { spamAssassin, type SpamAssassinGroup } from '../infra/demo/spam-assassin.ts';
import { hashedFeatures } from '../infra/demo/features.ts';

export interface TransferData {
  period1: TabularDataset;
  /** The labelled period-2 sample fine-tuning gets. */
  sample: TabularDataset;
  /** Period 2 without the sample. */
  heldOut: TabularDataset;
  /** Ham that looks like spam (period 1): every row is labelled ham. */
  hardHam: TabularDataset;
}

function subset(data: TabularDataset, rows: ArrayLike<number>): TabularDataset {
  const { features, labels } = takeRows(data, rows);
  return { ...data, rows: rows.length, features, labels };
}

/** Period 1, and period 2 split into a random labelled sample of `sampleSize` messages and the held-out rest. */
export function loadTransferData(opts: { width: number; sampleSize: number; seed: number }): TransferData {
  if (opts.sampleSize > 300) throw new Error(`the period-2 sample is at most 300 messages, got ${opts.sampleSize}`);
  const features = (groups: SpamAssassinGroup[]) => hashedFeatures(spamAssassin(groups), opts.width);
  const period2 = features(['easy-ham-2', 'spam-2']);
  const order = Rng.fromSeed(opts.seed).permutation(period2.rows);
  return {
    period1: features(['easy-ham-1', 'spam-1']),
    sample: subset(period2, order.subarray(0, opts.sampleSize)),
    heldOut: subset(period2, order.subarray(opts.sampleSize)),
    hardHam: features(['hard-ham-1']),
  };
}

export interface Trained {
  /** A plain model (LoRA adapters merged), ready to serve. */
  model: Model;
  trainableParams: number;
  trainMs: number;
}

export const HIDDEN = [64];

/** Trains `method` of `start` on `data` and returns the servable model, its trainable-parameter count and wall time. */
export async function trainWith(
  start: Model,
  method: string,
  data: TabularDataset,
  config: Omit<TrainConfig, 'optimizer' | 'loss' | 'seed'>,
): Promise<Trained> {
  const m = parseMethod(method);
  const model = modelForMethod(start, m, 1);
  const trainable = trainableParams(model.graph, m);
  const count = trainable.reduce((n, p) => n + model.graph.initializers.get(p)!.data.length, 0);
  const started = performance.now();
  const result = await train({
    model,
    trainable,
    train: data,
    config: { ...config, optimizer: { kind: 'adamw' }, loss: { kind: 'cross-entropy' }, seed: 1 },
  });
  return { model: mergeLora(result.model), trainableParams: count, trainMs: performance.now() - started };
}

/** A fresh MLP over the hashed features. */
export const freshMlp = (width: number) => buildMlp({ inputs: width, hidden: HIDDEN, classes: 2, seed: 1 });

/** Accuracy of `model` on `data`, through an inference session on the model. */
export async function accuracyOn(model: Model, data: TabularDataset): Promise<number> {
  const { session } = await createSession(model);
  const out = await session.run({ [FEATURES]: new ort.Tensor('float32', data.features, [data.rows, data.width]) });
  await session.release();
  return accuracy(argmaxRows(out[LOGITS].data as Float32Array, data.labelNames.length), data.labels);
}
