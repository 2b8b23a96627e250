// A distillation job end to end, as `ratchet distill` runs it: the teacher's logits over the training set, a fresh
// student trained on them at temperature T mixed with the labels, OUT/model.onnx exported and scored beside the
// teacher on the eval set, OUT/metrics.json written.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ENGINE_VERSION, exportInference, sha256, type Lineage } from '../export/inference.ts';
import type { Model } from '../ir/index.ts';
import { checkDistillOptions } from '../losses/distill.ts';
import { importClassifier } from '../models/base.ts';
import { trainableParams } from '../models/methods.ts';
import { buildMlp } from '../models/mlp.ts';
import { createSession, type ExecutionProvider } from '../runtime/index.ts';
import { checkWidth, loadData, readInput } from '../train/files.ts';
import { scoreSession, type Scores } from '../train/score.ts';
import { train, type Progress, type TrainConfig } from '../train/trainer.ts';
import { sharedLabels, teacherLogits } from './teacher.ts';

export const studentArchs = ['mlp'] as const;

export interface DistillJob {
  teacher: string;
  train: string;
  eval: string;
  studentArch: (typeof studentArchs)[number];
  /** Hidden widths of an MLP student. */
  hidden: number[];
  temperature: number;
  /** Weight of the teacher's soft targets; 1 - alpha weighs the labels. */
  alpha: number;
  config: Omit<TrainConfig, 'ep' | 'loss'>;
}

export interface DistillResult {
  ep: ExecutionProvider;
  metrics: Scores & { parameters: number };
  teacher: Scores & { parameters: number };
}

/** Weights of a model: the elements of its float initializers of rank >= 1. */
export function parameterCount(model: Model): number {
  let n = 0;
  for (const t of model.graph.initializers.values())
    if ((t.dtype === 'float32' || t.dtype === 'float64') && t.dims.length > 0) n += t.data.length;
  return n;
}

export async function runDistillJob(
  job: DistillJob,
  opts: { out: string; ep?: ExecutionProvider | 'auto'; onProgress?: (p: Progress) => void },
): Promise<DistillResult> {
  checkDistillOptions(job);
  const teacherBytes = await readInput(job.teacher, 'teacher model');
  const teacher = importClassifier(teacherBytes, job.teacher);
  const labelNames = sharedLabels(teacher, (await loadData(job.train, 'train')).data.labelNames);
  const trainData = await loadData(job.train, 'train', labelNames);
  const evalData = await loadData(job.eval, 'eval', labelNames);
  checkWidth(trainData.data, teacher.inputs, 'train');
  checkWidth(evalData.data, teacher.inputs, 'eval');

  const threads = job.config.threads;
  const soft = await teacherLogits(teacher.model, trainData.data, { ep: opts.ep, threads });
  const student = buildMlp({
    inputs: teacher.inputs,
    hidden: job.hidden,
    classes: labelNames.length,
    seed: job.config.seed,
  });
  const result = await train({
    model: student,
    trainable: trainableParams(student.graph, { kind: 'full' }),
    train: trainData.data,
    eval: evalData.data,
    config: { ...job.config, ep: opts.ep, loss: { kind: 'distill', temperature: job.temperature, alpha: job.alpha } },
    teacherLogits: soft,
    onProgress: opts.onProgress,
  });

  const lineage: Lineage = {
    data_sha256: { train: trainData.sha256, eval: evalData.sha256 },
    hyperparameters: {
      arch: job.studentArch,
      hidden: job.hidden,
      teacher_sha256: sha256(teacherBytes),
      temperature: job.temperature,
      alpha: job.alpha,
      ...job.config,
    },
    seed: job.config.seed,
    method: 'distill',
    engine_version: ENGINE_VERSION,
  };
  const out = resolve(opts.out);
  await mkdir(out, { recursive: true });
  const bytes = exportInference(result.model, labelNames, lineage);
  await writeFile(join(out, 'model.onnx'), bytes);
  // Both scored by fresh sessions on the same eval rows: the student as the file written, the teacher as given.
  const exported = importClassifier(bytes, join(out, 'model.onnx')).model;
  const score = async (model: Model) =>
    scoreSession((await createSession(model, { ep: result.ep, threads })).session, evalData.data);
  const metrics = { ...(await score(exported)), parameters: parameterCount(exported) };
  const teacherScores = { ...(await score(teacher.model)), parameters: parameterCount(teacher.model) };
  const report = { ...metrics, ep: result.ep, steps: result.step, teacher: teacherScores };
  await writeFile(join(out, 'metrics.json'), JSON.stringify(report, null, 2) + '\n');
  return { ep: result.ep, metrics, teacher: teacherScores };
}
