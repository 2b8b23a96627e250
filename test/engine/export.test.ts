import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { parseTabularJsonl } from '../../engine/data/index.ts';
import { irisJsonl } from '../helpers/iris.ts';
import { exportInference, sha256, type Lineage } from '../../engine/export/inference.ts';
import { decodeModel } from '../../engine/ir/index.ts';
import { LABELS_KEY, LINEAGE_KEY } from '../../engine/models/layout.ts';
import { buildMlp } from '../../engine/models/mlp.ts';
import { trainableParams } from '../../engine/models/methods.ts';
import { train } from '../../engine/train/trainer.ts';

const iris = parseTabularJsonl(irisJsonl(), { source: 'iris' });

describe('inference export', async () => {
  const model = buildMlp({ inputs: 4, hidden: [8], classes: 3, seed: 1 });
  const result = await train({
    model,
    trainable: trainableParams(model.graph, { kind: 'full' }),
    train: iris,
    eval: iris,
    config: {
      batchSize: 16,
      maxSteps: 30,
      lr: 0.01,
      optimizer: { kind: 'adamw' },
      loss: { kind: 'cross-entropy', smoothing: 0.1 },
      seed: 1,
    },
  });
  const lineage: Lineage = {
    data_sha256: { train: sha256(new TextEncoder().encode(irisJsonl())) },
    hyperparameters: { lr: 0.01 },
    seed: 1,
    method: 'full',
    engine_version: '0.1.0',
  };
  const bytes = exportInference(result.model, iris.labelNames, lineage);

  it("reproduces the trainer's eval logits in a fresh ORT session", async () => {
    const session = await ort.InferenceSession.create(bytes);
    expect(session.inputNames).toEqual(['features']);
    expect(session.outputNames).toEqual(['logits']);
    const out = await session.run({ features: new ort.Tensor('float32', iris.features, [iris.rows, 4]) });
    const logits = out.logits.data as Float32Array;
    const trainerLogits = result.evals.at(-1)!.logits;
    expect(logits.length).toBe(trainerLogits.length);
    logits.forEach((v, i) => expect(v).toBeCloseTo(trainerLogits[i], 5));
  });

  it('holds no training nodes: only the forward ops, weights as initializers, one input', () => {
    const exported = decodeModel(bytes);
    expect(exported.graph.nodes.map((n) => n.op)).toEqual(['Gemm', 'Relu', 'Gemm']);
    expect(exported.graph.inputs.map((v) => v.name)).toEqual(['features']);
    expect([...exported.graph.initializers.keys()].sort()).toEqual(['0.bias', '0.weight', '2.bias', '2.weight']);
    expect(exported.graph.initializers.get('0.weight')!.data).toEqual(
      result.model.graph.initializers.get('0.weight')!.data,
    );
  });

  it('carries the label map and lineage in metadata_props', () => {
    const { metadata } = decodeModel(bytes);
    expect(JSON.parse(metadata[LABELS_KEY])).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(JSON.parse(metadata[LINEAGE_KEY])).toEqual(lineage);
  });

  it('is deterministic and refuses a label map that does not fit the outputs', () => {
    expect(sha256(exportInference(result.model, iris.labelNames, lineage))).toBe(sha256(bytes));
    expect(() => exportInference(result.model, ['a', 'b'], lineage)).toThrow(/2 labels for a model with 3 outputs/);
  });
});
