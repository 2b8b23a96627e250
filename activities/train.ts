import { ApplicationFailure, Context } from '@temporalio/activity';
import { sha256 } from '../engine/export/inference.ts';
import { runTrainJob } from '../engine/train/job.ts';
import type { ExecutionProvider } from '../engine/runtime/index.ts';
import { loadBaseModel, type BaseModelRef } from '../core/base-model.ts';
import { checkpointedRun } from './checkpoints.ts';
import { failOnInvalidInput } from './invalid-input.ts';
import { currentJobId } from './job-id.ts';
import { objectKey, parseObjectKey, type ObjectStore } from '../core/object-store.ts';
import { RegistryError } from '../core/registry/registry.ts';
import { InvalidRegistryInput } from '../core/registry/schema.ts';
import type { TrainInput, TrainResult, TrainingSpec } from '../core/jobs/stages.ts';
import { trainJobOf } from '../core/jobs/engine-job.ts';

// The fine-tune stage: S3 data -> engine/train/job.ts -> model.onnx and metrics.json in S3, bytes in and bytes out.
// Every checkpoint goes to S3 (jobs/<id>/checkpoints/) and its key into the heartbeat, so another worker can pick the
// job up where a dead one left it (activities/checkpoints.ts).

/** jobs/<id>/training-inputs.json: the S3 keys of the files the job trained and evaluated on. */
export const trainingInputsKey = (jobId: string) => objectKey('jobs', jobId, 'training-inputs.json');

export function createTrain(store: ObjectStore, ep: ExecutionProvider | 'auto') {
  return async function train(input: TrainInput): Promise<TrainResult> {
    const context = Context.current();
    const jobId = currentJobId();
    const data = {
      train: (await store.get(parseObjectKey(input.trainKey))).bytes,
      eval: (await store.get(parseObjectKey(input.evalKey))).bytes,
    };
    checkTextData(input.training, data.train);
    const base = input.training.base ? await baseModel(store, jobId, input.training.base) : undefined;
    // The job names its inputs by their keys: errors and the checkpoints' record of the run show them.
    const names = { train: input.trainKey, eval: input.evalKey, base: base?.name };

    // Where the data was read from, for the version's lineage (deploy) and so for `ratchet reproduce`.
    await store.putJson(trainingInputsKey(jobId), { train: input.trainKey, eval: input.evalKey });
    const run = await checkpointedRun(store, ['jobs', jobId, 'checkpoints'], context);
    // Data, base model or method that do not fit each other fail the job now: a retry would fail the same way.
    const job = trainJobOf(input.training, names);
    const result = await runTrainJob(job, { ...data, base: base?.bytes }, { ep, ...run.options }).catch(
      failOnInvalidInput,
    );
    await run.finished();
    if (result.stopped === 'aborted') throw run.cancelled('training cancelled', result.step);
    const model = result.model!;
    const modelKey = objectKey('jobs', jobId, 'model.onnx');
    await store.put(modelKey, model);
    // The engine's whole report (scores, and train and eval loss by step), as the distill stage stores its own:
    // the API's metrics events are read from it.
    await store.put(objectKey('jobs', jobId, 'metrics.json'), result.metricsJson!, {
      contentType: 'application/json',
    });
    return {
      modelKey,
      modelSha256: sha256(model),
      datasets: { train: sha256(data.train), eval: sha256(data.eval) },
      steps: result.step,
      ep: result.ep,
      resumedFromStep: run.resume?.state.step ?? 0,
      metrics: { accuracy: result.metrics!.accuracy, macro_f1: result.metrics!.macro_f1, loss: result.metrics!.loss },
      ...(base ? { baseModel: base.resolved } : {}),
    };
  };
}

/**
 * Text data with neither a text architecture nor a base model would meet the tabular parser, whose complaint
 * ("features" missing) does not say what to change; this does, and no retry can change it.
 */
function checkTextData(training: TrainingSpec, train: Uint8Array): void {
  if (training.text || training.base) return;
  const head = Buffer.from(train.subarray(0, 64 * 1024)).toString('utf8');
  const first = head.split('\n').find((line) => line.trim() !== '');
  let record: unknown;
  try {
    record = JSON.parse(first ?? '');
  } catch {
    return; // Not a whole JSON line: the engine's parser names the problem.
  }
  if (typeof (record as { text?: unknown } | null)?.text === 'string') {
    throw ApplicationFailure.nonRetryable(
      'the training data is text ({"text", "label"}): give training.text (a text architecture) or a text base model',
      'InvalidTrainingSpec',
    );
  }
}

/** The base model's bytes and name; a reference the registry cannot resolve fails the job (retrying cannot help). */
async function baseModel(store: ObjectStore, jobId: string, ref: BaseModelRef) {
  try {
    const { resolved, bytes } = await loadBaseModel(store, jobId, ref);
    return { resolved, bytes, name: `'${resolved.name}' version ${resolved.version}` };
  } catch (error) {
    if (error instanceof RegistryError || error instanceof InvalidRegistryInput) {
      throw ApplicationFailure.nonRetryable(error.message, error.name);
    }
    throw error;
  }
}
