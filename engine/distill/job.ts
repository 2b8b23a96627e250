// A distillation job end to end, as `ratchet distill` and the distill activity run it, over bytes: the teacher's
// logits over the training set, a fresh student trained on them at temperature T mixed with the labels, exported and
// scored beside the teacher on the eval set. A features teacher teaches an MLP; a text teacher (one whose model
// carries its text encoding) teaches a fastText student from the same raw texts. The student's training checkpoints
// and resumes as a training job's does (engine/train/job.ts `checkpointing`): the teacher's logits are computed again
// on resume, the same bytes from the same teacher and data.
import { ENGINE_VERSION, exportInference, sha256, type Lineage } from '../export/inference.ts';
import type { Model } from '../ir/index.ts';
import { checkDistillOptions } from '../losses/distill.ts';
import { importClassifier, modelBytesOf, type Classifier, type ModelBytes } from '../models/base.ts';
import { trainableParams } from '../models/methods.ts';
import { buildMlp } from '../models/mlp.ts';
import { DEFAULT_ARCH, newTextModel, type FastTextArch } from '../models/text.ts';
import { withSession, type ExecutionProvider } from '../runtime/index.ts';
import { encodeDataset } from '../text/dataset.ts';
import { textEncoder, type TextEncoding } from '../text/encode.ts';
import type { Examples } from '../train/examples.ts';
import { checkWidth, loadData, loadTexts, type Bytes } from '../train/inputs.ts';
import { scoreSession, type Scores } from '../train/score.ts';
import type { Checkpoint } from '../train/checkpoint.ts';
import { checkpointing, checkSame, type JobOptions } from '../train/job.ts';
import { train, type TrainConfig } from '../train/trainer.ts';
import { sharedLabels, teacherLogits } from './teacher.ts';
import { InvalidInput } from '../invalid-input.ts';

export const studentArchs = ['mlp', 'fasttext'] as const;

export interface DistillJob {
  /** What the teacher and the JSONL data are called (paths, S3 keys), for errors; their bytes come in `DistillData`. */
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
  /** Intra-op threads of the teacher's logits and of scoring both models (default 2); the student's: config.threads. */
  teacherThreads?: number;
  /** `checkpointEvery` defaults to once per epoch, as a training job's does. */
  config: Omit<TrainConfig, 'ep' | 'loss'>;
}

/** The job's inputs: the teacher's ONNX bytes and the JSONL data as text or bytes. */
export interface DistillData {
  teacher: ModelBytes;
  train: Bytes;
  eval: Bytes;
}

export interface DistillJobResult {
  ep: ExecutionProvider;
  steps: number;
  /** The student (ONNX bytes). */
  model: Uint8Array;
  metrics: Scores & { parameters: number };
  teacher: Scores & { parameters: number };
  /** metrics.json: the student's metrics with the teacher's. */
  metricsJson: string;
}

/** Thrown when the caller's signal stops the student's training: nothing is exported then. */
export class DistillAborted extends Error {
  override name = 'DistillAborted';
  constructor(readonly step: number) {
    super(`distillation stopped at step ${step}`);
  }
}

/** Weights of a model: the elements of its float initializers of rank >= 1. */
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

/** The train and eval data read with the label map the teacher and the training data share. */
function trainAndEval<D extends { labelNames: string[] }>(
  job: DistillJob,
  data: DistillData,
  teacher: Classifier,
  load: (input: Bytes, name: string, labelNames?: string[]) => { data: D; sha256: string },
) {
  const labelNames = sharedLabels(teacher, load(data.train, job.train).data.labelNames);
  return { trainData: load(data.train, job.train, labelNames), evalData: load(data.eval, job.eval, labelNames) };
}

function prepareFeatures(job: DistillJob, data: DistillData, teacher: Classifier): Prepared {
  if (job.studentArch !== 'mlp') {
    throw new InvalidInput(`the teacher takes features, so the student does too: use --student-arch mlp`);
  }
  const { trainData, evalData } = trainAndEval(job, data, teacher, loadData);
  checkWidth(trainData.data, teacher.inputs, 'train');
  checkWidth(evalData.data, teacher.inputs, 'eval');
  const student = buildMlp({
    inputs: teacher.inputs,
    hidden: job.hidden,
    classes: trainData.data.labelNames.length,
    seed: job.config.seed,
  });
  return {
    ...{ teacherTrain: trainData.data, teacherEval: evalData.data, train: trainData.data, eval: evalData.data },
    student,
    sha: { train: trainData.sha256, eval: evalData.sha256 },
  };
}

