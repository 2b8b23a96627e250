// A job as OpenAI's fine-tuning API shows it: the `fine_tuning.job` object, its events and its checkpoints, read
// from the workflow's status, Temporal's description, the ledger and the job's objects in S3. Ratchet's precise
// state and every stage's result travel in the extra `ratchet` field.
import type { z } from 'zod';
import type { ResolvedBaseModel } from '../../core/base-model.ts';
import type { LedgerEntry } from '../../core/ledger/entry.ts';
import { ObjectNotFound, parseObjectKey, type ObjectStore } from '../../core/object-store.ts';
import { FINAL_STATES, type JobState } from '../../core/jobs/states.ts';
import { unscoped } from '../tenancy.ts';
import type { JobView } from '../temporal/jobs.ts';
import type { PublishedStatus } from '../../workflows/job-types.ts';
import type { jobSchema, OPENAI_STATUSES, ResolvedHyperparameters } from './job-schemas.ts';

type OpenAiStatus = (typeof OPENAI_STATUSES)[number];

/**
 * Ratchet's states in OpenAI's words (docs/API.md): every stage between validation and deployment is `running`,
 * waiting for a sign-off included, since the job has not ended; it `succeeded` only once deployed; a dataset
 * rejected, a gate failed, a sign-off refused or never given all end it `failed`, with `error.code` saying which.
 */
export const OPENAI_STATUS: Record<JobState, OpenAiStatus> = {
  validating: 'validating_files',
  training: 'running',
  distilling: 'running',
  evaluating: 'running',
  gating: 'running',
  awaiting_approval: 'running',
  deploying: 'running',
  deployed: 'succeeded',
  dataset_rejected: 'failed',
  gate_failed: 'failed',
  rejected: 'failed',
  expired: 'failed',
  cancelled: 'cancelled',
  failed: 'failed',
};

/** What the create route keeps in the workflow's memo: the request as the client sent it, resolved. */
export type JobMemo = {
  model: string;
  training_file: string;
  validation_file: string;
  /** The training rows of a held-out split, when the client sent no validation file. */
  training_split_file: string | null;
  /** The registry model the candidate becomes a version of, as the tenant names it. */
  suffix: string;
  seed: number;
  hyperparameters: ResolvedHyperparameters;
  metadata: Record<string, string> | null;
  /** A schedule's run: the version of the dataset (training_file `dataset:<name>`) it trained on. */
  dataset_version?: string;
  /**
   * Who submitted the job (a schedule's creator for its runs), so that a job no worker has started yet shows it too.
   * Absent in jobs created before it was kept here.
   */
  submitter?: string;
};

export const memoOf = (memo: Record<string, unknown>) => memo.job as JobMemo;

const seconds = (date: Date | string) => Math.floor(new Date(date).getTime() / 1000);

export async function jobObject(
  id: string,
  tenant: string,
  { description, status, progress }: JobView,
  store: ObjectStore,
): Promise<z.output<typeof jobSchema>> {
  const memo = memoOf(description.memo);
  const state: JobState = status?.state ?? 'validating';
  const stage = FINAL_STATES.includes(state)
    ? (status?.transitions.filter((t) => !FINAL_STATES.includes(t.state)).at(-1)?.state ?? state)
    : state;
  const failure = await failureOf(state, status, store);
  return {
    id,
    object: 'fine_tuning.job',
    created_at: seconds(description.startTime),
    finished_at: description.closeTime ? seconds(description.closeTime) : null,
    model: memo.model,
    fine_tuned_model: status?.deployed ? `${memo.suffix}:${status.deployed.version}` : null,
    organization_id: tenant,
    // No status yet: no worker has run the job's first task.
    status: status ? OPENAI_STATUS[state] : 'queued',
    training_file: memo.dataset_version ? `${memo.training_file}@${memo.dataset_version}` : memo.training_file,
    validation_file: memo.dataset_version ? `${memo.validation_file}@${memo.dataset_version}` : memo.validation_file,
    hyperparameters: memo.hyperparameters,
    method: { type: 'supervised', supervised: { hyperparameters: memo.hyperparameters } },
    seed: memo.seed,
    result_files: [],
    trained_tokens: null,
    estimated_finish: null,
    integrations: [],
    metadata: memo.metadata,
    error: failure && { code: failure.code, message: failure.message, param: failure.param },
    ratchet: {
      status: state,
      stage,
      model: memo.suffix,
      submitter: status?.submitter ?? memo.submitter ?? '',
      progress:
        // Before its first step an attempt's heartbeat has no figures yet (total 0, loss NaN, which JSON makes null).
        (state === 'training' || state === 'distilling') && progress && progress.totalSteps > 0
          ? { step: progress.step, total_steps: progress.totalSteps, loss: progress.loss, eval_loss: progress.evalLoss }
          : null,
      transitions: status?.transitions ?? [],
      metrics: status?.training?.metrics ?? null,
      base_model: baseModelOf(tenant, status?.training?.baseModel),
      evaluation: status?.evaluation ?? null,
      distillation: status?.distillation ? distillationOf(status.distillation) : null,
      gate: status?.gate?.gate ?? null,
      approval_deadline: status?.approvalDeadline ?? null,
      decision: status?.decision ?? null,
      deployed: status?.deployed ?? null,
      report: failure?.report ?? null,
    },
  };
}

type PublishedDistillation = NonNullable<PublishedStatus['distillation']>;

