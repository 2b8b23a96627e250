// Dataset versions: what schedules train on. Publishing a version copies two uploaded files to
// tenants/<tenant>/datasets/<dataset>/<version>/{train,eval}.jsonl, the layout a schedule's run reads the newest of.
import { z } from 'zod';
import { objectKey, type ObjectStore } from '../../core/object-store.ts';
import { resource } from '../http/endpoint.ts';
import { router, type BodyLimits } from '../http/router.ts';
import type { AuditTrail } from './audit-trail.ts';
import { uploadedFile } from './files.ts';
import { nameSchema } from '../../core/registry/schema.ts';

export const datasetPrefix = (tenant: string, dataset: string) => objectKey('tenants', tenant, 'datasets', dataset);

const api = resource('datasets');

const publish = api.post('/v1/datasets/{dataset}/versions', {
  summary: 'Publish a dataset version from two uploaded files (schedules train on the newest version)',
  role: 'submitter',
  params: z.object({ dataset: nameSchema }),
  body: z
    .object({
      /** Versions compare as strings: use dates or zero-padded numbers so that later sorts last. */
      version: z.string().regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/, 'expected a version such as 2026-11-28 or 000042'),
      training_file: z.string().max(64),
      validation_file: z.string().max(64),
    })
    .strict(),
  responses: { 201: { description: 'Published', schema: z.object({ dataset: z.string(), version: z.string() }) } },
});

export const datasetEndpoints = [publish];

export function datasetRoutes(deps: { store: ObjectStore; audit: AuditTrail; limits: BodyLimits }) {
  const { store } = deps;
  const { app, mount } = router(deps.limits);

  mount(publish, async (c, { params, body }) => {
    const { tenant, user } = c.get('principal');
    const train = await uploadedFile(store, tenant, body.training_file, 'training_file');
    const evaluation = await uploadedFile(store, tenant, body.validation_file, 'validation_file');
    const folder = `${datasetPrefix(tenant, params.dataset)}/${body.version}`;
    for (const [file, name] of [
      [train, 'train.jsonl'],
      [evaluation, 'eval.jsonl'],
    ] as const) {
      await store.put(objectKey(...folder.split('/'), name), (await store.get(file.key)).bytes, {
        contentType: 'application/jsonl',
      });
    }
    await deps.audit.record(
      tenant,
      user,
      'dataset.published',
      `${params.dataset}@${body.version}`,
      { training_file: train.id, validation_file: evaluation.id },
      {
        inputs: { train: train.sha256!, eval: evaluation.sha256! },
      },
    );
    return c.json({ dataset: params.dataset, version: body.version }, 201);
  });

  return app;
}
