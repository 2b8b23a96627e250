// evaluate() on the logits of a trained model run by ONNX Runtime, against scikit-learn's metrics for the same model.
// The model (multinomial logistic regression on Iris) was fitted by scikit-learn; test/fixtures/metrics/iris_logreg.py
// wrote its weights and the metrics scikit-learn computes for it.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { parseFeatureRowsJsonl, parseTabularJsonl, type TabularDataset } from '../../engine/data/index.ts';
import { irisJsonl } from '../helpers/iris.ts';
import { createModel, GraphBuilder, tensor } from '../../engine/ir/index.ts';
import { evaluate } from '../../engine/metrics/index.ts';
import { createSession, type EngineSession } from '../../engine/runtime/index.ts';
import { oodAurocOfSession } from '../../engine/train/ood.ts';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/metrics/iris_logreg.json', import.meta.url), 'utf8')) as {
  label_names: string[];
  weight: number[];
  bias: number[];
  expected: {
    accuracy: number;
    macro_f1: number;
    precision: number[];
    recall: number[];
    f1: number[];
    support: number[];
    confusion_matrix: number[][];
    ece: number;
    brier: number;
    nll: number;
    ood_auroc: number;
  };
};

// The logits are float32 from ORT where scikit-learn's figures come from float64 arithmetic on the same weights.
const TOLERANCE = 1e-6;

async function logitsOf(session: EngineSession, data: TabularDataset, features = data.features) {
  const out = await session.run({ features: new ort.Tensor('float32', features, [data.rows, data.width]) });
  return out[session.outputNames[0]].data as Float32Array;
}

const iris = parseTabularJsonl(irisJsonl(), { labelNames: fixture.label_names });

/** The fixture's logistic regression as an ORT session: `features` in, `logits` out. */
async function fixtureSession(): Promise<EngineSession> {
  const classes = fixture.label_names.length;
  const b = new GraphBuilder();
  const x = b.input('features', 'float32', ['batch', iris.width]);
  const w = b.initializer('weight', tensor('float32', [iris.width, classes], fixture.weight));
  const bias = b.initializer('bias', tensor('float32', [classes], fixture.bias));
  b.output(b.op('Add', [b.op('MatMul', [x, w]), bias], {}, 'logits'), 'float32', ['batch', classes]);
  return (await createSession(createModel(b.graph))).session;
}

/** The OOD rows the fixture scored: Iris with its feature columns reversed. */
function reversedIris(): Float32Array {
  const reversed = new Float32Array(iris.features.length);
  for (let r = 0; r < iris.rows; r++) {
    for (let j = 0; j < iris.width; j++)
      reversed[r * iris.width + j] = iris.features[r * iris.width + iris.width - 1 - j];
  }
  return reversed;
}

describe('evaluate on a trained model run by ONNX Runtime', () => {
  it('matches scikit-learn within 1e-6', async () => {
    const session = await fixtureSession();
    const reversed = reversedIris();

    const m = evaluate(await logitsOf(session, iris), iris.labels, iris.labelNames, {
      oodLogits: await logitsOf(session, iris, reversed),
    });
    const e = fixture.expected;
    expect(m.accuracy).toBe(e.accuracy);
    expect(m.confusion_matrix).toEqual(e.confusion_matrix);
    expect(Math.abs(m.macro_f1 - e.macro_f1)).toBeLessThan(TOLERANCE);
    iris.labelNames.forEach((name, k) => {
      expect(m.per_class[name].support).toBe(e.support[k]);
      expect(Math.abs(m.per_class[name].precision - e.precision[k])).toBeLessThan(TOLERANCE);
      expect(Math.abs(m.per_class[name].recall - e.recall[k])).toBeLessThan(TOLERANCE);
      expect(Math.abs(m.per_class[name].f1 - e.f1[k])).toBeLessThan(TOLERANCE);
    });
    expect(Math.abs(m.ece - e.ece)).toBeLessThan(TOLERANCE);
    expect(Math.abs(m.brier - e.brier)).toBeLessThan(TOLERANCE);
    expect(Math.abs(m.nll - e.nll)).toBeLessThan(TOLERANCE);
    expect(Math.abs(m.ood_auroc! - e.ood_auroc)).toBeLessThan(TOLERANCE);
    await session.release();
  });

  it("oodAurocOfSession matches scikit-learn's OOD AUROC from an unlabelled JSONL file, across batches", async () => {
    const session = await fixtureSession();
    const reversed = reversedIris();
    const lines = Array.from({ length: iris.rows }, (_, r) =>
      JSON.stringify({ features: Array.from(reversed.subarray(r * iris.width, (r + 1) * iris.width)) }),
    );
    // Every OOD row eight times (1200 rows, two session runs): repeating each negative leaves the AUROC unchanged.
    const ood = parseFeatureRowsJsonl(Array.from({ length: 8 }, () => lines.join('\n')).join('\n') + '\n');
    expect(ood.rows).toBe(8 * iris.rows);
    expect(Math.abs((await oodAurocOfSession(session, iris, ood)) - fixture.expected.ood_auroc)).toBeLessThan(
      TOLERANCE,
    );
    await expect(
      oodAurocOfSession(session, iris, { rows: 1, width: 3, features: new Float32Array(3) }),
    ).rejects.toThrow('the OOD rows have 3 features; the model takes 4');
    await session.release();
  });
});