/** The base version as the tenant names it: its own model name, without the tenant prefix. */
function baseModelOf(tenant: string, base: ResolvedBaseModel | undefined) {
  return base ? { model: unscoped(tenant, base.name) ?? '', version: base.version, sha256: base.sha256 } : null;
}

const distillationOf = ({ steps, modelSha256, teacherSha256, student, teacher }: PublishedDistillation) => ({
  steps,
  model_sha256: modelSha256,
  teacher_sha256: teacherSha256,
  student,
  teacher,
});

/** Why a job failed, as OpenAI's error fields, with the report that says more. */
async function failureOf(state: JobState, status: JobView['status'], store: ObjectStore) {
  const failure = (code: string, message: string, param: string | null = null, report: unknown = null) => ({
    code,
    message,
    param,
    report,
  });
  if (state === 'dataset_rejected' && status?.validation) {
    const report = await store.getJson(parseObjectKey(status.validation.reportKey)).catch((error: unknown) => {
      if (error instanceof ObjectNotFound) return null;
      throw error;
    });
    return failure('invalid_training_file', 'the dataset failed validation (ratchet.report)', 'training_file', report);
  }
  if (state === 'gate_failed' && status?.gate) {
    const failed = status.gate.gate.rules.filter((rule) => !rule.passed).map((rule) => rule.message);
    return failure(
      'gate_failed',
      `the candidate failed the release policy: ${failed.join('; ')}`,
      null,
      status.gate.gate,
    );
  }
  if (state === 'rejected' && status?.decision)
    return failure('rejected', `rejected by ${status.decision.by}: ${status.decision.reason}`);
  if (state === 'expired') return failure('approval_expired', 'no one approved the candidate before the deadline');
  if (state === 'failed') return failure('failed', status?.error ?? 'the job failed');
  return null;
}

type JobEvent = {
  id: string;
  object: 'fine_tuning.job.event';
  created_at: number;
  level: 'info' | 'warn' | 'error';
  message: string;
  type: 'message' | 'metrics';
  data: Record<string, unknown>;
};

const ERROR_ACTIONS = ['dataset.rejected', 'gate.failed', 'job.failed', 'webhook.failed'];

/** What engine/train/job.ts reports once training ends (the train activity stores it as jobs/<id>/metrics.json). */
type TrainReport = {
  train_loss?: { step: number; loss: number }[];
  eval_loss?: { step: number; loss: number }[];
  accuracy?: number;
  loss?: number;
};

export async function trainReport(store: ObjectStore, jobId: string): Promise<TrainReport> {
  return store.getJson<TrainReport>(parseObjectKey(`jobs/${jobId}/metrics.json`)).catch((error: unknown) => {
    if (error instanceof ObjectNotFound) return {};
    throw error;
  });
}

/**
 * The job's events, newest first: each ledger entry as a message, and before `model.trained` one metrics event
 * per training step (train loss; validation loss where the run evaluated; the final scores on the last step).
 */
export function jobEvents(entries: LedgerEntry[], report: TrainReport): JobEvent[] {
  const evalAt = new Map((report.eval_loss ?? []).map((e) => [e.step, e.loss]));
  const events: JobEvent[] = [];
  for (const entry of entries) {
    const created_at = seconds(entry.ts);
    if (entry.action === 'model.trained') {
      const steps = report.train_loss ?? [];
      for (const [i, { step, loss }] of steps.entries()) {
        const last = i === steps.length - 1;
        const data = {
          step,
          train_loss: loss,
          ...(evalAt.has(step) ? { valid_loss: evalAt.get(step) } : {}),
          ...(last ? { full_valid_loss: report.loss, full_valid_accuracy: report.accuracy } : {}),
        };
        const message = `Step ${step}/${steps.at(-1)!.step}: training loss=${loss.toFixed(4)}`;
        events.push({
          id: `ftevent-${entry.seq}-${step}`,
          object: 'fine_tuning.job.event',
          created_at,
          level: 'info',
          message,
          type: 'metrics',
          data,
        });
      }
    }
    events.push({
      id: `ftevent-${entry.seq}`,
      object: 'fine_tuning.job.event',
      created_at,
      level: ERROR_ACTIONS.includes(entry.action) ? 'error' : 'info',
      message: `${entry.action} by ${entry.actor}`,
      type: 'message',
      data: entry.details,
    });
  }
  return events.reverse();
}

/** The job's complete checkpoints, newest first, with the training figures at their step. */
export async function jobCheckpoints(store: ObjectStore, jobId: string, createdAt: number) {
  const prefix = `jobs/${jobId}/checkpoints/`;
  const complete = new Set<number>();
  for (const key of await store.list(prefix)) {
    // state.json is written last: a checkpoint that has it is complete (activities/train.ts).
    const match = /^step-(\d{8})\/state\.json$/.exec(key.slice(prefix.length));
    if (match) complete.add(Number(match[1]));
  }
  const report = await trainReport(store, jobId);
  const at = (series: { step: number; loss: number }[] | undefined, step: number) =>
    series?.find((point) => point.step === step)?.loss ?? null;
  return [...complete]
    .sort((a, b) => b - a)
    .map((step) => ({
      id: `ftckpt-${jobId}-${step}`,
      object: 'fine_tuning.job.checkpoint' as const,
      // S3 listings carry no times here: a checkpoint is dated by its job's start.
      created_at: createdAt,
      fine_tuned_model_checkpoint: `${jobId}:step-${step}`,
      fine_tuning_job_id: jobId,
      step_number: step,
      metrics: { step, train_loss: at(report.train_loss, step), valid_loss: at(report.eval_loss, step) },
    }));
}
