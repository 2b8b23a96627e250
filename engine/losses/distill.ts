import { InvalidInput } from '../invalid-input.ts';
import { scalar, type GraphBuilder } from '../ir/index.ts';
import { softmaxCrossEntropy } from './cross-entropy.ts';

/** The graph input that carries the teacher's logits for the batch, [batch, classes]. */
export const TEACHER_LOGITS = 'teacher_logits';

export interface DistillOptions {
  classes: number;
  /** Softens both distributions; T > 1 exposes the teacher's ranking of the wrong classes. */
  temperature: number;
  /** Weight of the soft (teacher) term; 1 - alpha weighs the hard-label cross-entropy. */
  alpha: number;
}

/** A distillation option out of range; `field` names it, so a caller (the API) can point at the field. */
export class InvalidDistillOption extends InvalidInput {
  override name = 'InvalidDistillOption';
  constructor(
    readonly field: 'temperature' | 'alpha',
    message: string,
  ) {
    super(message);
  }
}

export function checkDistillOptions({ temperature, alpha }: Omit<DistillOptions, 'classes'>): void {
  if (!(Number.isFinite(temperature) && temperature > 0)) {
    throw new InvalidDistillOption('temperature', `distillation temperature must be a number > 0, got ${temperature}`);
  }
  if (!(alpha >= 0 && alpha <= 1)) {
    throw new InvalidDistillOption('alpha', `distillation alpha must be in [0, 1], got ${alpha}`);
  }
}

/**
 * Knowledge distillation (Hinton et al., 2015), the batch mean of
 *   alpha · T² · KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 - alpha) · CE(student, label).
 * T² keeps the soft term's gradients on the scale of the hard term's as T grows (they shrink as 1/T²).
 * Both log-distributions come from LogSoftmax, so large logits do not overflow; the teacher's side is an input,
 * so no gradient flows into it.
 */
export function distillationLoss(
  b: GraphBuilder,
  logits: string,
  labels: string,
  teacherLogits: string,
  opts: DistillOptions,
): string {
  const { classes, temperature, alpha } = opts;
  checkDistillOptions(opts);
  const inverseT = b.constant(scalar('float32', 1 / temperature), 'inverse_temperature');
  const student = b.op('LogSoftmax', [b.op('Mul', [logits, inverseT])], { axis: -1 }, 'student_log_probs');
  const teacher = b.op('LogSoftmax', [b.op('Mul', [teacherLogits, inverseT])], { axis: -1 }, 'teacher_log_probs');
  const pointwise = b.op('Mul', [b.op('Exp', [teacher]), b.op('Sub', [teacher, student])]);
  // Mean over batch × classes, times classes: the batch mean of each row's KL sum.
  const kl = b.op('ReduceMean', [pointwise], { keepdims: 0 }, 'kl');
  const soft = b.op('Mul', [kl, b.constant(scalar('float32', alpha * temperature ** 2 * classes))]);
  const hard = softmaxCrossEntropy(b, logits, labels, { classes, name: 'hard_loss' });
  return b.op('Add', [soft, b.op('Mul', [hard, b.constant(scalar('float32', 1 - alpha))])], {}, 'loss');
}
