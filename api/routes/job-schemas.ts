// The shapes of fine-tuning jobs at the edge: what a create request may hold (OpenAI's fields, and Ratchet's beside
// them, where the official SDKs pass extra body fields through) and what a job looks like.
import { z } from 'zod';
import { validationPolicySchema } from '../../governance/dataset/policy.ts';
import { baseModelSchema, distillationSchema, studentFitsTeacher, trainingSchema } from '../../core/jobs/spec.ts';
import { nameSchema } from '../../core/registry/schema.ts';
import { JOB_STATES } from '../../core/jobs/states.ts';
import { gatePolicySchema } from '../../governance/gate-policy.ts';
import { userSchema } from '../auth/principal.ts';

const fileId = z.string().max(64);

/**
 * The release policy of a job that names none: every tenant's default (there are no per-tenant settings yet). It
 * asks a person to sign off within 72 hours and blocks PII; a job that should also hold accuracy, licences or a
 * regression bound sends `policy`.
 */
export const DEFAULT_POLICY = { approvalTimeout: '72h' } as const;
/** The model card's intended use when the job states none: the card then says so rather than guessing one. */
export const DEFAULT_INTENDED_USE = 'Not stated by the submitter (send intended_use with the job)';

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
  policy: gatePolicySchema.prefault(DEFAULT_POLICY),
  validation_policy: validationPolicySchema.optional(),
  intended_use: z.string().trim().min(1).max(2000).default(DEFAULT_INTENDED_USE),
  limitations: z.array(z.string().max(2000)).max(50).optional(),
};

/** The 404 of a create request whose base model the tenant registry does not hold. */
export const baseModelNotFound = {
  description: 'The base model, its version or its production alias is not in the tenant registry',
};

const auto = <T extends z.ZodType>(value: T) => z.union([z.literal('auto'), value]).optional();
/** OpenAI's hyperparameters; "auto" (or leaving one out) takes the architecture's default. */
const hyperparameters = z
  .object({
    batch_size: auto(z.number().int().min(1).max(65_536)),
    /** Scales the architecture's default learning rate (engine/train/defaults.ts). */
    learning_rate_multiplier: auto(z.number().positive().max(1000)),
    n_epochs: auto(z.number().int().min(1).max(10_000)),
  })
  .strict();

export const ARCHITECTURES = ['mlp', 'encoder', 'fasttext'] as const;
export const isArchitecture = (model: string): model is (typeof ARCHITECTURES)[number] =>
  (ARCHITECTURES as readonly string[]).includes(model);

// A job's base model is its `model` (a registry name): the schedules' `base_model` field is not one of a job's.
const jobFields = Object.fromEntries(Object.entries(jobSpecFields).filter(([name]) => name !== 'base_model')) as Omit<
  typeof jobSpecFields,
  'base_model'
>;

