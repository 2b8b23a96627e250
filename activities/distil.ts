import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledFailure, Context } from '@temporalio/activity';
import { DistillAborted, runDistillJob } from '../engine/distill/job.ts';
import { sha256 } from '../engine/export/inference.ts';
import type { ExecutionProvider } from '../engine/runtime/index.ts';
import { failOnInvalidInput } from './invalid-input.ts';
import { currentJobId } from './job-id.ts';
import { objectKey, parseObjectKey, type ObjectStore } from '../core/object-store.ts';
import type { DistilInput, DistilResult, DistilScores, TrainProgress } from '../core/jobs/stages.ts';
import { distillJobOf } from '../core/jobs/engine-job.ts';

// The distil stage: the fine-tuned model (the teacher) teaches a compact student on soft targets at temperature
// T mixed with the labels (engine/distill/job.ts): an MLP for a features teacher, a fastText model for a text one. The student and its metrics, with the teacher's scored on the
// same eval rows, go to jobs/<id>/student/. The student becomes the job's candidate.

export function createDistil(store: ObjectStore, ep: ExecutionProvider | 'auto') {
  return async function distil(input: DistilInput): Promise<DistilResult> {
    const context = Context.current();
    const jobId = currentJobId();
    const work = await mkdtemp(join(tmpdir(), 'ratchet-distil-'));
    try {
      const files = {
        teacher: join(work, 'teacher.onnx'),
        train: join(work, 'train.jsonl'),
        eval: join(work, 'eval.jsonl'),
      };
      const bytes = {
        teacher: (await store.get(parseObjectKey(input.teacherKey))).bytes,
        train: (await store.get(parseObjectKey(input.trainKey))).bytes,
        eval: (await store.get(parseObjectKey(input.evalKey))).bytes,
      };
      for (const name of ['teacher', 'train', 'eval'] as const) await writeFile(files[name], bytes[name]);

      const job = distillJobOf(input.distillation, files, input);
      const progress: TrainProgress = { step: 0, totalSteps: 0, loss: NaN };
      context.heartbeat(progress);
      // The teacher's logits before the first step and the scoring after the last send no progress; the timer
      // keeps the heartbeat (the worker's sign of life, and how a cancel arrives) going through them.
      const alive = setInterval(() => context.heartbeat(progress), 2_000);
      const out = join(work, 'out');
      const result = await runDistillJob(job, {
        out,
        ep,
        signal: context.cancellationSignal,
        onProgress: (p) => {
          Object.assign(progress, { step: p.step, totalSteps: p.totalSteps, loss: p.loss });
          if (p.eval) progress.evalLoss = p.eval.loss;
          context.heartbeat(progress);
        },
      })
        .catch((error: unknown) => {
          if (error instanceof DistillAborted) throw new CancelledFailure('distillation cancelled', [error.step]);
          failOnInvalidInput(error); // InvalidDistillOption among them
        })
        .finally(() => clearInterval(alive));

      const model = new Uint8Array(await readFile(join(out, 'model.onnx')));
      const modelKey = objectKey('jobs', jobId, 'student', 'model.onnx');
      await store.put(modelKey, model);
      await store.put(objectKey('jobs', jobId, 'student', 'metrics.json'), await readFile(join(out, 'metrics.json')), {
        contentType: 'application/json',
      });
      const headline = ({ accuracy, macro_f1, loss, parameters }: DistilScores) => ({
        accuracy,
        macro_f1,
        loss,
        parameters,
      });
      return {
        modelKey,
        modelSha256: sha256(model),
        teacherSha256: sha256(bytes.teacher),
        datasets: { train: sha256(bytes.train), eval: sha256(bytes.eval) },
        steps: progress.step,
        ep: result.ep,
        student: headline(result.metrics),
        teacher: headline(result.teacher),
        settings: {
          student: input.distillation.student,
          temperature: job.temperature,
          alpha: job.alpha,
          ...job.config,
        },
      };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  };
}
