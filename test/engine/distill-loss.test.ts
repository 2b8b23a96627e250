import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { parseTabularJsonl, stratifiedSplit, takeRows, type TabularDataset } from '../../engine/data/index.ts';
import { irisJsonl } from '../helpers/iris.ts';
import { GraphBuilder, createModel, emptyGraph, tensor } from '../../engine/ir/index.ts';
import { distillationLoss } from '../../engine/losses/index.ts';
import { accuracy, argmaxRows } from '../../engine/metrics/index.ts';
import { FEATURES, LOGITS } from '../../engine/models/layout.ts';
import { trainableParams } from '../../engine/models/methods.ts';
import { buildMlp } from '../../engine/models/mlp.ts';
import { createSession } from '../../engine/runtime/index.ts';
import { train, type TrainConfig } from '../../engine/train/trainer.ts';
import { gradcheck } from './gradcheck.ts';

const student = [
  [2, -1, 0.5],
  [0.1, 0.2, 3],
  [-4, 6, 1],
];
const teacher = [
  [1.5, 0.5, -2],
  [0, 2, 2.5],
  [-3, 4, 3.5],
];
const labels = [0, 2, 1];

function logSoftmax(row: number[]): number[] {
  const max = Math.max(...row);
  const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
  return row.map((v) => v - lse);
}

/** alpha · T² · KL(p_t ‖ p_s) + (1 - alpha) · CE, averaged over rows, in float64 by hand. */
function handLoss(temperature: number, alpha: number): number {
  let total = 0;
  student.forEach((s, r) => {
    const logPs = logSoftmax(s.map((v) => v / temperature));
    const logPt = logSoftmax(teacher[r].map((v) => v / temperature));
    const kl = logPt.reduce((sum, lt, c) => sum + Math.exp(lt) * (lt - logPs[c]), 0);
    const ce = -logSoftmax(s)[labels[r]];
    total += alpha * temperature ** 2 * kl + (1 - alpha) * ce;
  });
  return total / student.length;
}

async function graphLoss(temperature: number, alpha: number): Promise<number> {
  const b = new GraphBuilder(emptyGraph('kd'));
  const s = b.input('student', 'float32', ['batch', 3]);
  const t = b.input('teacher', 'float32', ['batch', 3]);
  const y = b.input('labels', 'int64', ['batch']);
  const loss = distillationLoss(b, s, y, t, { classes: 3, temperature, alpha });
  b.output(loss, 'float32', []);
  const { session } = await createSession(createModel(b.graph));
  const out = await session.run({
    student: new ort.Tensor('float32', Float32Array.from(student.flat()), [3, 3]),
    teacher: new ort.Tensor('float32', Float32Array.from(teacher.flat()), [3, 3]),
    labels: new ort.Tensor('int64', BigInt64Array.from(labels, BigInt), [3]),
  });
  return (out[loss].data as Float32Array)[0];
}

describe('distillation loss', () => {
  for (const [temperature, alpha] of [
    [1, 0.5],
    [4, 0.9],
    [2, 1],
    [3, 0],
  ]) {
    it(`matches a hand computation at T = ${temperature}, alpha = ${alpha}`, async () => {
      const expected = handLoss(temperature, alpha);
      expect(await graphLoss(temperature, alpha)).toBeCloseTo(expected, 5);
    });
  }

  it('is the cross-entropy alone when the student equals the teacher (KL = 0)', async () => {
    const b = new GraphBuilder(emptyGraph('kd'));
    const s = b.input('student', 'float32', [3, 3]);
    const y = b.input('labels', 'int64', [3]);
    const loss = distillationLoss(b, s, y, s, { classes: 3, temperature: 2, alpha: 0.5 });
    b.output(loss, 'float32', []);
    const { session } = await createSession(createModel(b.graph));
    const out = await session.run({
      student: new ort.Tensor('float32', Float32Array.from(student.flat()), [3, 3]),
      labels: new ort.Tensor('int64', BigInt64Array.from(labels, BigInt), [3]),
    });
    const ce = student.reduce((sum, row, r) => sum - logSoftmax(row)[labels[r]], 0) / 3;
    expect((out[loss].data as Float32Array)[0]).toBeCloseTo(0.5 * ce, 5);
  });

  it('has gradients that match central finite differences', async () => {
    const result = await gradcheck(
      [
        { name: 'student', shape: [4, 3], range: [-3, 3] },
        { name: 'teacher', shape: [4, 3], values: tensor('float32', [4, 3], [1, 2, -1, 0, 0, 3, -2, 1, 1, 4, -4, 0]) },
        { name: 'labels', shape: [4], values: tensor('int64', [4], [0, 2, 1, 0]) },
      ],
      (b, x) => distillationLoss(b, x.student, x.labels, x.teacher, { classes: 3, temperature: 2.5, alpha: 0.7 }),
      { dtype: 'float32', seed: 11 },
    );
    expect(result.checked).toBe(12);
    expect(result.mismatches).toEqual([]);
  });

  it('refuses a temperature <= 0 and an alpha outside [0, 1]', () => {
    const b = new GraphBuilder(emptyGraph('kd'));
    const [s, y] = [b.input('s', 'float32', [1, 2]), b.input('y', 'int64', [1])];
    expect(() => distillationLoss(b, s, y, s, { classes: 2, temperature: 0, alpha: 0.5 })).toThrow(
      /temperature must be a number > 0, got 0/,
    );
    expect(() => distillationLoss(b, s, y, s, { classes: 2, temperature: 1, alpha: 1.5 })).toThrow(
      /alpha must be in \[0, 1\], got 1.5/,
    );
  });
});

