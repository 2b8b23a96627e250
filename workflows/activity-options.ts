import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';

// How the workflows call their activities: timeouts, heartbeats and which failures are final. Shared by
// `fineTuneJob` and the stand-alone `validateDatasetWorkflow`, so a stage behaves the same in both.

export const validationOptions: ActivityOptions = {
  // A 200 MB file takes well under a minute; the bound is for slow object stores, not for the CPU.
  startToCloseTimeout: '30 minutes',
  // The validator heartbeats with every chunk it reads; a worker that dies is noticed within this.
  heartbeatTimeout: '30 seconds',
  retry: {
    maximumAttempts: 3,
    // Bad keys, missing objects and bad policies stay bad on retry (activities/validate-dataset.ts).
    nonRetryableErrorTypes: ['InvalidObjectKey', 'ObjectNotFound', 'InvalidValidationInput'],
  },
};

/**
 * A model's training on `taskQueue` (the teacher's or the student's). It heartbeats every step, so a worker that
 * dies is noticed within the heartbeat timeout, and a cancel reaches it the same way; the cancelled attempt
 * reports where it stopped before the workflow moves on.
 */
export const trainingOptions = (taskQueue: string, retry: ActivityOptions['retry']): ActivityOptions => ({
  taskQueue,
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '10 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1 second', ...retry },
});