export const createJobBody = z
  .object({
    /**
     * An architecture trained from scratch (mlp, encoder, fasttext), or one of the tenant's registry models to
     * fine-tune: `name` (its production version) or `name:version`.
     */
    model: z
      .string()
      .regex(
        /^[a-z0-9]+(-[a-z0-9]+)*(:[1-9]\d{0,7})?$/,
        `expected ${ARCHITECTURES.join(', ')}, a registry model name or name:version`,
      )
      .max(45),
    training_file: fileId,
    /** Absent: every fifth row of the training file is held out as the validation file (api/routes/holdout.ts). */
    validation_file: fileId.nullable().optional(),
    /** The registry model the candidate becomes a version of. Default: the base model's name, or `<arch>-<file>`. */
    suffix: nameSchema.nullable().optional(),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .nullable()
      .optional(),
    hyperparameters: hyperparameters.optional(),
    method: z
      .object({
        type: z.literal('supervised', { error: "expected 'supervised': Ratchet trains classifiers with labels" }),
        supervised: z.object({ hyperparameters: hyperparameters.optional() }).strict().optional(),
      })
      .strict()
      .optional(),
    metadata: z
      .record(z.string().max(64), z.string().max(512))
      .refine((m) => Object.keys(m).length <= 16, { error: 'at most 16 keys' })
      .nullable()
      .optional(),
    ...jobFields,
    /** Ratchet's full training spec; the architecture comes from `model`, hyperparameters override its config. */
    training: trainingSchema.optional(),
  })
  .strict()
  .refine((body) => !(body.hyperparameters && body.method?.supervised?.hyperparameters), {
    error: 'give hyperparameters in method.supervised.hyperparameters or at the top level, not both',
    path: ['hyperparameters'],
  })
  // A text teacher (model encoder or fasttext, or training.text) distills into a fastText student, a tabular one into
  // an MLP; a registry model's kind is known only when the job runs.
  .refine(
    (body) =>
      studentFitsTeacher[0]({
        base_model: isArchitecture(body.model) ? undefined : body.model,
        training: { text: body.model === 'mlp' ? body.training?.text : body.model },
        distillation: body.distillation,
      }),
    {
      ...studentFitsTeacher[1],
      error:
        'a text model (model encoder or fasttext) distills into a fastText student ({fasttext: {...}}), a tabular one (model mlp) into an MLP ({hidden: [...]})',
    },
  )
  .meta({ id: 'CreateFineTuningJob' });

export type CreateJobBody = z.output<typeof createJobBody>;

export const listJobsFilter = z.object({
  status: z.enum(JOB_STATES).optional(),
  model: nameSchema.optional(),
  submitter: userSchema.optional(),
});

const modelScores = z.object({ accuracy: z.number(), macro_f1: z.number(), loss: z.number(), parameters: z.number() });

const resolvedHyperparameters = z.object({
  batch_size: z.number().int(),
  learning_rate_multiplier: z.number(),
  /** 'auto' only when Ratchet's training.config.maxSteps bounds the run instead of epochs. */
  n_epochs: z.union([z.number().int(), z.literal('auto')]),
});
export type ResolvedHyperparameters = z.output<typeof resolvedHyperparameters>;

/** What Ratchet knows of a job beyond OpenAI's fields: its precise state and every stage's result. */
const ratchetJobSchema = z.object({
  /** The precise state (core/jobs/states.ts); `status` is its OpenAI name (docs/API.md has the mapping). */
  status: z.enum(JOB_STATES),
  /** The pipeline stage the job is in, or ended in. */
  stage: z.enum(JOB_STATES),
  /** The registry model the candidate becomes a version of. */
  model: z.string(),
  submitter: z.string(),
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
  /** The report that says why the job failed: the validation report of a rejected dataset, the gate's rules. */
  report: z.unknown().nullable(),
});

export const OPENAI_STATUSES = ['validating_files', 'queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;

export const jobSchema = z
  .object({
    id: z.string(),
    object: z.literal('fine_tuning.job'),
    created_at: z.number().int(),
    finished_at: z.number().int().nullable(),
    model: z.string(),
    /** `name:version` in the tenant's registry once the job has deployed. */
    fine_tuned_model: z.string().nullable(),
    organization_id: z.string(),
    status: z.enum(OPENAI_STATUSES),
    training_file: z.string(),
    validation_file: z.string().nullable(),
    hyperparameters: resolvedHyperparameters,
    method: z.object({
      type: z.literal('supervised'),
      supervised: z.object({ hyperparameters: resolvedHyperparameters }),
    }),
    seed: z.number().int(),
    result_files: z.array(z.string()),
    trained_tokens: z.null(),
    estimated_finish: z.null(),
    integrations: z.array(z.unknown()),
    metadata: z.record(z.string(), z.string()).nullable(),
    error: z.object({ code: z.string(), message: z.string(), param: z.string().nullable() }).nullable(),
    ratchet: ratchetJobSchema,
  })
  .meta({ id: 'FineTuningJob' });
