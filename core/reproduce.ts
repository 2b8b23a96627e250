// Reproduce a registry version: gather the inputs its lineage names (the dataset files, the base model, the
// training spec with its defaults, the seed and threads), check each against the sha256 the lineage recorded, train
// again in-process on the CPU with the recorded threads (the teacher first and then the student for a distilled
// version) and compare the new model.onnx with the recorded one. CPU training is bit-reproducible for a fixed seed and
// thread count, so on the same code the bytes match unless an input changed; the report says which did.
import { runDistillJob } from '../engine/distill/job.ts';
import { sha256 } from '../engine/export/inference.ts';
import type { Progress } from '../engine/train/trainer.ts';
import { runTrainJob } from '../engine/train/job.ts';
import { codeVersion } from './code-version.ts';
import { distillJobOf, trainJobOf } from './jobs/engine-job.ts';
import type { TrainingSpec } from './jobs/stages.ts';
import type { DistillationInput } from './jobs/spec.ts';
import { ObjectNotFound, objectKey, parseObjectKey, type ObjectStore } from './object-store.ts';
import { Registry, RegistryError } from './registry/registry.ts';
import { checkModelName, checkVersion } from './registry/schema.ts';
import type { ReproduceReport, ReproducedInput } from './reproduction.ts';

export type ReproduceOptions = {
  /** Each training step: `stage` is train, teacher (a distilled version's) or student. */
  onProgress?: (stage: 'train' | 'teacher' | 'student', p: Progress) => void;
  signal?: AbortSignal;
};

export class NotReproducible extends Error {
  override name = 'NotReproducible';
}

/** The training a version's lineage records, as the job spec it came from (defaults were filled when it ran). */
function trainingOf(hyperparameters: Record<string, unknown>, method: string | undefined, base?: BaseRecord) {
  // `arch` (base, encoder, fasttext) only labels what `text` or the base model already say.
  const { hidden, text, ...rest } = hyperparameters as {
    hidden?: number[];
    text?: TrainingSpec['text'];
  } & Record<string, unknown>;
  const config = Object.fromEntries(Object.entries(rest).filter(([key]) => key !== 'arch'));
  return {
    hidden: hidden ?? [64, 64],
    ...(text ? { text } : {}),
    method: method ?? 'full',
    config: config as TrainingSpec['config'],
    ...(base ? { base: { model: base.name, version: Number(base.version) } } : {}),
  } as TrainingSpec;
}

type BaseRecord = { name: string; version?: string | number; sha256: string };

export async function reproduce(
  store: ObjectStore,
  model: string,
  version: number,
  options: ReproduceOptions = {},
): Promise<ReproduceReport> {
  checkModelName(model);
  checkVersion(version);
  const registry = new Registry(store);
  const { record } = await registry.getVersion(model, version);
  if (record.imported) {
    throw new NotReproducible(
      `'${model}' version ${version} was imported, not trained: there is no training to re-run`,
    );
  }
  const inputs: ReproducedInput[] = [];
  const keys = (record as { dataset_keys?: Record<string, string> }).dataset_keys ?? {};
  const data: Record<string, Uint8Array | undefined> = {};
  for (const role of ['train', 'eval'] as const) {
    const recorded = record.datasets![role];
    if (!recorded) continue;
    const found = await findDataset(store, model, recorded, keys[role]);
    data[role] = found.bytes;
    inputs.push({ name: role, recorded_sha256: recorded, ...found.input });
  }

  const distilled = record.method === 'distill';
  const hp = record.hyperparameters;
  const teacherHp = distilled ? (hp.teacher as Record<string, unknown>) : undefined;
  const baseRecord = (teacherHp ? teacherHp.base_model : record.base_model) as BaseRecord | undefined;
  let base: Uint8Array | undefined;
  if (baseRecord) {
    const found = await findBase(store, registry, baseRecord);
    base = found.bytes;
    inputs.push({ name: 'base_model', recorded_sha256: baseRecord.sha256, ...found.input });
  }

  const current = codeVersion();
  const code = { recorded: record.code_version!, current, same: record.code_version === current };
  const recordedModel = record.artifacts['model.onnx'];
  const report = (rebuilt: string | null): ReproduceReport => {
    const reproduced = rebuilt === recordedModel;
    const differing = inputs.filter((i) => !i.ok).map((i) => i.name);
    const summary = reproduced
      ? `model.onnx rebuilt byte for byte (${recordedModel})`
      : differing.length > 0
        ? `inputs differ from the lineage: ${differing.join(', ')}`
        : !code.same
          ? `every input matches but the code differs (${code.recorded} recorded, ${code.current} now)`
          : 'every input and the code match, yet the bytes differ (a non-deterministic run: GPU, or other threads)';
    return { model, version, reproduced, model_sha256: { recorded: recordedModel, rebuilt }, inputs, code, summary };
  };
  // Without the data there is nothing to train on; a missing base model likewise.
  if (!data.train || !data.eval || (baseRecord && !base)) return report(null);

  const dataset = { train: data.train, eval: data.eval };
  const names = { train: inputs[0].source ?? 'train', eval: inputs[1].source ?? 'eval' };
  if (!distilled) {
    const training = trainingOf(hp, record.method, baseRecord);
    const rebuilt = await train(training, dataset, base, names, 'train', options);
    return report(rebuilt ? sha256(rebuilt) : null);
  }

  // A student: retrain the teacher from its own lineage, then distil the student from it.
  const teacherArch = Object.fromEntries(
    Object.entries(teacherHp!).filter(([key]) => key !== 'method' && key !== 'base_model'),
  );
  const teacherTraining = trainingOf(teacherArch, teacherHp!.method as string | undefined, baseRecord);
  const teacher = await train(teacherTraining, dataset, base, names, 'teacher', options);
  if (!teacher) return report(null);
  const teacherSha = sha256(teacher);
  inputs.push({
    name: 'teacher',
    recorded_sha256: hp.teacher_sha256 as string,
    found_sha256: teacherSha,
    ok: teacherSha === hp.teacher_sha256,
    source: 'retrained from the lineage',
  });
  // `threads` is the student's: versions distilled before a fastText student defaulted to one thread recorded the
  // teacher's threads there, which their student trained on.
  const { student, temperature, alpha, epochs, maxSteps, batchSize, lr, checkpointEvery, threads } = hp as Record<
    string,
    unknown
  >;
  const config = { epochs, maxSteps, batchSize, lr, checkpointEvery, threads };
  const distillation = JSON.parse(JSON.stringify({ student, temperature, alpha, config })) as DistillationInput;
  const job = distillJobOf(distillation, { teacher: 'teacher', ...names }, teacherTraining.config);
  const result = await runDistillJob(
    job,
    { teacher, ...dataset },
    {
      ep: 'cpu',
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (p) => options.onProgress?.('student', p),
    },
  );
  return report(sha256(result.model));
}

