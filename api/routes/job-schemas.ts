// The shapes of fine-tuning jobs at the edge: what a create request may hold and what a job looks like.
import { z } from 'zod';
import { validationPolicySchema } from '../../governance/dataset/policy.ts';
import { DEFAULT_ARCH } from '../../engine/models/text.ts';
import { distillDefaults } from '../../engine/distill/defaults.ts';
import { checkDistillOptions, InvalidDistillOption } from '../../engine/losses/distill.ts';
import { gatePolicySchema } from '../../governance/gate-policy.ts';
import { userSchema } from '../auth/principal.ts';
import { nameSchema } from './schemas.ts';

const count = (max: number) => z.number().int().min(1).max(max);

const { encoder, fasttext } = DEFAULT_ARCH;
const charNgram = z.number().int().min(0).max(10);
/** Weights in one embedding table, at most: 256 MiB of float32, the scale of the largest MLP a job may ask for. */
const MAX_EMBEDDING = 1 << 26;

const fastTextFields = {
  buckets: count(1 << 22).default(fasttext.buckets),
  dim: count(2048).default(fasttext.dim),
  wordNgrams: count(5).default(fasttext.wordNgrams),
  charNgrams: z
    .tuple([charNgram, charNgram])
    .refine(([min, max]) => (max === 0 ? min === 0 : min >= 1 && max >= min), {
      error: 'expected [MIN, MAX] with 1 <= MIN <= MAX, or [0, 0] for none',
    })
    .default(fasttext.charNgrams),
  maxLength: count(8192).default(fasttext.maxLength),
};
const fitsEmbedding = [
  (arch: { buckets: number; dim: number }) => arch.buckets * arch.dim <= MAX_EMBEDDING,
  { error: `buckets × dim must be at most ${MAX_EMBEDDING}`, path: ['buckets'] },
] as [(arch: { buckets: number; dim: number }) => boolean, { error: string; path: string[] }];
const fastTextArchSchema = z
  .object({ kind: z.literal('fasttext'), ...fastTextFields })
  .strict()
  .refine(...fitsEmbedding);
/** A distillation's fastText student: the same sizes as a fastText model, the engine's defaults for those left out. */
const fastTextStudentSchema = z
  .object(fastTextFields)
  .strict()
  .refine(...fitsEmbedding);

/** A text model trained from scratch (engine/models/text.ts); a size left out takes the engine's default. */
export const textArchSchema = z
  .discriminatedUnion('kind', [
    z
      .object({
        kind: z.literal('encoder'),
        vocabSize: count(100_000).default(encoder.vocabSize),
        maxLength: count(2048).default(encoder.maxLength),
        windows: count(64).default(encoder.windows),
        dModel: count(2048).default(encoder.dModel),
        heads: count(64).default(encoder.heads),
        layers: count(48).default(encoder.layers),
        ffn: count(8192).default(encoder.ffn),
        pooling: z.enum(['mean', 'cls']).default(encoder.pooling),
      })
      .strict()
      .refine((arch) => arch.dModel % arch.heads === 0, {
        error: 'dModel must be a multiple of heads',
        path: ['heads'],
      })
      .refine((arch) => arch.vocabSize * arch.dModel <= MAX_EMBEDDING, {
        error: `vocabSize × dModel must be at most ${MAX_EMBEDDING}`,
        path: ['vocabSize'],
      }),
    fastTextArchSchema,
  ])
  .meta({ id: 'TextArch' });

/** The engine's TrainingSpec, held to sizes one job may ask for. */
export const trainingSchema = z
  .object({
    /** Hidden widths of the MLP; ignored with `text` or a base model (send []). */
    hidden: z.array(count(4096)).max(8),
    /** Train a text model from scratch on `{"text", "label"}` files. */
    text: textArchSchema.optional(),
    method: z
      .string()
      .max(200)
      .regex(
        /^(full|head|bitfit|freeze:.+|lora(:.*)?)$/,
        'expected full, head, bitfit, freeze:PATTERN or lora[:RANK][,...]',
      ),
    config: z
      .object({
        batchSize: count(65_536),
        epochs: count(10_000).optional(),
        maxSteps: count(10_000_000).optional(),
        lr: z.number().positive().max(10),
        warmupSteps: z.number().int().min(0).optional(),
        decay: z.enum(['cosine', 'linear', 'constant']).optional(),
        minLr: z.number().min(0).optional(),
        optimizer: z.discriminatedUnion('kind', [
          z
            .object({
              kind: z.literal('adamw'),
              beta1: z.number().optional(),
              beta2: z.number().optional(),
              eps: z.number().optional(),
              weightDecay: z.number().optional(),
            })
            .strict(),
          z
            .object({ kind: z.literal('sgd'), momentum: z.number().optional(), weightDecay: z.number().optional() })
            .strict(),
        ]),
        loss: z.discriminatedUnion('kind', [
          z.object({ kind: z.literal('cross-entropy'), smoothing: z.number().min(0).max(1).optional() }).strict(),
          z.object({ kind: z.literal('bce-with-logits') }).strict(),
          z.object({ kind: z.literal('mse') }).strict(),
        ]),
        clipNorm: z.number().positive().optional(),
        accumulation: count(1024).optional(),
        seed: z
          .number()
          .int()
          .min(0)
          .max(2 ** 31 - 1),
        evalEvery: count(10_000_000).optional(),
        patience: count(10_000).optional(),
        checkpointEvery: count(10_000_000),
        threads: count(256).optional(),
      })
      .strict()
      .refine((config) => config.epochs !== undefined || config.maxSteps !== undefined, {
        error: 'give epochs or maxSteps',
      }),
  })
  .strict()
  .meta({ id: 'Training' });

