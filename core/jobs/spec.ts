// The one job spec: what a job trains and how, as the API, schedules and `ratchet train` / `ratchet distill` all
// take it. Every type of it is derived from these schemas (z.input: what a caller may send; z.output: the spec
// with its defaults), and the defaults are applied here, once: the CLI's flags and the API's fields are two
// spellings of the same input (test/unit/job-spec.test.ts holds them to it).
import { z } from 'zod';
import { distillDefaults, studentLr } from '../../engine/distill/defaults.ts';
import { checkDistillOptions, InvalidDistillOption } from '../../engine/losses/distill.ts';
import { InvalidInput } from '../../engine/invalid-input.ts';
import { parseMethod } from '../../engine/models/methods.ts';
import { DEFAULT_ARCH } from '../../engine/models/text.ts';
import { TRAINING_DEFAULTS } from '../../engine/train/defaults.ts';
import { nameSchema } from '../registry/schema.ts';

const count = (max: number) => z.number().int().min(1).max(max);
/** An AdamW β: 1 would never forget, and the engine keeps the moments' sums (engine/optim/adamw.ts). */
const beta = z
  .number()
  .refine((b) => b >= 0 && b < 1, { error: (issue) => `must be in [0, 1), got ${String(issue.input)}` });

const { encoder, fasttext } = DEFAULT_ARCH;
const charNgram = z.number().int().min(0).max(10);
/** Weights in one embedding table, at most: 256 MiB of float32, the scale of the largest MLP a job may ask for. */
const MAX_EMBEDDING = 1 << 26;
/** Hidden widths of an MLP (a model trained from scratch, or a distillation's student). */
const hiddenSchema = z.array(count(4096)).max(8);

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
    z
      .object({ kind: z.literal('fasttext'), ...fastTextFields })
      .strict()
      .refine(...fitsEmbedding),
  ])
  .meta({ id: 'TextArch' });

const trainingConfigSchema = z
  .object({
    batchSize: count(65_536).default(32),
    /** Default: per architecture (engine/train/defaults.ts), unless maxSteps is given. */
    epochs: count(10_000).optional(),
    maxSteps: count(10_000_000).optional(),
    /** Default: per architecture (engine/train/defaults.ts). */
    lr: z.number().positive().max(10).optional(),
    warmupSteps: z.number().int().min(0).default(0),
    decay: z.enum(['cosine', 'linear', 'constant']).default('cosine'),
    minLr: z.number().min(0).optional(),
    optimizer: z
      .discriminatedUnion('kind', [
        z
          .object({
            kind: z.literal('adamw'),
            beta1: beta.optional(),
            beta2: beta.optional(),
            eps: z.number().min(0).optional(),
            weightDecay: z.number().min(0).optional(),
          })
          .strict(),
        z
          .object({
            kind: z.literal('sgd'),
            momentum: z.number().optional(),
            weightDecay: z.number().min(0).optional(),
          })
          .strict(),
      ])
      .default({ kind: 'adamw' }),
    loss: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('cross-entropy'), smoothing: z.number().min(0).lt(1).optional() }).strict(),
        z.object({ kind: z.literal('bce-with-logits') }).strict(),
        z.object({ kind: z.literal('mse') }).strict(),
      ])
      .default({ kind: 'cross-entropy' }),
    clipNorm: z.number().positive().optional(),
    accumulation: count(1024).default(1),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(0),
    /** Default: once per epoch. */
    evalEvery: count(10_000_000).optional(),
    patience: count(10_000).optional(),
    /** Default: once per epoch. */
    checkpointEvery: count(10_000_000).optional(),
    /**
     * Intra-op threads (default 2, 1 for fastText); with a fixed seed and thread count CPU training is
     * bit-reproducible.
     */
    threads: count(256).optional(),
    /**
     * fp16: mixed precision, float16 compute on float32 master weights with dynamic loss scaling (pays on CUDA; on
     * the CPU it runs slower, docs/PERFORMANCE.md).
     */
    precision: z.enum(['fp32', 'fp16']).default('fp32'),
    /** Mixed precision: the loss scale to start from (default 65536) and the finite steps after which it doubles (2000). */
    lossScale: z
      .number()
      .positive()
      .max(2 ** 100)
      .optional(),
    lossScaleGrowth: count(10_000_000).optional(),
  })
  .strict();