async function train(
  training: TrainingSpec,
  data: { train: Uint8Array; eval: Uint8Array },
  base: Uint8Array | undefined,
  names: { train: string; eval: string },
  stage: 'train' | 'teacher',
  options: ReproduceOptions,
): Promise<Uint8Array | undefined> {
  const job = trainJobOf(training, { ...names, ...(base ? { base: 'base_model' } : {}) });
  const result = await runTrainJob(
    job,
    { ...data, ...(base ? { base } : {}) },
    {
      ep: 'cpu',
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (p) => options.onProgress?.(stage, p),
    },
  );
  return result.model;
}

type Found = { bytes: Uint8Array | undefined; input: Omit<ReproducedInput, 'name' | 'recorded_sha256'> };

/**
 * A dataset file's bytes: at the key the lineage recorded (versions registered since reproduce exists), or else any
 * of the tenant's uploaded files whose content has the recorded sha256. When neither has the recorded bytes, the
 * recorded key's current bytes are used (and reported as differing), so the run shows what the data now gives.
 */
async function findDataset(store: ObjectStore, model: string, recorded: string, key?: string): Promise<Found> {
  let current: { bytes: Uint8Array; sha: string; key: string } | undefined;
  if (key) {
    const bytes = await read(store, key);
    if (bytes) current = { bytes, sha: sha256(bytes), key };
    if (current?.sha === recorded) return { bytes: current.bytes, input: ok(recorded, key) };
  }
  const tenant = model.includes('--') ? model.split('--')[0] : undefined;
  if (tenant) {
    const prefix = `${objectKey('tenants', tenant, 'files')}/`;
    for (const recordKey of (await store.list(prefix)).filter((k) => k.endsWith('.json'))) {
      const file = await store
        .getJson<{ id?: string; sha256?: string | null }>(parseObjectKey(recordKey))
        .catch(() => undefined);
      if (file?.sha256 !== recorded || !file.id) continue;
      const contentKey = objectKey('tenants', tenant, 'files', file.id, 'content');
      const bytes = await read(store, contentKey);
      // The record says what was uploaded; the content is checked, as it may have been replaced since.
      if (bytes && sha256(bytes) === recorded) return { bytes, input: ok(recorded, contentKey) };
      if (bytes && !current) current = { bytes, sha: sha256(bytes), key: contentKey };
    }
  }
  if (!current) return { bytes: undefined, input: { found_sha256: null, ok: false } };
  return { bytes: current.bytes, input: { found_sha256: current.sha, ok: false, source: current.key } };
}

async function findBase(store: ObjectStore, registry: Registry, base: BaseRecord): Promise<Found> {
  const source = `${base.name} version ${String(base.version)}`;
  try {
    const { keys } = await registry.getVersion(base.name, checkVersion(base.version));
    const bytes = await read(store, keys['model.onnx']);
    if (!bytes) return { bytes: undefined, input: { found_sha256: null, ok: false, source } };
    const sha = sha256(bytes);
    return { bytes, input: { found_sha256: sha, ok: sha === base.sha256, source } };
  } catch (error) {
    if (error instanceof RegistryError) return { bytes: undefined, input: { found_sha256: null, ok: false, source } };
    throw error;
  }
}

const ok = (sha: string, source: string) => ({ found_sha256: sha, ok: true, source });

async function read(store: ObjectStore, key: string): Promise<Uint8Array | undefined> {
  try {
    return (await store.get(parseObjectKey(key))).bytes;
  } catch (error) {
    if (error instanceof ObjectNotFound) return undefined;
    throw error;
  }
}
