import { renderModelCard, type ModelCardInput } from '../governance/card.ts';
import { currentJobId } from './job-id.ts';
import { ObjectNotFound, parseObjectKey, type ObjectStore } from '../core/object-store.ts';
import { trainingInputsKey } from './train.ts';
import { Registry } from '../core/registry/registry.ts';
import { cardInputKey } from './gate.ts';
import type { DeployInput, DeployResult } from '../core/jobs/stages.ts';

// The deploy stage: register the approved candidate as a new version (model, metrics, the card with its approver,
// lineage) and point the model's `production` alias at it; the production before it stays for rollback.

export function createDeploy(store: ObjectStore) {
  const registry = new Registry(store);
  return async function deploy(input: DeployInput): Promise<DeployResult> {
    const jobId = currentJobId();
    const cardInput = await store.getJson<ModelCardInput>(cardInputKey(jobId));
    // Absent for jobs whose training ran before the keys were kept.
    const datasetKeys = await store
      .getJson<Record<string, string>>(trainingInputsKey(jobId))
      .catch((error: unknown) => {
        if (error instanceof ObjectNotFound) return undefined;
        throw error;
      });
    const planned = ((await registry.listVersions(input.model)).at(-1) ?? 0) + 1;
    const card = renderModelCard({ ...cardInput, version: planned, approver: input.approver });
    const version = await registry.registerVersion(
      input.model,
      {
        model: (await store.get(parseObjectKey(input.trained.modelKey))).bytes,
        metrics: { candidate: cardInput.candidate, production: cardInput.production ?? null },
        card,
      },
      {
        job_id: jobId,
        created: input.at,
        datasets: input.trained.datasets,
        ...(datasetKeys ? { dataset_keys: datasetKeys } : {}),
        ...(cardInput.training.base_model ? { base_model: cardInput.training.base_model } : {}),
        method: cardInput.training.method,
        hyperparameters: cardInput.training.hyperparameters,
        seed: cardInput.training.seed,
        code_version: cardInput.training.code_version,
        submitter: input.submitter,
        approver: input.approver,
      },
    );
    const aliases = await registry.promote(input.model, version, { actor: input.approver, at: input.at });
    const { record, keys } = await registry.getVersion(input.model, version);
    return { version, aliases, cardSha256: record.artifacts['card.json'], lineageKey: keys['lineage.json'] };
  };
}
