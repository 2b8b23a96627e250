// Several updates in one ONNX Runtime run (engine/train/chunk.ts) compute exactly what one run per update does: the
// same weights to the bit, the same progress, evaluations and checkpoints, with dropout, evaluation and checkpoint
// boundaries, an epoch's short last batch and text batches of other widths in play, in fewer runs.
import * as ort from 'onnxruntime-node';
import { afterEach, describe, expect, it } from 'vitest';
import { Rng, parseTabularJsonl } from '../../engine/data/index.ts';
import { GraphBuilder, scalar, type Model, type TensorData } from '../../engine/ir/index.ts';
import { DROPOUT_MODE_KEY, LOGITS } from '../../engine/models/layout.ts';
import { buildFastText } from '../../engine/models/fasttext.ts';
import { buildMlp } from '../../engine/models/mlp.ts';
import { NativeSession } from '../../engine/runtime/native/runner.ts';
import { trainableParams } from '../../engine/models/methods.ts';
import { encodeDataset } from '../../engine/text/dataset.ts';
import { NGRAM_IDS, textEncoder } from '../../engine/text/encode.ts';
import { batchOf } from '../../engine/train/examples.ts';
import { train, type Progress, type TrainOptions } from '../../engine/train/trainer.ts';
import { irisJsonl } from '../helpers/iris.ts';

const iris = parseTabularJsonl(irisJsonl(), { source: 'iris' });

/** An MLP whose hidden activations drop out while training (as a pretrained BERT's metadata asks). */
function mlpWithDropout(): Model {
  const model = buildMlp({ inputs: 4, hidden: [32], classes: 3, seed: 3 });
  const graph = model.graph;
  const last = graph.nodes.findIndex((n) => n.outputs.includes(LOGITS));
  const hidden = graph.nodes[last].inputs[0];
  const b = new GraphBuilder(graph);
  const dropped = b.op('Dropout', [hidden, b.constant(scalar('float32', 0.25), 'ratio')], {}, 'dropped');
  // The new node was appended; the head must read its output, and come after it.
  graph.nodes[last].inputs[0] = dropped;
  graph.nodes.push(...graph.nodes.splice(last, 1));
  return { ...model, metadata: { ...model.metadata, [DROPOUT_MODE_KEY]: 'train' } };
}

/** Counts ORT runs of every session while a test runs: onnxruntime-node's and the native runner's. */
type Runs = { run: (...args: never[]) => Promise<unknown> };
const binding = (ort.InferenceSession as unknown as { prototype: Runs }).prototype;
let runs = 0;
for (const prototype of [binding, NativeSession.prototype as Runs]) {
  const plainRun = prototype.run;
  prototype.run = function (...args) {
    runs++;
    return plainRun.apply(this, args);
  };
}
afterEach(() => void (runs = 0));

/** A run of `opts` with `stepsPerRun` (the trainer's default if none): its weights, progress, checkpoints and runs. */
async function trained(opts: Omit<TrainOptions, 'onProgress' | 'checkpoints'>, stepsPerRun?: number) {
  const progress: Omit<Progress, 'elapsedMs'>[] = [];
  const checkpoints: { step: number; tensors: Map<string, TensorData> }[] = [];
  runs = 0;
  const result = await train({
    ...opts,
    stepsPerRun,
    onProgress: ({ elapsedMs: _, ...p }) => progress.push(p),
    checkpoints: { run: {}, save: (c) => void checkpoints.push({ step: c.state.step, tensors: c.tensors }) },
  });
  return { result, progress, checkpoints, runs };
}

/** AdamW on cross-entropy, the recipe of every run here. */
const adamw = { optimizer: { kind: 'adamw' as const }, loss: { kind: 'cross-entropy' as const } };

const bytesOf = (t: TensorData) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