function prepareText(job: DistillJob, data: DistillData, teacher: Classifier, encoding: TextEncoding): Prepared {
  if (job.studentArch !== 'fasttext') {
    throw new InvalidInput(`the teacher takes text, so the student does too: use --student-arch fasttext`);
  }
  const { trainData, evalData } = trainAndEval(job, data, teacher, loadTexts);
  const arch = { ...DEFAULT_ARCH.fasttext, ...job.fasttext };
  const student = newTextModel(arch, trainData.data.texts, trainData.data.labelNames.length, job.config.seed);
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

/** What each checkpoint of a distillation records: the job and its inputs' sha256, which a resume checks. */
type DistillRun = DistillJob & { sha256: { teacher: string; train: string; eval: string } };

/**
 * A checkpoint is resumed only by the distillation that wrote it: the same teacher and data (by sha256) and the
 * same settings; what the inputs are called may differ.
 */
function checkResumable(run: DistillRun, resume: Checkpoint | undefined): void {
  if (!resume) return;
  const recorded = resume.state.run as Partial<DistillRun>;
  if (recorded.sha256?.teacher === undefined) throw new InvalidInput(`the checkpoint is not a distillation's`);
  for (const file of ['teacher', 'train', 'eval'] as const) checkSame(file, recorded.sha256[file], run.sha256[file]);
  const settings = ({ teacher: _t, train: _tr, eval: _e, ...rest }: Partial<DistillRun>) => JSON.stringify(rest);
  if (settings(recorded) !== settings(JSON.parse(JSON.stringify(run)) as DistillRun)) {
    throw new InvalidInput('the checkpoint was written by a distillation with other settings');
  }
}

export async function runDistillJob(
  job: DistillJob,
  inputs: DistillData,
  opts: JobOptions = {},
): Promise<DistillJobResult> {
  checkDistillOptions(job);
  const teacher = importClassifier(inputs.teacher, job.teacher);
  const data = teacher.text ? prepareText(job, inputs, teacher, teacher.text) : prepareFeatures(job, inputs, teacher);
  const run: DistillRun = { ...job, sha256: { teacher: sha256(modelBytesOf(inputs.teacher)), ...data.sha } };
  checkResumable(run, opts.resume);

  const threads = job.teacherThreads;
  const soft = await teacherLogits(teacher.model, data.teacherTrain, { ep: opts.ep, threads });
  const loss = { kind: 'distill', temperature: job.temperature, alpha: job.alpha } as const;
  const result = await train({
    model: data.student,
    trainable: trainableParams(data.student.graph, { kind: 'full' }),
    train: data.train,
    eval: data.eval,
    ...checkpointing({ ...job.config, loss }, data.train.rows, run, opts),
    resume: opts.resume,
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
      teacher_sha256: run.sha256.teacher,
      temperature: job.temperature,
      alpha: job.alpha,
      ...job.config,
    },
    seed: job.config.seed,
    method: 'distill',
    engine_version: ENGINE_VERSION,
  };
  const model = exportInference(result.model, data.eval.labelNames, lineage, data.text);
  // Both scored by fresh sessions on the same eval rows: the student as exported, the teacher as given.
  const exported = importClassifier(model, 'model.onnx').model;
  const score = async (model: Model, rows: Examples) =>
    withSession(model, { ep: result.ep, threads }, (session) => scoreSession(session, rows));
  const metrics = { ...(await score(exported, data.eval)), parameters: parameterCount(exported) };
  const teacherScores = {
    ...(await score(teacher.model, data.teacherEval)),
    parameters: parameterCount(teacher.model),
  };
  const report = { ...metrics, ep: result.ep, steps: result.step, teacher: teacherScores };
  const metricsJson = JSON.stringify(report, null, 2) + '\n';
  return { ep: result.ep, steps: result.step, model, metrics, teacher: teacherScores, metricsJson };
}
