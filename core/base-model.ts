import { sha256Hex } from './ledger/canonical.ts';
import { createOnce } from './ledger/create-once.ts';
import { ObjectNotFound, objectKey, type ObjectStore } from './object-store.ts';
import { Registry, RegistryError } from './registry/registry.ts';
import { checkModelName, checkVersion } from './registry/schema.ts';

// The model a job fine-tunes, named by a registry reference rather than a key: a version of a registry model, or
// whatever its `production` alias points at (the ratchet loop: retrain what is serving). The reference is resolved
// once per job and pinned next to it, so a retried attempt trains from the same version even if production moved.

export type BaseModelRef = { model: string; version: number } | { model: string; alias: 'production' };

/**
 * The version a reference resolved to, as lineage and the model card record it; an imported base (one whose
 * lineage is `imported`) brings its licence and the sha256s of the files it was built from.
 */
export type ResolvedBaseModel = {
  name: string;
  version: number;
  sha256: string;
  licence?: string;
  source_sha256?: Record<string, string>;
};

/** The pin a job's attempts share: jobs/<id>/base-model.json. */
const pinKey = (jobId: string) => objectKey('jobs', jobId, 'base-model.json');

/** The version `ref` names now; RegistryError when the model has no such version or no production. */
export async function resolveVersion(registry: Registry, ref: BaseModelRef): Promise<number> {
  const name = checkModelName(ref.model);
  if ('version' in ref) return checkVersion(ref.version);
  const production = await registry.getAlias(name, 'production');
  if (!production) throw new RegistryError(`base model '${name}' has no production version`);
  return production.version;
}

/**
 * The base model's bytes and what they are, for job `jobId`. The bytes are checked against the sha256 the registry
 * recorded for the version, so lineage names exactly what was trained from.
 */
export async function loadBaseModel(
  store: ObjectStore,
  jobId: string,
  ref: BaseModelRef,
): Promise<{ resolved: ResolvedBaseModel; bytes: Uint8Array }> {
  const registry = new Registry(store);
  const name = checkModelName(ref.model);
  const pinned = await readPin(store, jobId);
  const version = pinned ? pinned.version : await resolveVersion(registry, ref);
  const { record, keys } = await registry.getVersion(name, version);
  const bytes = (await store.get(keys['model.onnx'])).bytes;
  const imported = record.imported;
  const resolved: ResolvedBaseModel = {
    name,
    version,
    sha256: sha256Hex(bytes),
    ...(imported?.licence ? { licence: imported.licence } : {}),
    ...(imported ? { source_sha256: imported.sha256 } : {}),
  };
  if (resolved.sha256 !== record.artifacts['model.onnx']) {
    throw new RegistryError(`base model '${name}' version ${version}: model.onnx does not match its recorded sha256`);
  }
  if (!pinned && !(await createOnce(store, pinKey(jobId), JSON.stringify(resolved)))) {
    // Another attempt of this job pinned first (it resolved the alias earlier): train from its choice.
    return loadBaseModel(store, jobId, ref);
  }
  return { resolved, bytes };
}

async function readPin(store: ObjectStore, jobId: string): Promise<ResolvedBaseModel | undefined> {
  try {
    return await store.getJson<ResolvedBaseModel>(pinKey(jobId));
  } catch (error) {
    if (error instanceof ObjectNotFound) return undefined;
    throw error;
  }
}