/** The optional distillation stage; temperature and alpha are held to the engine's own checks. */
export const distillationSchema = z
  .object({
    temperature: z.number().optional().meta({ description: 'Softens both distributions: > 0, default 2' }),
    alpha: z.number().optional().meta({ description: "Weight of the teacher's soft targets: 0 to 1, default 0.5" }),
    /** An MLP student (hidden widths) for a tabular teacher; a fastText student (sizes optional) for a text one. */
    student: z.union([
      z.object({ hidden: z.array(count(4096)).max(8) }).strict(),
      z.object({ fasttext: fastTextStudentSchema }).strict(),
    ]),
    config: z
      .object({
        epochs: count(10_000).optional(),
        maxSteps: count(10_000_000).optional(),
        batchSize: count(65_536).optional(),
        lr: z.number().positive().max(10).optional(),
      })
      .strict()
      .optional()
      .meta({ description: 'Default: 10 epochs, batches of 32, lr 0.001 for an MLP student, 0.01 for fastText' }),
  })
  .strict()
  .superRefine(({ temperature = distillDefaults.temperature, alpha = distillDefaults.alpha }, ctx) => {
    try {
      checkDistillOptions({ temperature, alpha });
    } catch (error) {
      if (!(error instanceof InvalidDistillOption)) throw error;
      ctx.addIssue({ code: 'custom', path: [error.field], message: error.message });
    }
  })
  .meta({ id: 'Distillation' });

const fileId = z.string().max(64);

/** A version of one of the tenant's registry models to fine-tune: by number, or whatever production is. */
export const baseModelSchema = z
  .object({
    model: nameSchema,
    version: z.number().int().min(1).max(99_999_999).optional(),
    alias: z.literal('production').optional(),
  })
  .strict()
  .refine((base) => (base.version === undefined) !== (base.alias === undefined), {
    error: 'give either version or alias',
  })
  .meta({ id: 'BaseModel' });

/** For bodies with `base_model` and `training` (jobs and schedules): a base model brings its own architecture. */
export const baseBringsItsArchitecture: [
  (body: { base_model?: unknown; training: { text?: unknown } }) => boolean,
  { error: string; path: string[] },
] = [
  (body) => !(body.base_model && body.training.text),
  {
    error: 'a base model brings its own architecture (and text encoding): drop training.text',
    path: ['training', 'text'],
  },
];

/**
 * For bodies with `training` and `distillation`: a text teacher (training.text) teaches a fastText student, a
 * tabular one an MLP. With a base model the teacher's kind is known only when the job runs.
 */
export const studentFitsTeacher: [
  (body: { base_model?: unknown; training: { text?: unknown }; distillation?: { student: object } }) => boolean,
  { error: string; path: string[] },
] = [
  (body) => {
    if (!body.distillation || body.base_model) return true;
    return Boolean(body.training.text) === 'fasttext' in body.distillation.student;
  },
  {
    error:
      'a text model (training.text) distils into a fastText student ({fasttext: {...}}), a tabular one into an MLP ({hidden: [...]})',
    path: ['distillation', 'student'],
  },
];

/** What a job runs, as a job and a schedule (each of whose runs is a job) both take it. */
export const jobSpecFields = {
  /** Optional: rows unlike the training data, for OOD detection AUROC; their labels may be absent. */
  ood_file: fileId.optional(),
  training: trainingSchema,
  /** Fine-tune this version instead of training from scratch; it brings its own architecture. With alias
   * 'production' on a schedule, each run fine-tunes whatever is in production when it runs. */
  base_model: baseModelSchema.optional(),
  /** Distil the trained model into this compact student, which becomes the candidate. */
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

export const jobStates = [
  'validating',
  'training',
  'distilling',
  'evaluating',
  'gating',
  'awaiting_approval',
  'deploying',
  'deployed',
  'dataset_rejected',
  'gate_failed',
  'rejected',
  'expired',
  'cancelled',
  'failed',
] as const;

export const listJobsFilter = z.object({
  status: z.enum(jobStates).optional(),
  model: nameSchema.optional(),
  submitter: userSchema.optional(),
});

const modelScores = z.object({ accuracy: z.number(), macro_f1: z.number(), loss: z.number(), parameters: z.number() });

export const jobSchema = z
  .object({
    id: z.string(),
    model: z.string(),
    status: z.enum(jobStates),
    /** The pipeline stage the job is in, or ended in. */
    stage: z.enum(jobStates),
    submitter: z.string(),
    created_at: z.string(),
    closed_at: z.string().nullable(),
    progress: z
      .object({ step: z.number(), total_steps: z.number(), loss: z.number(), eval_loss: z.number().optional() })
      .nullable(),
    transitions: z.array(z.object({ state: z.enum(jobStates), at: z.string() })),
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
