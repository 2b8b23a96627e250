// A distillation job end to end, as `ratchet distill` runs it: the teacher's logits over the training set, a fresh
// student trained on them at temperature T mixed with the labels, OUT/model.onnx exported and scored beside the
// teacher on the eval set, OUT/metrics.json written. A features teacher teaches an MLP; a text teacher (one whose
// model carries its text encoding) teaches a fastText student from the same raw texts.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ENGINE_VERSION, exportInference, sha256, type Lineage } from '../export/inference.ts';
import type { Model } from '../ir/index.ts';
import { checkDistillOptions } from '../losses/distill.ts';
import { importClassifier, type Classifier } from '../models/base.ts';
import { trainableParams } from '../models/methods.ts';
import { buildMlp } from '../models/mlp.ts';
import { DEFAULT_ARCH, newTextModel, type FastTextArch } from '../models/text.ts';
import { withSession, type ExecutionProvider } from '../runtime/index.ts';
import { encodeDataset } from '../text/dataset.ts';
import { textEncoder, type TextEncoding } from '../text/encode.ts';
import type { Examples } from '../train/examples.ts';
import { checkWidth, loadData, loadTexts, readInput } from '../train/files.ts';
import { scoreSession, type Scores } from '../train/score.ts';
import { train, type Progress, type TrainConfig } from '../train/trainer.ts';
import { sharedLabels, teacherLogits } from './teacher.ts';
import { InvalidInput } from '../invalid-input.ts';

export const studentArchs = ['mlp', 'fasttext'] as const;

export interface DistillJob {
  teacher: string;
  train: string;
  eval: string;
  studentArch: (typeof studentArchs)[number];
  /** Hidden widths of an MLP student. */
  hidden: number[];
  /** Sizes of a fastText student (default: models/text.ts DEFAULT_ARCH.fasttext). */
  fasttext?: Partial<Omit<FastTextArch, 'kind'>>;
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
/** Thrown when the caller's signal stops the student's training: nothing is exported then. */
export class DistillAborted extends Error {
  override name = 'DistillAborted';
  constructor(readonly step: number) {
    super(`distillation stopped at step ${step}`);
  }
}

export function parameterCount(model: Model): number {
  let n = 0;
  for (const t of model.graph.initializers.values())
    if ((t.dtype === 'float32' || t.dtype === 'float64') && t.dims.length > 0) n += t.data.length;
  return n;
}

/** The same rows twice over: encoded for the teacher and for the student. */
interface Prepared {
  teacherTrain: Examples;
  teacherEval: Examples;
  train: Examples;
  eval: Examples;
  student: Model;
  text?: TextEncoding;
  sha: { train: string; eval: string };
}

async function prepareFeatures(job: DistillJob, teacher: Classifier): Promise<Prepared> {
  if (job.studentArch !== 'mlp') {
    throw new InvalidInput(`the teacher takes features, so the student does too: use --student-arch mlp`);
  }
  const labelNames = sharedLabels(teacher, (await loadData(job.train, 'train')).data.labelNames);
  const [trainData, evalData] = [
    await loadData(job.train, 'train', labelNames),
    await loadData(job.eval, 'eval', labelNames),
  ];
  checkWidth(trainData.data, teacher.inputs, 'train');
  checkWidth(evalData.data, teacher.inputs, 'eval');
  const student = buildMlp({
    inputs: teacher.inputs,
    hidden: job.hidden,
    classes: labelNames.length,
    seed: job.config.seed,
  });
  return {
    ...{ teacherTrain: trainData.data, teacherEval: evalData.data, train: trainData.data, eval: evalData.data },
    student,
    sha: { train: trainData.sha256, eval: evalData.sha256 },
  };
}

async function prepareText(job: DistillJob, teacher: Classifier, encoding: TextEncoding): Promise<Prepared> {
  if (job.studentArch !== 'fasttext') {
    throw new InvalidInput(`the teacher takes text, so the student does too: use --student-arch fasttext`);
  }
  const labelNames = sharedLabels(teacher, (await loadTexts(job.train, 'train')).data.labelNames);
  const [trainData, evalData] = [
    await loadTexts(job.train, 'train', labelNames),
    await loadTexts(job.eval, 'eval', labelNames),
  ];
  const arch = { ...DEFAULT_ARCH.fasttext, ...job.fasttext };
  const student = newTextModel(arch, trainData.data.texts, labelNames.length, job.config.seed);
  const [forTeacher, forStudent] = [textEncoder(encoding), textEncoder(student.encoding)];
  return {
    teacherTrain: encodeDataset(trainData.data, forTeacher),
    teacherEval: encodeDataset(evalData.data, forTeacher),
    train: encodeDataset(trainData.data, forStudent),
    eval: encodeDataset(evalData.data, forStudent),
    student: student.model,
    text: student.encoding,
    sha: { train: trainData.sha256, eval: evalData.sha256 },
  };
}

export async function runDistillJob(
  job: DistillJob,
  opts: { out: string; ep?: ExecutionProvider | 'auto'; onProgress?: (p: Progress) => void; signal?: AbortSignal },
): Promise<DistillResult> {
  checkDistillOptions(job);
  const teacherBytes = await readInput(job.teacher, 'teacher model');
  const teacher = importClassifier(teacherBytes, job.teacher);
  const data = teacher.text ? await prepareText(job, teacher, teacher.text) : await prepareFeatures(job, teacher);

  const threads = job.config.threads;
  const soft = await teacherLogits(teacher.model, data.teacherTrain, { ep: opts.ep, threads });
  const result = await train({
    model: data.student,
    trainable: trainableParams(data.student.graph, { kind: 'full' }),
    train: data.train,
    eval: data.eval,
    config: { ...job.config, ep: opts.ep, loss: { kind: 'distill', temperature: job.temperature, alpha: job.alpha } },
    teacherLogits: soft,
    onProgress: opts.onProgress,
    signal: opts.signal,
  });
  if (result.stopped === 'aborted') throw new DistillAborted(result.step);

  const lineage: Lineage = {
    data_sha256: { train: data.sha.train, eval: data.sha.eval },
    hyperparameters: {
      arch: job.studentArch,
      ...(job.studentArch === 'mlp'
        ? { hidden: job.hidden }
        : { fasttext: { ...DEFAULT_ARCH.fasttext, ...job.fasttext } }),
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
  const bytes = exportInference(result.model, data.eval.labelNames, lineage, data.text);
  await writeFile(join(out, 'model.onnx'), bytes);
  // Both scored by fresh sessions on the same eval rows: the student as the file written, the teacher as given.
  const exported = importClassifier(bytes, join(out, 'model.onnx')).model;
  const score = async (model: Model, rows: Examples) =>
    withSession(model, { ep: result.ep, threads }, (session) => scoreSession(session, rows));
  const metrics = { ...(await score(exported, data.eval)), parameters: parameterCount(exported) };
  const teacherScores = {
    ...(await score(teacher.model, data.teacherEval)),
    parameters: parameterCount(teacher.model),
  };
  const report = { ...metrics, ep: result.ep, steps: result.step, teacher: teacherScores };
  await writeFile(join(out, 'metrics.json'), JSON.stringify(report, null, 2) + '\n');
  return { ep: result.ep, metrics, teacher: teacherScores };
}
