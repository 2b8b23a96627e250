import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, createModel, emptyGraph, encodeModel, tensor, type Model } from '../../engine/ir/index.ts';
import { fitLabels, importClassifier, withFreshHead } from '../../engine/models/base.ts';
import { LABELS_KEY } from '../../engine/models/layout.ts';
import { parseMethod, trainableParams } from '../../engine/models/methods.ts';

/** A classifier laid out as MatMul(x, W [in, out]) + b, the other layout exporters write for nn.Linear. */
function matmulClassifier(labels?: string[]): Model {
  const b = new GraphBuilder(emptyGraph('matmul-mlp'));
  const x = b.input('x', 'float32', ['n', 2]);
  const hidden = b.op('Relu', [
    b.op('Add', [
      b.op('MatMul', [x, b.initializer('w1', tensor('float32', [2, 3], [1, 0, -1, 0, 1, 1]))]),
      b.initializer('b1', tensor('float32', [3], [0, 0, 0.5])),
    ]),
  ]);
  const w2 = b.initializer('w2', tensor('float32', [3, 2], [1, -1, 0.5, 0.5, -1, 1]));
  const y = b.op(
    'Add',
    [b.op('MatMul', [hidden, w2]), b.initializer('b2', tensor('float32', [2], [0.1, -0.1]))],
    {},
    'y',
  );
  b.output(y, 'float32', ['n', 2]);
  return createModel(b.graph, { metadata: labels ? { [LABELS_KEY]: JSON.stringify(labels) } : {} });
}

const load = (model: Model) => importClassifier(encodeModel(model), 'matmul.onnx');

describe('base classifiers', () => {
  it('imports a MatMul + Add classifier: renamed to features/logits, head found, classes read from it', () => {
    const base = load(matmulClassifier(['cat', 'dog']));
    expect(base).toMatchObject({ inputs: 2, classes: 2, labelNames: ['cat', 'dog'] });
    expect(base.model.graph.inputs[0].name).toBe('features');
    expect(base.model.graph.outputs[0].name).toBe('logits');
    expect(trainableParams(base.model.graph, parseMethod('head'))).toEqual(['w2', 'b2']);
    expect(trainableParams(base.model.graph, parseMethod('bitfit'))).toEqual(['b1', 'b2']);
  });

  it('gives a fresh head in the [hidden, classes] layout that runs with the new class count', async () => {
    const fresh = withFreshHead(load(matmulClassifier()).model, 4, 1);
    expect(fresh.graph.initializers.get('w2')!.dims).toEqual([3, 4]);
    expect(fresh.graph.initializers.get('b2')!.dims).toEqual([4]);
    expect(Array.from(fresh.graph.initializers.get('w1')!.data as Float32Array)).toEqual([1, 0, -1, 0, 1, 1]);
    const session = await ort.InferenceSession.create(encodeModel(fresh));
    const out = await session.run({ features: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [2, 2]) });
    expect(out.logits.dims).toEqual([2, 4]);
  });

  it('keeps the head for known labels, replaces it for new ones with head, and refuses them otherwise', () => {
    const base = load(matmulClassifier(['cat', 'dog']));
    expect(fitLabels(base, ['dog'], parseMethod('full'), 0)).toEqual({ model: base.model, labelNames: ['cat', 'dog'] });
    const renewed = fitLabels(base, ['cat', 'dog', 'eel'], parseMethod('head'), 0);
    expect(renewed.labelNames).toEqual(['cat', 'dog', 'eel']);
    expect(renewed.model.graph.outputs[0].shape).toEqual(['n', 3]);
    expect(() => fitLabels(base, ['cat', 'eel'], parseMethod('bitfit'), 0)).toThrow(
      /label "eel" is unknown to the base model's head \("cat", "dog"\); use --method head/,
    );
    const unlabelled = load(matmulClassifier());
    expect(fitLabels(unlabelled, ['no', 'yes'], parseMethod('full'), 0).labelNames).toEqual(['no', 'yes']);
    expect(() => fitLabels(unlabelled, ['a', 'b', 'c'], parseMethod('full'), 0)).toThrow(
      /2 outputs and no label map, the data has 3 labels/,
    );
  });

  it('refuses a model that is not a classifier, naming what is wrong', () => {
    const b = new GraphBuilder(emptyGraph('two-inputs'));
    const sum = b.op('Add', [b.input('a', 'float32', ['n', 2]), b.input('b', 'float32', ['n', 2])]);
    b.output(sum, 'float32', ['n', 2]);
    expect(() => load(createModel(b.graph))).toThrow(/one input and one output, found 2 and 1/);
    expect(() => importClassifier(Uint8Array.from([1, 2, 3]), 'junk.onnx')).toThrow(
      /junk\.onnx is not a readable ONNX model/,
    );
  });
});
