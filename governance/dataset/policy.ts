import { z } from 'zod';

// What a validation run is allowed to accept, and what the submitter declares about the data.
// Both arrive from outside (API, workflow input), so both are parsed here with errors that name the field.

const MiB = 1024 * 1024;
export const DEFAULT_MAX_RECORD_BYTES = MiB;

export const validationPolicySchema = z
  .object({
    /** A longer line is one `oversized_record` finding; the validator never buffers more than this of a line. */
    maxRecordBytes: z
      .number()
      .int()
      .positive()
      .max(64 * MiB)
      .default(DEFAULT_MAX_RECORD_BYTES),
    /** SPDX identifiers, compared case-insensitively. Absent: any declared licence is accepted. */
    allowedLicences: z.array(z.string().min(1)).optional(),
    minClasses: z.number().int().min(1).default(2),
    /** Distinct labels tracked at most; more is `too_many_classes` (and bounds the memory the label counts take). */
    maxClasses: z.number().int().min(1).max(100_000).default(10_000),
    /** A class holding less than this share of the training records is `class_imbalance`. */
    minClassShare: z.number().min(0).max(1).default(0.05),
    nearDuplicates: z
      .object({
        enabled: z.boolean().default(true),
        /** Normalised texts shorter than this are not compared: "ok thanks" is not a near duplicate worth reporting. */
        minChars: z.number().int().min(0).default(20),
      })
      .strict()
      .prefault({}),
    /**
     * Likely label errors (`likely_mislabel`, by confident learning on out-of-fold predictions of a quick model) and
     * duplicates with conflicting labels (`conflicting_duplicate`) in the training file: reported as warnings, as
     * blocking findings, dropped from the training file the train stage reads (reported as warnings), or not checked.
     */
    mislabels: z
      .object({
        action: z.enum(['off', 'warn', 'block', 'drop']).default('warn'),
        /** The quick models train on a seeded sample of at most this many training records. */
        maxRows: z.number().int().min(10).max(50_000).default(5000),
        /** Fewer training records than this: no model is trained (too few to learn from); duplicates are still checked. */
        minRows: z.number().int().min(10).default(100),
        /** Flagged rows listed in the report (with label and suggestion); the count covers all of them. */
        reportRows: z.number().int().min(0).max(10_000).default(50),
        folds: z.number().int().min(2).max(20).default(5),
        seed: z.number().int().min(0).max(0xffff_ffff).default(1),
      })
      .strict()
      .prefault({}),
    piiSeverity: z.enum(['warning', 'blocking']).default('warning'),
    /** Example line numbers kept per finding. */
    maxExamples: z.number().int().min(0).max(100).default(5),
  })
  .strict();

export const datasetManifestSchema = z
  .object({
    name: z.string().optional(),
    source: z.string().optional(),
    licence: z.string().min(1).optional(),
    owner: z.string().optional(),
  })
  .strict();

export type ValidationPolicy = z.output<typeof validationPolicySchema>;
export type ValidationPolicyInput = z.input<typeof validationPolicySchema>;
export type DatasetManifest = z.output<typeof datasetManifestSchema>;

/** Bad policy or manifest: the caller's mistake, so retrying cannot help. */
export class InvalidValidationInput extends Error {
  override name = 'InvalidValidationInput';
}

export function parsePolicy(input: unknown): ValidationPolicy {
  return parseOrThrow(validationPolicySchema, input ?? {}, 'validation policy');
}

export function parseManifest(input: unknown): DatasetManifest | undefined {
  return input === undefined ? undefined : parseOrThrow(datasetManifestSchema, input, 'dataset manifest');
}

function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const result = schema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new InvalidValidationInput(`invalid ${what}: ${problems.join('; ')}`);
  }
  return result.data;
}