describe('updates chunked into one run', () => {
  it('give the bytes, progress, evaluations and checkpoints of one run per update, in fewer runs', async () => {
    const model = mlpWithDropout();
    // 150 rows in batches of 16: nine full batches and a short one of 6 each epoch.
    const opts = {
      model,
      trainable: trainableParams(model.graph, { kind: 'full' }),
      train: iris,
      eval: iris,
      config: {
        ...adamw,
        batchSize: 16,
        epochs: 4,
        lr: 0.01,
        seed: 5,
        evalEvery: 7,
        checkpointEvery: 6,
      },
    };
    const one = await trained(opts, 1);
    expect(one.result.step).toBe(40);
    for (const stepsPerRun of [3, 16]) {
      const chunked = await trained(opts, stepsPerRun);
      expect(chunked.progress).toEqual(one.progress);
      expect(chunked.result.evals).toEqual(one.result.evals);
      expect(chunked.checkpoints.map((c) => c.step)).toEqual([6, 12, 18, 24, 30, 36]);
      expect(chunked.checkpoints.map((c) => c.step)).toEqual(one.checkpoints.map((c) => c.step));
      chunked.checkpoints.forEach((c, i) => {
        for (const [name, t] of c.tensors)
          expect(bytesOf(t).equals(bytesOf(one.checkpoints[i].tensors.get(name)!))).toBe(true);
      });
      for (const [name, t] of one.result.model.graph.initializers) {
        expect(bytesOf(chunked.result.model.graph.initializers.get(name)!).equals(bytesOf(t)), name).toBe(true);
      }
      // One step a run takes 40 step runs and the evaluations' runs; chunks take fewer.
      expect(chunked.runs).toBeLessThan(one.runs);
    }
    expect(one.result.evals.map((e) => e.step)).toEqual([7, 14, 21, 28, 35, 40]);
    // The dropout masks were in play: without them the same run trains to other weights.
    const still = await trained({ ...opts, model: { ...model, metadata: {} } }, 16);
    const differs = [...one.result.model.graph.initializers].some(
      ([name, t]) => !bytesOf(still.result.model.graph.initializers.get(name)!).equals(bytesOf(t)),
    );
    expect(differs).toBe(true);
  }, 60_000);

  it("are the default for a small state only, and never write the caller's tensors", async () => {
    const config = { ...adamw, batchSize: 50, epochs: 1, lr: 0.01, seed: 2 };
    const small = buildMlp({ inputs: 4, hidden: [32], classes: 3, seed: 1 });
    // 5.75 M weights: with AdamW's two moments, 69 MB of state.
    const large = buildMlp({ inputs: 4, hidden: [2048, 2800], classes: 3, seed: 1 });
    for (const [model, runsOfThreeUpdates] of [
      [small, 2],
      [large, 3],
    ] as const) {
      const before = new Map([...model.graph.initializers].map(([name, t]) => [name, Buffer.from(bytesOf(t))]));
      const run = await trained({
        model,
        trainable: trainableParams(model.graph, { kind: 'full' }),
        train: iris,
        config,
      });
      expect(run.result.step).toBe(3);
      // A small state: the first update alone (to learn the pace), then the other two in one run.
      expect(run.runs).toBe(runsOfThreeUpdates);
      for (const [name, t] of model.graph.initializers) expect(bytesOf(t).equals(before.get(name)!), name).toBe(true);
      const trainedWeights = run.result.model.graph.initializers;
      expect([...before].some(([name, b]) => !bytesOf(trainedWeights.get(name)!).equals(b))).toBe(true);
    }
  }, 60_000);

  it('take batches padded to other widths in one run, and still give the same bytes', async () => {
    const rng = Rng.fromSeed(4);
    const words = ['free', 'offer', 'now', 'meeting', 'notes', 'lunch', 'win', 'cash', 'agenda', 'draft'];
    const texts = Array.from({ length: 96 }, () =>
      Array.from({ length: 1 + rng.nextInt(12) }, () => words[rng.nextInt(words.length)]).join(' '),
    );
    const labels = Int32Array.from(texts, (t) => (/free|win|cash/.test(t) ? 1 : 0));
    const spec = {
      kind: 'hashed-ngrams' as const,
      buckets: 512,
      wordNgrams: 2,
      charNgrams: [3, 3] as [number, number],
      maxLength: 200,
      distinct: true,
    };
    const data = encodeDataset({ texts, labels, labelNames: ['ham', 'spam'] }, textEncoder(spec));
    expect(data.inputs[NGRAM_IDS]).toMatchObject({ kind: 'ragged' });
    // Batches of 8 rows are cut to their own longest text: the widths vary from batch to batch.
    const widths = new Set(
      [0, 1, 2, 3].map(
        (i) =>
          batchOf(
            data,
            Int32Array.from({ length: 8 }, (_, r) => i * 8 + r),
          ).inputs[NGRAM_IDS].dims[1],
      ),
    );
    expect(widths.size).toBeGreaterThan(1);
    const model = buildFastText({ buckets: 512, dim: 8, classes: 2, seed: 2 });
    const opts = {
      model,
      trainable: trainableParams(model.graph, { kind: 'full' }),
      train: data,
      config: { ...adamw, batchSize: 8, epochs: 3, lr: 0.05, seed: 9 },
    };
    const one = await trained(opts, 1);
    const chunked = await trained(opts, 16);
    expect(chunked.progress).toEqual(one.progress);
    for (const [name, t] of one.result.model.graph.initializers) {
      expect(bytesOf(chunked.result.model.graph.initializers.get(name)!).equals(bytesOf(t)), name).toBe(true);
    }
    // Batches of other widths share a run: 36 updates in chunks of at most 16 (the first alone, to learn the pace).
    // Before, a chunk ended at each change of width: 35 runs. (4 here; a slow machine may cut a chunk short.)
    expect(chunked.runs).toBeLessThanOrEqual(6);
  }, 60_000);
});
