// The shapes of fine-tuning jobs at the edge: what a create request may hold and what a job looks like.
import { z } from 'zod';
import { validationPolicySchema } from '../../governance/dataset/policy.ts';
import {
  baseBringsItsArchitecture,
  baseModelSchema,
  distillationSchema,
  studentFitsTeacher,
  trainingSchema,
} from '../../core/jobs/spec.ts';
import { nameSchema } from '../../core/registry/schema.ts';
import { JOB_STATES } from '../../core/jobs/states.ts';
import { gatePolicySchema } from '../../governance/gate-policy.ts';
import { userSchema } from '../auth/principal.ts';

const fileId = z.string().max(64);

/** What a job runs, as a job and a schedule (each of whose runs is a job) both take it. */
export const jobSpecFields = {
  /** Optional: rows unlike the training data, for OOD detection AUROC; their labels may be absent. */
  ood_file: fileId.optional(),
  training: trainingSchema,
  /** Fine-tune this version instead of training from scratch; it brings its own architecture. With alias
   * 'production' on a schedule, each run fine-tunes whatever is in production when it runs. */
  base_model: baseModelSchema.optional(),
  /** Distill the trained model into this compact student, which becomes the candidate. */
  distillation: distillationSchema.optional(),
  policy: gatePolicySchema,
  validation_policy: validationPolicySchema.optional(),
  intended_use: z.string().trim().min(1).max(2000),
  limitations: z.array(z.string().max(2000)).max(50).optional(),
};

/** The 404 of a create request whose base model the tenant registry does not hold. */
export const baseModelNotFound = {
  description: 'The base model, its version or its production alias is not in the tenant registry',
};

export const createJobBody = z
  .object({
    /** The tenant's model name; its production version is the one the candidate must beat. */
    model: nameSchema,
    training_file: fileId,
    validation_file: fileId,
    ...jobSpecFields,
  })
  .strict()
  .refine(...baseBringsItsArchitecture)
  .refine(...studentFitsTeacher)
  .meta({ id: 'CreateJob' });

export const listJobsFilter = z.object({
  status: z.enum(JOB_STATES).optional(),
  model: nameSchema.optional(),
  submitter: userSchema.optional(),
});

const modelScores = z.object({ accuracy: z.number(), macro_f1: z.number(), loss: z.number(), parameters: z.number() });

export const jobSchema = z
  .object({
    id: z.string(),
    model: z.string(),
    status: z.enum(JOB_STATES),
    /** The pipeline stage the job is in, or ended in. */
    stage: z.enum(JOB_STATES),
    submitter: z.string(),
    created_at: z.string(),
    closed_at: z.string().nullable(),
    progress: z
      .object({ step: z.number(), total_steps: z.number(), loss: z.number(), eval_loss: z.number().optional() })
      .nullable(),
    transitions: z.array(z.object({ state: z.enum(JOB_STATES), at: z.string() })),
    metrics: z.record(z.string(), z.unknown()).nullable(),
    /** The registry version training started from, once training has resolved it. */
    base_model: z.object({ model: z.string(), version: z.number().int(), sha256: z.string() }).nullable(),
    evaluation: z.unknown().nullable(),
    /** The student (the candidate) and its teacher, both scored on the eval file, with their sizes. */
    distillation: z
      .object({
        steps: z.number(),
        model_sha256: z.string(),
        teacher_sha256: z.string(),
        student: modelScores,
        teacher: modelScores,
      })
      .nullable(),
    gate: z.unknown().nullable(),
    approval_deadline: z.string().nullable(),
    decision: z
      .object({ action: z.enum(['approve', 'reject']), by: z.string(), reason: z.string(), at: z.string() })
      .nullable(),
    deployed: z.unknown().nullable(),
    error: z.object({ message: z.string(), report: z.unknown().optional() }).nullable(),
  })
  .meta({ id: 'Job' });

export const jobSummarySchema = z
  .object({
    id: z.string(),
    status: z.string(),
    model: z.string(),
    submitter: z.string(),
    created_at: z.string(),
    closed_at: z.string().nullable(),
  })
  .meta({ id: 'JobSummary' });
