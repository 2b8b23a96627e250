import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { DatasetManifest, ValidationPolicyInput } from '../governance/dataset/policy.ts';
import type { GatePolicyInput } from '../governance/gate-policy.ts';
import type { DistillationSpec } from '../core/jobs/spec.ts';
import type { JobState } from '../core/jobs/states.ts';
import type {
  DeployResult,
  DistillResult,
  EvaluateResult,
  GateOutput,
  TrainCancelled,
  TrainResult,
  TrainingSpec,
  ValidateDatasetResult,
} from '../core/jobs/stages.ts';

// The contract of `fineTuneJob` with its callers (API, CLI, schedules, tests): input, states, query, updates,
// search attributes. Workflow code and clients import it; it holds no behaviour.

/** Who asks: a user id and the roles the API key carries (viewer, submitter, approver, admin). */
export type Identity = { userId: string; roles: string[] };

export type FineTuneJobInput = {
  /** Registry model name, e.g. 'iris-classifier'. */
  model: string;
  submitter: Identity;
  dataset: {
    trainKey: string;
    /** The candidate and production are compared on this file. */
    evalKey: string;
    /**
     * Rows unlike the training data (labels optional, ignored): validated with the other files, and the OOD AUROC
     * (max softmax) of the candidate and production is measured against the eval file's rows.
     */
    oodKey?: string;
    manifest?: DatasetManifest;
    validationPolicy?: ValidationPolicyInput;
  };
  training: TrainingSpec;
  /** When set, the trained model teaches a compact student, and the student is the candidate deployed. */
  distillation?: DistillationSpec;
  policy: GatePolicyInput;
  intendedUse: string;
  limitations?: string[];
  /** The audit ledger's scope (tenant). Default 'default'. */
  ledgerScope?: string;
  /**
   * POSTed an unsigned JSON event when the job deploys (http or https). Set by no API route: for trusted callers
   * only, as its URL is not checked against internal addresses. Tenants register signed endpoints at /v1/webhooks.
   */
  webhookUrl?: string;
  /** Where training runs. Default 'gpu'; a test points it at its own queue. */
  trainingTaskQueue?: string;
};

export type Decision = { action: 'approve' | 'reject'; by: string; reason: string; at: string };

export type JobStatus = {
  state: JobState;
  model: string;
  submitter: string;
  /** Every state entered, with the workflow's time. */
  transitions: { state: JobState; at: string }[];
  validation?: ValidateDatasetResult;
  training?: TrainResult;
  /** Where a cancelled training stood: its step and the last checkpoint stored. */
  partial?: TrainCancelled;
  /** The student and the teacher it was distilled from, each scored on the eval file, with their sizes. */
  distillation?: DistillResult;
  evaluation?: EvaluateResult;
  gate?: GateOutput;
  /** When the approval wait ends, as the workflow's time; set while awaiting approval. */
  approvalDeadline?: string;
  decision?: Decision;
  deployed?: DeployResult;
  error?: string;
};

/**
 * The status as `fineTuneJob` publishes it in its memo (under `statusMemoKey`) whenever it changes, so the API
 * reads a job with one DescribeWorkflowExecution instead of a query its worker must answer: what the job object
 * shows (api/routes/job-object.ts) and no more, as visibility's lists carry every memo (validation's dropped lines,
 * artifact keys and card keys stay out).
 */
export type PublishedStatus = Pick<
  JobStatus,
  'state' | 'submitter' | 'transitions' | 'evaluation' | 'approvalDeadline' | 'decision' | 'deployed' | 'error'
> & {
  validation?: Pick<ValidateDatasetResult, 'reportKey'>;
  training?: Pick<TrainResult, 'metrics' | 'baseModel'>;
  distillation?: Pick<DistillResult, 'steps' | 'modelSha256' | 'teacherSha256' | 'student' | 'teacher'>;
  gate?: Pick<GateOutput, 'gate'>;
};

/** The memo key of the published status; absent for jobs started before the workflow published it. */
export const statusMemoKey = 'status';

/** What the job returns when it reaches a decided end (errors and cancellation throw instead). */
export type FineTuneJobResult = Pick<JobStatus, 'state' | 'decision' | 'deployed' | 'gate'> & { jobId: string };

export type DecisionInput = { identity: Identity; reason: string };

export const jobStatusQuery = defineQuery<JobStatus>('status');
export const approveUpdate = defineUpdate<JobStatus, [DecisionInput]>('approve');
export const rejectUpdate = defineUpdate<JobStatus, [DecisionInput]>('reject');

/** Registered with the dev server at start-up (infra/temporal-server.ts); a cluster's admin registers them too. */
export const statusAttribute = defineSearchAttributeKey('RatchetStatus', SearchAttributeType.KEYWORD);
export const modelAttribute = defineSearchAttributeKey('RatchetModel', SearchAttributeType.KEYWORD);
export const submitterAttribute = defineSearchAttributeKey('RatchetSubmitter', SearchAttributeType.KEYWORD);
