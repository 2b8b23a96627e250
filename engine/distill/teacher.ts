// The teacher side of distillation: a classifier ONNX model run by its own ORT session, once over the training set,
// so the student's every step reads precomputed logits instead of running the teacher again.
import type { Model } from '../ir/index.ts';
import { withSession, type ExecutionProvider } from '../runtime/index.ts';
import { batchOf, type Examples } from '../train/examples.ts';
import { sessionLogits } from '../train/score.ts';
import { InvalidInput } from '../invalid-input.ts';

/** The teacher's logits for every row of `data` (encoded for the teacher), rows × classes, in row order. */
export function teacherLogits(
  teacher: Model,
  data: Examples,
  opts: { ep?: ExecutionProvider | 'auto'; threads?: number } = {},
): Promise<Float32Array> {
  return withSession(teacher, opts, (session) =>
    sessionLogits(session, data, data.labelNames.length, (ix) => batchOf(data, ix).inputs),
  );
}

/**
 * The label map the student takes: the teacher's, so that logit column c means the same class on both sides. The
 * data may not hold a label the teacher does not score; a teacher without a label map is taken to score the data's
 * labels in sorted order when the counts match.
 */
export function sharedLabels(teacher: { labelNames?: string[]; classes: number }, dataLabels: string[]): string[] {
  const known = teacher.labelNames;
  if (!known) {
    if (dataLabels.length !== teacher.classes) {
      throw new InvalidInput(
        `the teacher has ${teacher.classes} outputs and no label map, the data has ${dataLabels.length} labels; ` +
          `distillation needs one label set for teacher and student`,
      );
    }
    return dataLabels;
  }
  const unknown = dataLabels.filter((l) => !known.includes(l));
  if (unknown.length > 0) {
    throw new InvalidInput(
      `the data's label ${unknown.map((l) => JSON.stringify(l)).join(', ')} is not one of the teacher's ` +
        `(${known.map((l) => JSON.stringify(l)).join(', ')}); distillation needs one label set for teacher and student`,
    );
  }
  return known;
}
