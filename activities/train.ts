import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { sha256 } from '../engine/export/inference.ts';
import { CHECKPOINT_FILES, checkpointName, checkpointOf, type CheckpointFiles } from '../engine/train/checkpoint.ts';
import { runTrainJob } from '../engine/train/job.ts';
import type { ExecutionProvider } from '../engine/runtime/index.ts';
import { loadBaseModel, type BaseModelRef } from '../core/base-model.ts';
import { heartbeatProgress } from './heartbeat.ts';
import { failOnInvalidInput } from './invalid-input.ts';
import { currentJobId } from './job-id.ts';
import { objectKey, parseObjectKey, type ObjectStore } from '../core/object-store.ts';
import { RegistryError } from '../core/registry/registry.ts';
import { InvalidRegistryInput } from '../core/registry/schema.ts';
import type { TrainCancelled, TrainInput, TrainProgress, TrainResult, TrainingSpec } from '../core/jobs/stages.ts';
import { trainJobOf } from '../core/jobs/engine-job.ts';

// The fine-tune stage: S3 data -> engine/train/job.ts -> model.onnx and metrics.json in S3, bytes in and bytes out.
// Every checkpoint goes to S3 and its key into the heartbeat, so another worker can pick the job up where a dead one
// left it.

const STATE = 'state.json';

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

    const resumeKey = await resumePoint(store, jobId, context);
    const resume = resumeKey ? await downloadCheckpoint(store, resumeKey) : undefined;
    const progress: TrainProgress = {
      step: resume?.state.step ?? 0,
      totalSteps: 0,
      loss: NaN,
      checkpointKey: resumeKey,
    };
    // Checkpoints are uploaded in order, one at a time; the heartbeat names one only once all its bytes are in S3.
    // An upload that fails stops the training: going on without checkpoints would risk more than a retry does.
    let uploads = Promise.resolve();
    const uploadFailed = new AbortController();
    const result = await runTrainJob(
      trainJobOf(input.training, names),
      { ...data, base: base?.bytes },
      {
        ep,
        resume,
        signal: AbortSignal.any([context.cancellationSignal, uploadFailed.signal]),
        onProgress: heartbeatProgress(progress),
        // Not awaited: training goes on while the checkpoint's bytes upload.
        onCheckpoint: (files, step) => {
          uploads = uploads
            .then(async () => {
              progress.checkpointKey = await uploadCheckpoint(store, jobId, files, step);
              context.heartbeat(progress);
            })
            .catch((error: unknown) => uploadFailed.abort(error));
        },
        // Data, base model or method that do not fit each other fail the job now: a retry would fail the same way.
      },
    ).catch(failOnInvalidInput);
    await uploads;
    if (uploadFailed.signal.aborted) throw uploadFailed.signal.reason;
    if (result.stopped === 'aborted') {
      const partial: TrainCancelled = { step: result.step, checkpointKey: progress.checkpointKey };
      throw new CancelledFailure('training cancelled', [partial]);
    }
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
      resumedFromStep: resume?.state.step ?? 0,
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

const checkpointsPrefix = (jobId: string) => `${objectKey('jobs', jobId, 'checkpoints')}/`;

/** The checkpoint's files under jobs/<id>/checkpoints/step-NNNNNNNN/, state.json last (CHECKPOINT_FILES' order). */
async function uploadCheckpoint(store: ObjectStore, jobId: string, files: CheckpointFiles, step: number) {
  const key = objectKey('jobs', jobId, 'checkpoints', checkpointName(step));
  for (const file of CHECKPOINT_FILES) await store.put(parseObjectKey(`${key}/${file}`), files[file]);
  return key;
}

async function downloadCheckpoint(store: ObjectStore, key: string) {
  const [weights, state] = CHECKPOINT_FILES;
  const get = async (file: string) => (await store.get(parseObjectKey(`${key}/${file}`))).bytes;
  return checkpointOf({ [weights]: await get(weights), [state]: await get(state) }, key);
}

/**
 * The checkpoint a retried attempt starts from: the one in the last heartbeat the server received, or a newer
 * complete one in S3. Heartbeats are throttled, so the server can be a few checkpoints behind what a worker
 * that died had already stored; resuming from the newest stored one keeps the redone work under one interval.
 */
async function resumePoint(store: ObjectStore, jobId: string, context: Context): Promise<string | undefined> {
  if (context.info.attempt === 1) return undefined;
  const fromHeartbeat = (context.info.heartbeatDetails as TrainProgress | undefined)?.checkpointKey;
  // Keys end in step-NNNNNNNN, zero-padded: string order is step order.
  const stored = (await store.list(checkpointsPrefix(jobId)))
    .filter((key) => key.endsWith(`/${STATE}`))
    .map((key) => key.slice(0, -`/${STATE}`.length));
  return [fromHeartbeat, ...stored]
    .filter((key) => key !== undefined)
    .sort()
    .at(-1);
}
