import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { executeChild, proxyActivities, WorkflowIdReusePolicy } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { fineTuneJob } from './fine-tune-job.ts';
import type { FineTuneJobInput, FineTuneJobResult } from './job-types.ts';

// What a Temporal Schedule starts: find the newest dataset under a prefix, then run `fineTuneJob` on it as a child
// whose id names the schedule and the dataset version. The id is never reused, so a dataset is trained on once
// per schedule however often the schedule fires (and ids stay valid object-key segments, which the ids Temporal
// gives scheduled runs, ending in an ISO time with ':', are not).

export type ScheduledJobInput = Omit<FineTuneJobInput, 'dataset'> & {
  scheduleId: string;
  datasetPrefix: string;
  dataset?: Omit<FineTuneJobInput['dataset'], 'trainKey' | 'evalKey'>;
  /** What the API shows of each run (api/routes/job-object.ts); the run's memo adds the dataset version. */
  jobMemo?: Record<string, unknown>;
};

export type ScheduledJobResult =
  | { started: true; datasetVersion: string; job: FineTuneJobResult }
  | { started: false; datasetVersion: string; reason: string };

const { resolveNewestDataset } = proxyActivities<Pick<Activities, 'resolveNewestDataset'>>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['NoDataset', 'InvalidObjectKey'] },
});

export async function scheduledFineTuneJob(input: ScheduledJobInput): Promise<ScheduledJobResult> {
  const { scheduleId, datasetPrefix, dataset, jobMemo, ...job } = input;
  const newest = await resolveNewestDataset({ prefix: datasetPrefix });
  const workflowId = `${scheduleId}-${newest.version}`;
  try {
    const result = await executeChild(fineTuneJob, {
      workflowId,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      ...(jobMemo ? { memo: { job: { ...jobMemo, dataset_version: newest.version } } } : {}),
      args: [{ ...job, dataset: { ...dataset, trainKey: newest.trainKey, evalKey: newest.evalKey } }],
    });
    return { started: true, datasetVersion: newest.version, job: result };
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    return { started: false, datasetVersion: newest.version, reason: `job ${workflowId} already ran on this dataset` };
  }
}
