import { Context } from '@temporalio/activity';
import { DistillAborted, runDistillJob } from '../engine/distill/job.ts';
import { sha256 } from '../engine/export/inference.ts';
import type { ExecutionProvider } from '../engine/runtime/index.ts';
import { checkpointedRun } from './checkpoints.ts';
import { failOnInvalidInput } from './invalid-input.ts';
import { currentJobId } from './job-id.ts';
import { objectKey, parseObjectKey, type ObjectStore } from '../core/object-store.ts';
import type { DistillInput, DistillResult, DistillScores } from '../core/jobs/stages.ts';
import { distillJobOf } from '../core/jobs/engine-job.ts';

// The distill stage: the fine-tuned model (the teacher) teaches a compact student on soft targets at temperature
// T mixed with the labels (engine/distill/job.ts): an MLP for a features teacher, a fastText model for a text one.
// The teacher and the data go in as S3 bytes; the student and its metrics, with the teacher's scored on the same
// eval rows, go to jobs/<id>/student/. The student becomes the job's candidate. The student's training checkpoints
// as the fine-tune stage's does (activities/checkpoints.ts): a retried attempt resumes from the newest checkpoint.

export function createDistill(store: ObjectStore, ep: ExecutionProvider | 'auto') {
  return async function distill(input: DistillInput): Promise<DistillResult> {
    const context = Context.current();
    const jobId = currentJobId();
    const get = async (key: string) => (await store.get(parseObjectKey(key))).bytes;
    const data = {
      teacher: await get(input.teacherKey),
      train: await get(input.trainKey),
      eval: await get(input.evalKey),
    };
    // The job names its inputs by their keys, which errors show.
    const names = { teacher: input.teacherKey, train: input.trainKey, eval: input.evalKey };
    const job = distillJobOf(input.distillation, names, input);
    // The student's checkpoints go to jobs/<id>/student/checkpoints/, apart from the teacher's training's.
    const run = await checkpointedRun(store, ['jobs', jobId, 'student', 'checkpoints'], context);
    context.heartbeat(run.progress);
    // The teacher's logits before the first step and the scoring after the last send no progress; the timer
    // keeps the heartbeat (the worker's sign of life, and how a cancel arrives) going through them.
    const alive = setInterval(() => context.heartbeat(run.progress), 2_000);
    const result = await runDistillJob(job, data, { ep, ...run.options })
      .catch(async (error: unknown) => {
        if (error instanceof DistillAborted) {
          await run.finished();
          throw run.cancelled('distillation cancelled', error.step);
        }
        failOnInvalidInput(error); // InvalidDistillOption among them
      })
      .finally(() => clearInterval(alive));
    await run.finished();

    const modelKey = objectKey('jobs', jobId, 'student', 'model.onnx');
    await store.put(modelKey, result.model);
    await store.put(objectKey('jobs', jobId, 'student', 'metrics.json'), result.metricsJson, {
      contentType: 'application/json',
    });
    const headline = ({ accuracy, macro_f1, loss, parameters }: DistillScores) => ({
      accuracy,
      macro_f1,
      loss,
      parameters,
    });
    return {
      modelKey,
      modelSha256: sha256(result.model),
      teacherSha256: sha256(data.teacher),
      datasets: { train: sha256(data.train), eval: sha256(data.eval) },
      steps: result.steps,
      ep: result.ep,
      resumedFromStep: run.resume?.state.step ?? 0,
      student: headline(result.metrics),
      teacher: headline(result.teacher),
      settings: {
        student: input.distillation.student,
        temperature: job.temperature,
        alpha: job.alpha,
        ...job.config,
      },
    };
  };
}
