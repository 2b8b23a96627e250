// A job's spec as the engine runs it: the names of its inputs (file paths for `ratchet train` / `ratchet distill`,
// S3 keys for the activities) joined to the spec's settings; the inputs' bytes go to the engine beside the job. The
// fine-tune and distill activities and the two commands all build the engine's job here, so a setting means the same
// wherever it is given.
import { z } from 'zod';
import { InvalidInput } from '../../engine/invalid-input.ts';
import type { DistillJob } from '../../engine/distill/job.ts';
import type { TrainJob } from '../../engine/train/job.ts';
import { distillationSchema, type DistillationInput, type DistillationSpec } from './spec.ts';
import type { TrainingSpec } from './stages.ts';

export function trainJobOf(training: TrainingSpec, files: { train: string; eval?: string; base?: string }): TrainJob {
  return {
    train: files.train,
    ...(files.eval ? { eval: files.eval } : {}),
    ...(files.base ? { base: files.base } : {}),
    hidden: training.hidden,
    method: training.method,
    ...(training.text ? { text: training.text } : {}),
    // JSON drops the settings left unset, as the checkpoint that stores the job will.
    config: JSON.parse(JSON.stringify(training.config)),
  };
}

/**
 * The student's training: the distillation's settings, with the seed of the job's training; the teacher's logits run
 * on the training's threads, and so does the student unless the distillation names its own (a fastText student's
 * default is one, the spec's schema). A spec
 * is parsed again here (a no-op on a parsed one) because a workflow started before the defaults moved into the
 * schema carries the distillation as it was sent.
 */
export function distillJobOf(
  distillation: DistillationSpec | DistillationInput,
  files: { teacher: string; train: string; eval: string },
  training: { seed: number; threads?: number },
): DistillJob {
  const parsed = distillationSchema.safeParse(distillation);
  if (!parsed.success) throw new InvalidInput(`distillation: ${z.prettifyError(parsed.error)}`);
  const { temperature, alpha, student, config } = parsed.data;
  return {
    ...files,
    ...('fasttext' in student
      ? { studentArch: 'fasttext', hidden: [], fasttext: student.fasttext }
      : { studentArch: 'mlp', hidden: student.hidden }),
    temperature,
    alpha,
    ...(training.threads === undefined ? {} : { teacherThreads: training.threads }),
    config: JSON.parse(
      JSON.stringify({
        ...config,
        decay: 'cosine',
        optimizer: { kind: 'adamw' },
        seed: training.seed,
        threads: config.threads ?? training.threads,
      }),
    ),
  };
}
