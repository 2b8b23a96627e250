import { sha256 } from '../engine/export/inference.ts';
import { InvalidInput } from '../engine/invalid-input.ts';
import { DatasetError } from '../engine/data/index.ts';
import { measureDataDrift } from '../engine/train/data-drift.ts';
import { ObjectNotFound, parseObjectKey, type ObjectStore } from '../core/object-store.ts';
import type { VersionRecord } from '../core/registry/registry.ts';
import type { Drift } from '../governance/drift.ts';

// For the evaluate stage: how far this job's training data moved from the production version's, read from the S3
// key its lineage records (dataset_keys.train) and checked against the sha256 it records, so the figures are about
// the very file production was trained on. When they cannot be measured the report says why instead.

/** The two-sample test's seed: fixed, so the same two files give the same report. */
export const DRIFT_SEED = 0;

export async function driftFromProduction(
  store: ObjectStore,
  production: VersionRecord,
  trainKey: string,
): Promise<Drift> {
  const reference = {
    version: production.version,
    train_key: production.dataset_keys?.train,
    train_sha256: production.datasets?.train,
  };
  const unmeasured = (reason: string): Drift => ({ measured: false, reason, production: reference });
  if (!reference.train_key)
    return unmeasured(`production version ${production.version}'s lineage records no training file key`);
  let bytes: Uint8Array;
  try {
    bytes = (await store.get(parseObjectKey(reference.train_key))).bytes;
  } catch (error) {
    if (error instanceof ObjectNotFound) return unmeasured(`production's training file ${reference.train_key} is gone`);
    throw error;
  }
  if (sha256(bytes) !== reference.train_sha256) {
    return unmeasured(
      `production's training file ${reference.train_key} changed since version ${production.version} was trained (sha256 differs from its lineage)`,
    );
  }
  const current = (await store.get(parseObjectKey(trainKey))).bytes;
  const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
  try {
    const drift = await measureDataDrift(text(bytes), text(current), { seed: DRIFT_SEED, threads: 1 });
    return { measured: true, production: reference, ...drift };
  } catch (error) {
    // Data of another kind or width than production's: the report says so; the candidate is still evaluated.
    if (error instanceof InvalidInput || error instanceof DatasetError || error instanceof RangeError) {
      return unmeasured(error.message);
    }
    throw error;
  }
}
