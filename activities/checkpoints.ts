import { CancelledFailure, Context } from '@temporalio/activity';
import {
  CHECKPOINT_FILES,
  checkpointName,
  checkpointOf,
  type Checkpoint,
  type CheckpointFiles,
} from '../engine/train/checkpoint.ts';
import type { JobOptions } from '../engine/train/job.ts';
import { objectKey, type ObjectKey, type ObjectStore } from '../core/object-store.ts';
import type { TrainCancelled, TrainProgress } from '../core/jobs/stages.ts';
import { heartbeatProgress } from './heartbeat.ts';

// Checkpoints of a model's training in an activity (the fine-tune stage's, the distill stage's student's): each one
// goes to S3 under the stage's prefix and its key into the heartbeat, so another worker picks the run up where a
// dead one left it.

const STATE = 'state.json';
const STEP_NAME = /^step-\d{8}$/;

/**
 * Where an attempt's training starts and how its checkpoints leave: the checkpoint to resume from (none on a first
 * attempt), the progress its heartbeats carry, and the engine's options that upload each checkpoint to
 * `<prefix>/step-NNNNNNNN/`. `finished` waits for the uploads and throws if one failed.
 */
export async function checkpointedRun(store: ObjectStore, prefix: string[], context: Context) {
  const resumeKey = await resumePoint(store, prefix, context);
  const resume = resumeKey ? await downloadCheckpoint(store, prefix, resumeKey) : undefined;
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
  const options = {
    resume,
    signal: AbortSignal.any([context.cancellationSignal, uploadFailed.signal]),
    onProgress: heartbeatProgress(progress),
    // Not awaited: training goes on while the checkpoint's bytes upload.
    onCheckpoint: (files: CheckpointFiles, step: number) => {
      uploads = uploads
        .then(async () => {
          progress.checkpointKey = await uploadCheckpoint(store, prefix, files, step);
          context.heartbeat(progress);
        })
        .catch((error: unknown) => uploadFailed.abort(error));
    },
  } satisfies JobOptions;
  return {
    resume,
    progress,
    options,
    /** The uploads done; the upload that failed, if one did. */
    async finished(): Promise<void> {
      await uploads;
      if (uploadFailed.signal.aborted) throw uploadFailed.signal.reason;
    },
    /** What a cancelled attempt reports: the step it stopped at and its last checkpoint. */
    cancelled(message: string, step: number): CancelledFailure {
      const partial: TrainCancelled = { step, checkpointKey: progress.checkpointKey };
      return new CancelledFailure(message, [partial]);
    },
  };
}

/** The checkpoint's files under `<prefix>/step-NNNNNNNN/`, state.json last (CHECKPOINT_FILES' order). */
async function uploadCheckpoint(store: ObjectStore, prefix: string[], files: CheckpointFiles, step: number) {
  const name = checkpointName(step);
  for (const file of CHECKPOINT_FILES) await store.put(objectKey(...prefix, name, file), files[file]);
  return objectKey(...prefix, name);
}

/** The checkpoint at `key`, which must be one of this prefix's: a heartbeat's details are not taken on trust. */
async function downloadCheckpoint(store: ObjectStore, prefix: string[], key: ObjectKey): Promise<Checkpoint> {
  const [weights, state] = CHECKPOINT_FILES;
  const name = key.slice(key.lastIndexOf('/') + 1);
  const get = async (file: string) => (await store.get(objectKey(...prefix, name, file))).bytes;
  return checkpointOf({ [weights]: await get(weights), [state]: await get(state) }, key);
}

/**
 * The checkpoint a retried attempt starts from: the one in the last heartbeat the server received, or a newer
 * complete one in S3. Heartbeats are throttled, so the server can be a few checkpoints behind what a worker
 * that died had already stored; resuming from the newest stored one keeps the redone work under one interval.
 * Only keys of the form `<prefix>/step-NNNNNNNN` count.
 */
async function resumePoint(store: ObjectStore, prefix: string[], context: Context): Promise<ObjectKey | undefined> {
  if (context.info.attempt === 1) return undefined;
  const base = objectKey(...prefix);
  const ours = (key: unknown): key is ObjectKey =>
    typeof key === 'string' && key.startsWith(`${base}/`) && STEP_NAME.test(key.slice(base.length + 1));
  const fromHeartbeat = (context.info.heartbeatDetails as TrainProgress | undefined)?.checkpointKey;
  const stored = (await store.list(`${base}/`))
    .filter((key) => key.endsWith(`/${STATE}`))
    .map((key) => key.slice(0, -`/${STATE}`.length));
  // Keys end in step-NNNNNNNN, zero-padded: string order is step order.
  return [fromHeartbeat, ...stored].filter(ours).sort().at(-1);
}
