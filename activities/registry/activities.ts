import { ApplicationFailure } from '@temporalio/activity';
import { InvalidObjectKey, ObjectNotFound, parseObjectKey, type ObjectStore } from '../object-store.ts';
import { versionKeys } from './layout.ts';
import { Registry, RegistryError, type Aliases, type Change } from './registry.ts';
import { InvalidRegistryInput, type LineageInput } from './schema.ts';

// The registry as Temporal activities. The model travels by S3 key (activity payloads are small); metrics and the
// card are small JSON and travel by value.

export type RegisterModelVersionInput = {
  model: string;
  /** Where the job left the inference ONNX model, e.g. 'jobs/<id>/model.onnx'. */
  modelKey: string;
  metrics: unknown;
  card: { markdown: string; json: unknown };
  lineage: LineageInput;
};

export type RegisteredVersion = { model: string; version: number; keys: ReturnType<typeof versionKeys> };

export function createRegistryActivities(store: ObjectStore) {
  const registry = new Registry(store);
  return {
    async registerModelVersion(input: RegisterModelVersionInput): Promise<RegisteredVersion> {
      return nonRetryableOnBadInput(async () => {
        const { bytes } = await store.get(parseObjectKey(input.modelKey));
        const version = await registry.registerVersion(
          input.model,
          { model: bytes, metrics: input.metrics, card: input.card },
          input.lineage,
        );
        return { model: input.model, version, keys: versionKeys(input.model, version) };
      });
    },
    async promoteModel(input: { model: string; version: number } & Change): Promise<Aliases> {
      return nonRetryableOnBadInput(() => registry.promote(input.model, input.version, input));
    },
    async rollbackModel(input: { model: string } & Change): Promise<Aliases> {
      return nonRetryableOnBadInput(() => registry.rollback(input.model, input));
    },
  };
}

/** Bad names or keys, missing objects, incomplete versions, nothing to roll back to: retrying cannot help. */
async function nonRetryableOnBadInput<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const permanent = [InvalidRegistryInput, RegistryError, InvalidObjectKey, ObjectNotFound];
    if (permanent.some((kind) => error instanceof kind)) {
      const { message, name } = error as Error;
      throw ApplicationFailure.nonRetryable(message, name);
    }
    throw error;
  }
}