describe('training with the distillation loss', () => {
  function subset(data: TabularDataset, rows: Int32Array): TabularDataset {
    const { features, labels: l } = takeRows(data, rows);
    return { ...data, rows: rows.length, features, labels: l };
  }
  const iris = parseTabularJsonl(irisJsonl(), { source: 'iris' });
  const split = stratifiedSplit(iris.labels, 0.3, 7);
  const [irisTrain, irisHeldOut] = [subset(iris, split.train), subset(iris, split.heldOut)];
  const config = (loss: TrainConfig['loss']): TrainConfig => ({
    batchSize: 16,
    epochs: 60,
    lr: 0.01,
    optimizer: { kind: 'adamw' },
    loss,
    seed: 1,
  });
  const logitsOf = async (model: ReturnType<typeof buildMlp>, data: TabularDataset) => {
    const { session } = await createSession(model);
    const out = await session.run({ [FEATURES]: new ort.Tensor('float32', data.features, [data.rows, data.width]) });
    return out[LOGITS].data as Float32Array;
  };

  it('teaches a student from the teacher alone (alpha = 1): it learns what the teacher predicts', async () => {
    const teacherModel = buildMlp({ inputs: 4, hidden: [16], classes: 3, seed: 1 });
    const taught = await train({
      model: teacherModel,
      trainable: trainableParams(teacherModel.graph, { kind: 'full' }),
      train: irisTrain,
      config: config({ kind: 'cross-entropy' }),
    });
    const teacherLogits = await logitsOf(taught.model, irisTrain);
    // The student sees only soft targets: labels are scrambled, so whatever it learns came from the teacher.
    const scrambled = { ...irisTrain, labels: irisTrain.labels.map((l) => (l + 1) % 3) };
    const studentModel = buildMlp({ inputs: 4, hidden: [8], classes: 3, seed: 2 });
    const result = await train({
      model: studentModel,
      trainable: trainableParams(studentModel.graph, { kind: 'full' }),
      train: scrambled,
      config: config({ kind: 'distill', temperature: 2, alpha: 1 }),
      teacherLogits,
    });
    const predicted = argmaxRows(await logitsOf(result.model, irisHeldOut), 3);
    const teacherSays = argmaxRows(await logitsOf(taught.model, irisHeldOut), 3);
    expect(accuracy(predicted, teacherSays)).toBeGreaterThanOrEqual(0.9);
    expect(accuracy(predicted, irisHeldOut.labels)).toBeGreaterThanOrEqual(0.9);
  });

  it("refuses to start without the teacher's logits for every row", async () => {
    const model = buildMlp({ inputs: 4, hidden: [8], classes: 3, seed: 2 });
    const run = (teacherLogits?: Float32Array) =>
      train({
        model,
        trainable: trainableParams(model.graph, { kind: 'full' }),
        train: irisTrain,
        config: config({ kind: 'distill', temperature: 2, alpha: 0.5 }),
        teacherLogits,
      });
    await expect(run()).rejects.toThrow(
      /needs the teacher's logits for each of the 105 training rows × 3 classes, got none/,
    );
    await expect(run(new Float32Array(10))).rejects.toThrow(/got 10 values/);
  });
});
