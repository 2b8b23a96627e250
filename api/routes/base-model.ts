// A create request's base model, checked against the tenant's registry before a job starts: an unknown model,
// version or alias is a 404 naming the field, not a job that fails minutes later. The job resolves an alias again
// when training starts (core/base-model.ts), so it trains from what production is then.
import { resolveVersion, type BaseModelRef } from '../../core/base-model.ts';
import { RegistryError, type Registry } from '../../core/registry/registry.ts';
import { HttpProblem } from '../problem.ts';
import { scoped } from '../tenancy.ts';
import type { baseModelSchema } from '../../core/jobs/spec.ts';
import type { z } from 'zod';

export async function tenantBaseModel(
  registry: Registry,
  tenant: string,
  base: z.output<typeof baseModelSchema>,
  /** Where the request named it: `body.base_model` (a schedule), or `body.model` (a job, as `name[:version]`). */
  at = 'body.base_model',
): Promise<BaseModelRef> {
  const model = scoped(tenant, base.model);
  const ref: BaseModelRef =
    base.version !== undefined ? { model, version: base.version } : { model, alias: 'production' };
  const missing = (field: string, message: string) => {
    const path = at === 'body.base_model' ? `${at}.${field}` : at;
    return new HttpProblem(404, { title: 'Not found', detail: `${path}: ${message}`, errors: [{ path, message }] });
  };
  if ((await registry.listVersions(model)).length === 0) throw missing('model', `no model ${base.model}`);
  try {
    await registry.getVersion(model, await resolveVersion(registry, ref));
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error;
    throw base.version !== undefined
      ? missing('version', `model ${base.model} has no version ${base.version}`)
      : missing('alias', `model ${base.model} has no production version`);
  }
  return ref;
}
