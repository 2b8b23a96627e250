// A create request in OpenAI's terms turned into Ratchet's job: `model` names an architecture or a registry model,
// OpenAI's hyperparameters ("auto" or numbers) set the training config, and every value the job runs with is
// resolved here, so the job reports what it trains with rather than "auto".
import { trainingSchema, type TrainingInput } from '../../core/jobs/spec.ts';
import type { TrainingSpec } from '../../core/jobs/stages.ts';
import { Registry } from '../../core/registry/registry.ts';
import { TRAINING_DEFAULTS } from '../../engine/train/defaults.ts';
import { invalidField } from '../problem.ts';
import { tenantBaseModel } from './base-model.ts';
import { isArchitecture, type ARCHITECTURES, type CreateJobBody, type ResolvedHyperparameters } from './job-schemas.ts';

type Architecture = (typeof ARCHITECTURES)[number];

export async function resolveTraining(registry: Registry, tenant: string, body: CreateJobBody, trainingFile: string) {
  const hp = body.method?.supervised?.hyperparameters ?? body.hyperparameters ?? {};
  const given: TrainingInput = body.training ?? {};
  const [name, version] = body.model.split(':');
  let arch: Architecture = 'mlp';
  let base;
  if (isArchitecture(body.model)) {
    arch = body.model;
    if (arch !== 'mlp' && given.text && given.text.kind !== arch)
      throw invalidField('body.training.text.kind', `model ${arch} trains a ${arch}: drop training.text or match it`);
  } else {
    if (given.text) throw invalidField('body.training.text', 'a registry model brings its own architecture');
    const ref = version ? { model: name, version: Number(version) } : { model: name, alias: 'production' as const };
    base = await tenantBaseModel(registry, tenant, ref, 'body.model');
  }
  const defaults = TRAINING_DEFAULTS[base ? 'mlp' : arch];
  const config = { ...given.config };
  if (typeof hp.batch_size === 'number') config.batchSize = hp.batch_size;
  if (typeof hp.n_epochs === 'number') config.epochs = hp.n_epochs;
  if (typeof hp.learning_rate_multiplier === 'number') config.lr = hp.learning_rate_multiplier * defaults.lr;
  if (body.seed !== undefined && body.seed !== null) config.seed = body.seed;
  const text = arch === 'mlp' || base ? given.text : (given.text ?? { kind: arch });
  const training = trainingSchema.parse({ ...given, text, config });
  // The registry model the candidate joins: named by suffix, else the base model's own, else one per training file.
  const suffix = body.suffix ?? (base ? name : `${arch}-${trainingFile.replace(/^file-/, '')}`);
  return { training: base ? { ...training, base } : training, hyperparameters: hyperparametersOf(training), suffix };
}

/** OpenAI's hyperparameters of a resolved training spec; the learning rate relative to its architecture's default. */
export function hyperparametersOf(training: TrainingSpec): ResolvedHyperparameters {
  const defaults = TRAINING_DEFAULTS[training.text?.kind ?? 'mlp'];
  return {
    batch_size: training.config.batchSize,
    learning_rate_multiplier: training.config.lr / defaults.lr,
    n_epochs: training.config.epochs ?? 'auto',
  };
}
