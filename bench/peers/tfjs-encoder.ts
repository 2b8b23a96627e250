// The benchmark encoder (engine/models/encoder.ts) in TensorFlow.js, trained on the data, initial weights and batch
// order that bench/peers.ts wrote, for the epoch's first `tfjsSteps` batches. Runs on the fastest backend that
// trains it here (wasm, else cpu; tfjs-node does not install). Prints one JSON line: step times, accuracy, backend.
//   npx tsx bench/peers/tfjs-encoder.ts DIR
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { readSafetensors } from '../../engine/io/safetensors.ts';
import type { TensorData } from '../../engine/ir/index.ts';
import type { EncoderSpec } from '../../engine/models/encoder.ts';

const dir = process.argv[2];
const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as {
  spec: EncoderSpec;
  batchSize: number;
  lr: number;
  /** Batches to train, from the start of the epoch. */
  tfjsSteps: number;
};
const { tensors } = await readSafetensors(join(dir, 'data.safetensors'));

const asTf = (t: TensorData) =>
  t.dtype === 'int64' || t.dtype === 'int32'
    ? tf.tensor(Int32Array.from(t.data as ArrayLike<number | bigint>, Number), t.dims, 'int32')
    : tf.tensor(t.data as Float32Array, t.dims, 'float32');
const initialParams = () => {
  const p = new Map<string, tf.Variable>();
  for (const [name, t] of tensors) if (name.startsWith('w:')) p.set(name.slice(2), tf.variable(asTf(t)));
  return p;
};

const { dModel: d, heads, layers } = config.spec;
const dh = d / heads;

function forward(param: (name: string) => tf.Tensor, ids: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  const [batch, length] = ids.shape;
  const linear = (name: string, x: tf.Tensor) =>
    tf
      .add(tf.matMul(x.reshape([-1, x.shape.at(-1)!]), param(`${name}.weight`)), param(`${name}.bias`))
      .reshape([...x.shape.slice(0, -1), -1]);
  const norm = (name: string, x: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, -1, true);
    const normalised = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
    return tf.add(tf.mul(normalised, param(`${name}.weight`)), param(`${name}.bias`));
  };
  const gelu = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
  let x: tf.Tensor = tf.add(tf.gather(param('embeddings.token'), ids), param('embeddings.position'));
  const keyBias = tf.mul(tf.sub(1, mask), -1e9).reshape([batch, 1, 1, length]);
  for (let i = 0; i < layers; i++) {
    const b = `blocks.${i}`;
    const h = norm(`${b}.ln1`, x);
    const split = (v: tf.Tensor, perm: number[]) => tf.transpose(v.reshape([batch, length, heads, dh]), perm);
    const q = split(tf.mul(linear(`${b}.attn.q`, h), 1 / Math.sqrt(dh)), [0, 2, 1, 3]);
    const kT = split(linear(`${b}.attn.k`, h), [0, 2, 3, 1]);
    const v = split(linear(`${b}.attn.v`, h), [0, 2, 1, 3]);
    const attention = tf.softmax(tf.add(tf.matMul(q, kT), keyBias));
    const context = tf.transpose(tf.matMul(attention, v), [0, 2, 1, 3]).reshape([batch, length, d]);
    x = tf.add(x, linear(`${b}.attn.out`, context));
    x = tf.add(x, linear(`${b}.ffn.down`, gelu(linear(`${b}.ffn.up`, norm(`${b}.ln2`, x)))));
  }
  x = norm('norm', x);
  const weights = tf.div(mask, tf.sum(mask, 1, true)).reshape([batch, 1, length]);
  return linear('head', tf.matMul(weights, x).reshape([batch, d]));
}

/** One epoch (or its first batches) from the initial weights on the current backend: step times, held-out accuracy. */
async function trainEpoch(): Promise<{ stepMs: number[]; accuracy: number | null }> {
  const p = initialParams();
  const param = (name: string) => p.get(name)!;
  const trainIds = asTf(tensors.get('train_ids')!);
  const trainMask = asTf(tensors.get('train_mask')!);
  const trainLabels = asTf(tensors.get('train_labels')!);
  const classes = config.spec.classes;
  // TF.js has no AdamW; with weight decay 0 (as the other peers run) AdamW is Adam.
  const optimizer = tf.train.adam(config.lr, 0.9, 0.999, 1e-8);
  const rows = trainIds.shape[0];
  const stepMs: number[] = [];
  for (let start = 0; start < rows && stepMs.length < config.tfjsSteps; start += config.batchSize) {
    const began = performance.now();
    const size = Math.min(config.batchSize, rows - start);
    const loss = optimizer.minimize(() => {
      const ids = trainIds.slice([start, 0], [size, -1]);
      const mask = trainMask.slice([start, 0], [size, -1]);
      const labels = tf.oneHot(trainLabels.slice([start], [size]) as tf.Tensor1D, classes);
      return tf.losses.softmaxCrossEntropy(labels, forward(param, ids, mask)) as tf.Scalar;
    }, true)!;
    await loss.data(); // the step is done when its loss is on the host
    loss.dispose();
    stepMs.push(performance.now() - began);
  }
  // Scoring a partly trained model says nothing about the peer, and a forward pass over the held-out set costs
  // minutes on this backend.
  if (stepMs.length * config.batchSize < rows) return { stepMs, accuracy: null };
  const predicted = tf.tidy(() =>
    tf.argMax(forward(param, asTf(tensors.get('eval_ids')!), asTf(tensors.get('eval_mask')!)), 1),
  );
  const evalLabels = tensors.get('eval_labels')!.data as Int32Array;
  const argmax = Array.from(await predicted.data());
  const accuracy = argmax.reduce((n, c, i) => n + (c === evalLabels[i] ? 1 : 0), 0) / evalLabels.length;
  return { stepMs, accuracy };
}

// The wasm backend is the fastest here (../shared/FACTS.md) but lacks some gradient kernels (UnsortedSegmentSum,
// Gather's gradient); the cpu backend has them all. The first backend that trains the epoch is the one reported.
const skipped: string[] = [];
for (const backend of ['wasm', 'cpu']) {
  try {
    await tf.setBackend(backend);
    const { stepMs, accuracy } = await trainEpoch();
    console.log(JSON.stringify({ step_ms: stepMs, accuracy, backend, skipped, version: tf.version.tfjs }));
    process.exit(0);
  } catch (e) {
    skipped.push(`${backend}: ${(e as Error).message}`);
  }
}
throw new Error(`no TensorFlow.js backend trains the encoder: ${skipped.join('; ')}`);
