import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';

// How the workflows call their activities: timeouts, heartbeats and which failures are final. Shared by
// `fineTuneJob` and the stand-alone `validateDatasetWorkflow`, so a stage behaves the same in both.

/**
 * Retries that outlast a store or server outage of a few minutes: 1 s, 2 s, 4 s ... then every 30 s, ten attempts
 * in all (about 2.5 minutes of waiting, plus the attempts' own time). A worker's S3 request gives up on a silent
 * server after about 45 s (infra/s3-client.ts) and a refused connection fails at once, so a count of three
 * attempts 1 s and 2 s apart, as these stages had, failed a job on an S3 restart that took half a minute.
 * Failures that retrying cannot mend are listed as non-retryable by each stage.
 */
export const outageRetry = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 10,
} as const;

export const validationOptions: ActivityOptions = {
  // A 200 MB file takes well under a minute; the bound is for slow object stores, not for the CPU.
  startToCloseTimeout: '30 minutes',
  // The validator heartbeats with every chunk it reads; a worker that dies is noticed within this.
  heartbeatTimeout: '30 seconds',
  retry: {
    ...outageRetry,
    // Bad keys, missing objects and bad policies stay bad on retry (activities/validate-dataset.ts).
    nonRetryableErrorTypes: ['InvalidObjectKey', 'ObjectNotFound', 'InvalidValidationInput'],
  },
};

/**
 * A model's training on `taskQueue` (the teacher's or the student's). It heartbeats every step, so a worker that
 * dies is noticed within the heartbeat timeout, and a cancel reaches it the same way; the cancelled attempt
 * reports where it stopped before the workflow moves on.
 */
export const trainingOptions = (taskQueue: string, retry: ActivityOptions['retry'] = {}): ActivityOptions => ({
  taskQueue,
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '10 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { ...outageRetry, ...retry },
});
