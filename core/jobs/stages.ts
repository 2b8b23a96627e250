import type { z } from 'zod';
import type { BaseModelRef, ResolvedBaseModel } from '../base-model.ts';
import type { DistillationSpec, trainingSchema } from './spec.ts';
import type { Aliases } from '../registry/registry.ts';
import type { DatasetFile } from '../../governance/dataset/findings.ts';
import type { DatasetManifest, ValidationPolicyInput } from '../../governance/dataset/policy.ts';
import type { Comparison } from '../../engine/metrics/compare.ts';
import type { Drift } from '../../governance/drift.ts';
import type { EvaluationMetrics } from '../../engine/metrics/evaluate.ts';
import type { LatencyReport } from '../../engine/metrics/latency.ts';
import type { GateResult } from '../../governance/gate.ts';
import type { GatePolicyInput } from '../../governance/gate-policy.ts';
import type { ExecutionProvider } from '../../engine/runtime/index.ts';

// What each stage of a job takes and gives: the payloads between the workflow and its activities, which the job's
// status also shows to the API. Types only; the activities (activities/) do the work.

// Validate: the dataset objects and the policy they are checked against; the report stays in S3, its summary travels.

export type ValidateDatasetInput = {
  trainKey: string;
  evalKey?: string;
  oodKey?: string;
  manifest?: DatasetManifest;
  policy?: ValidationPolicyInput;
};

export type ValidationSummary = {
  blocking: number;
  warnings: number;
  /** Codes of the blocking findings, e.g. ['parse_error', 'contamination']. */
  blockingCodes: string[];
  records: Partial<Record<DatasetFile, number>>;
};

export type ValidateDatasetResult = {
  reportKey: string;
  passed: boolean;
  summary: ValidationSummary;
  /**
   * With policy.mislabels 'drop' and rows flagged: the training file less those rows, which the train (and distill)
   * stage reads instead of the submitted one. Absent otherwise, and in the results of histories recorded before it.
   */
  cleanedTrainKey?: string;
  droppedRows?: number;
  /** The dropped lines of the training file (1-based, ascending), for the ledger to name. */
  droppedLines?: number[];
};

// Train: the fine-tune (or training from scratch) the job asked for, its progress heartbeats and its result.

/** The job's training, defaults filled in (core/jobs/spec.ts), and the registry version to start from if any. */
export type TrainingSpec = z.output<typeof trainingSchema> & {
  /** The registry model to fine-tune instead of training from scratch; a text base brings its own encoding. */
  base?: BaseModelRef;
};

export type TrainInput = { trainKey: string; evalKey: string; training: TrainingSpec };

/** What a training attempt reports with each step. */
export type TrainProgress = {
  step: number;
  totalSteps: number;
  loss: number;
  evalLoss?: number;
  /** The newest checkpoint stored in S3 by this job, if any. */
  checkpointKey?: string;
};

export type TrainResult = {
  modelKey: string;
  modelSha256: string;
  /** sha256 of the files trained and evaluated on. */
  datasets: { train: string; eval: string };
  steps: number;
  /** The execution provider the steps ran on; `cpu` on a `gpu` worker without CUDA (a recorded fallback). */
  ep: ExecutionProvider;
  /** The step the attempt started from: 0, or the checkpoint a previous attempt left. */
  resumedFromStep: number;
  metrics: Record<string, unknown>;
  /** The registry version trained from, when the spec named a base model. */
  baseModel?: ResolvedBaseModel;
};

/** Details of the CancelledFailure a cancelled attempt throws: where the job stood. */
export type TrainCancelled = { step: number; checkpointKey?: string };

// Distill: the trained model teaches a compact student, which becomes the candidate.

export type DistillInput = {
  /** The train stage's model.onnx. */
  teacherKey: string;
  trainKey: string;
  evalKey: string;
  distillation: DistillationSpec;
  /** The training's seed and threads, which the student's training shares. */
  seed: number;
  threads?: number;
};

/** One model's scores on the eval file, and its size. */
export type DistillScores = { accuracy: number; macro_f1: number; loss: number; parameters: number };

export type DistillResult = {
  modelKey: string;
  modelSha256: string;
  teacherSha256: string;
  datasets: { train: string; eval: string };
  steps: number;
  ep: ExecutionProvider;
  /** The step the attempt started from: 0, or the student's checkpoint a previous attempt left (absent before these). */
  resumedFromStep?: number;
  student: DistillScores;
  teacher: DistillScores;
  /** The settings the student was trained with, defaults filled in (the card and lineage show them). */
  settings: Record<string, unknown> & { temperature: number; alpha: number };
};

// Evaluate: candidate and production scored on the same eval file.

export type Evaluation = {
  metrics: EvaluationMetrics;
  latency: LatencyReport;
  /** Accuracy on each perturbed copy of the eval rows, by perturbation; absent in results from before it was measured. */
  robustness?: Record<string, number>;
};

export type EvaluateInput = {
  model: string;
  candidateKey: string;
  evalKey: string;
  /**
   * The training file the candidate learnt from, for its drift from production's; absent in the inputs of jobs
   * scheduled before drift was measured (they get no drift section).
   */
  trainKey?: string;
  /** Rows unlike the training data (labels ignored): each model's `metrics.ood_auroc` is measured against them. */
  oodKey?: string;
};

export type EvaluateResult = {
  candidate: Evaluation;
  /** Absent while the model has no production version. */
  production?: { version: number; evaluation: Evaluation };
  /**
   * The candidate against production row by row (churn), with production; absent without one, and in results
   * evaluated before these figures existed.
   */
  comparison?: Comparison;
  /** How far the candidate's training data moved from production's; absent without a production classifier. */
  drift?: Drift;
};

// Gate: the policy verdict and the draft model card.

export type GateInput = {
  model: string;
  /** ISO 8601, the workflow's clock. */
  created: string;
  submitter: string;
  intendedUse: string;
  limitations: string[];
  validationReportKey: string;
  evaluation: EvaluateResult;
  training: TrainingSpec;
  /** The registry version training started from, when the spec named a base model. */
  baseModel?: ResolvedBaseModel;
  /** Set when the candidate is a student distilled from the trained model (the teacher). */
  distillation?: DistillResult;
  policy: GatePolicyInput;
};

export type GateOutput = {
  gate: GateResult;
  /** jobs/<id>/card.md and card.json (the draft, without approver), and the inputs they were rendered from. */
  cardKeys: { markdown: string; json: string; input: string };
  approvalTimeoutMs: number;
};

// Deploy: the approved candidate registered and promoted.

export type DeployInput = {
  model: string;
  /** ISO 8601, the workflow's clock: the version's creation and the alias change carry it. */
  at: string;
  submitter: string;
  approver: string;
  trained: Pick<TrainResult, 'modelKey' | 'datasets'>;
};

export type DeployResult = { version: number; aliases: Aliases; cardSha256: string; lineageKey: string };