/** What a job trains and how. The learning rate and epochs a caller leaves out are its architecture's. */
export const trainingSchema = z
  .object({
    /** Hidden widths of the MLP trained from scratch; ignored with `text` or a base model. */
    hidden: hiddenSchema.default([64, 64]),
    /** Train a text model from scratch on `{"text", "label"}` files. */
    text: textArchSchema.optional(),
    /** How a base model is tuned; the engine's own parser checks it, so the API refuses what a run would. */
    method: z
      .string()
      .max(200)
      .superRefine((method, ctx) => {
        try {
          parseMethod(method);
        } catch (error) {
          if (!(error instanceof InvalidInput)) throw error;
          ctx.addIssue({ code: 'custom', message: error.message.replace(/^--method /, '') });
        }
      })
      .default('full'),
    config: trainingConfigSchema.prefault({}),
  })
  .strict()
  .transform(({ config, ...training }) => {
    const defaults = TRAINING_DEFAULTS[training.text?.kind ?? 'mlp'];
    const epochs = config.epochs ?? (config.maxSteps === undefined ? defaults.epochs : undefined);
    const threads = config.threads ?? defaults.threads;
    return { ...training, config: { ...config, epochs, lr: config.lr ?? defaults.lr, threads } };
  })
  .meta({ id: 'Training' });

/** The optional distillation stage; temperature and alpha are held to the engine's own checks. */
export const distillationSchema = z
  .object({
    temperature: z
      .number()
      .default(distillDefaults.temperature)
      .meta({ description: 'Softens both distributions: > 0, default 2' }),
    alpha: z
      .number()
      .default(distillDefaults.alpha)
      .meta({ description: "Weight of the teacher's soft targets: 0 to 1, default 0.5" }),
    /**
     * An MLP student (hidden widths, default [32]) for a tabular teacher; a fastText student (sizes optional) for a
     * text one. One object rather than a union, so that a problem inside either is reported at its own field.
     */
    student: z
      .object({
        hidden: hiddenSchema.optional(),
        fasttext: z
          .object(fastTextFields)
          .strict()
          .refine(...fitsEmbedding)
          .optional(),
      })
      .strict()
      .refine((student) => !(student.hidden && student.fasttext), { error: 'give hidden or fasttext, not both' })
      .transform((student): { hidden: number[] } | { fasttext: NonNullable<typeof student.fasttext> } =>
        student.fasttext ? { fasttext: student.fasttext } : { hidden: student.hidden ?? [32] },
      ),
    config: z
      .object({
        epochs: count(10_000).optional(),
        maxSteps: count(10_000_000).optional(),
        batchSize: count(65_536).default(distillDefaults.batchSize),
        lr: z.number().positive().max(10).optional(),
        /** Steps between the student's checkpoints, from which a retried attempt resumes. Default: once per epoch. */
        checkpointEvery: count(10_000_000).optional(),
        /** Intra-op threads of the student's training (the teacher's logits run on the job's training threads). */
        threads: count(256).optional(),
      })
      .strict()
      .prefault({})
      .meta({
        description:
          'Default: 10 epochs, batches of 32, lr 0.001 for an MLP student, 0.01 for fastText, a checkpoint per ' +
          "epoch, threads 1 for a fastText student and the job's training threads for an MLP",
      }),
  })
  .strict()
  .superRefine(({ temperature, alpha }, ctx) => {
    try {
      checkDistillOptions({ temperature, alpha });
    } catch (error) {
      if (!(error instanceof InvalidDistillOption)) throw error;
      ctx.addIssue({ code: 'custom', path: [error.field], message: error.message });
    }
  })
  .transform(({ config, ...distillation }) => {
    const epochs = config.epochs ?? (config.maxSteps === undefined ? distillDefaults.epochs : undefined);
    const arch = 'fasttext' in distillation.student ? 'fasttext' : 'mlp';
    const lr = config.lr ?? studentLr(arch);
    // An MLP student's threads default to the job's training threads, which only the job knows (distillJobOf).
    const threads = config.threads ?? (arch === 'fasttext' ? TRAINING_DEFAULTS.fasttext.threads : undefined);
    return { ...distillation, config: { ...config, epochs, lr, ...(threads === undefined ? {} : { threads }) } };
  })
  .meta({ id: 'Distillation' });

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

/** Training as a caller may send it; every field has a default. */
export type TrainingInput = z.input<typeof trainingSchema>;
export type DistillationInput = z.input<typeof distillationSchema>;
/** The job's `distillation`, defaults filled in. */
export type DistillationSpec = z.output<typeof distillationSchema>;

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
      'a text model (training.text) distills into a fastText student ({fasttext: {...}}), a tabular one into an MLP ({hidden: [...]})',
    path: ['distillation', 'student'],
  },
];
