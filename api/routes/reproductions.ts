// Reproductions: re-run a registry version's training from its lineage and say whether model.onnx comes out byte
// for byte the same, and if not which input differs (core/reproduce.ts). A reproduction trains as long as the job
// did, so it runs as a `reproduceModel` workflow on the training workers: POST starts it (202), GET reads it back.
import { z } from 'zod';
import { ObjectNotFound, type ObjectStore } from '../../core/object-store.ts';
import type { Registry } from '../../core/registry/registry.ts';
import { nameSchema } from '../../core/registry/schema.ts';
import { reproductionKey, type ReproduceReport } from '../../core/reproduction.ts';
import { resource } from '../http/endpoint.ts';
import { router, type BodyLimits } from '../http/router.ts';
import { notFound } from '../problem.ts';
import { scoped, unscoped } from '../tenancy.ts';
import type { ReproductionService } from '../temporal/reproductions.ts';
import type { AuditTrail } from './audit-trail.ts';

const inputSchema = z.object({
  name: z.string(),
  recorded_sha256: z.string(),
  found_sha256: z.string().nullable(),
  ok: z.boolean(),
  source: z.string().optional(),
});
const reportSchema = z
  .object({
    model: z.string(),
    version: z.number().int(),
    reproduced: z.boolean(),
    model_sha256: z.object({ recorded: z.string(), rebuilt: z.string().nullable() }),
    inputs: z.array(inputSchema),
    code: z.object({ recorded: z.string(), current: z.string(), same: z.boolean() }),
    summary: z.string(),
  })
  .meta({ id: 'ReproduceReport' });
const reproductionSchema = z
  .object({
    id: z.string(),
    object: z.literal('reproduction'),
    model: z.string(),
    version: z.number().int(),
    status: z.enum(['running', 'succeeded', 'failed']),
    created_at: z.number().int(),
    /** Once succeeded: `reproduced` is true when the rebuilt model.onnx has the recorded sha256. */
    report: reportSchema.nullable(),
    error: z.string().nullable(),
    /** While running: the training's latest step, { stage: train | teacher | student, step, totalSteps }. */
    progress: z.unknown().optional(),
  })
  .meta({ id: 'Reproduction' });

const api = resource('models');
const start = api
  .one(z.object({ model: nameSchema, version: z.coerce.number().int().min(1).max(99_999_999) }), 'No such version')
  .post('/v1/models/{model}/versions/{version}/reproduce', {
    summary: "Re-run a version's training from its lineage (on a worker) and compare the bytes",
    role: 'approver',
    responses: {
      202: { description: 'Started: GET /v1/reproductions/{id} for the report', schema: reproductionSchema },
    },
  });
const get = api.one(z.object({ id: z.string().max(100) }), 'No such reproduction').get('/v1/reproductions/{id}', {
  summary: 'A reproduction: running, or its report',
  role: 'viewer',
  responses: { 200: { description: 'The reproduction', schema: reproductionSchema } },
});

export const reproductionEndpoints = [start, get];

export function reproductionRoutes(deps: {
  reproductions: ReproductionService;
  registry: Registry;
  store: ObjectStore;
  audit: AuditTrail;
  limits: BodyLimits;
}) {
  const { app, mount } = router(deps.limits);

  mount(start, async (c, { params }) => {
    const { tenant, user } = c.get('principal');
    const name = scoped(tenant, params.model);
    if (!(await deps.registry.listVersions(name)).includes(params.version)) {
      throw notFound(`version ${params.version} of ${params.model}`);
    }
    const id = await deps.reproductions.start(tenant, name, params.version, user);
    await deps.audit.record(tenant, user, 'model.reproduce_requested', `${params.model}@${params.version}`, { id });
    return c.json(view(tenant, id, name, params.version, 'running', new Date(), null, null), 202);
  });

  mount(get, async (c, { params }) => {
    const { tenant } = c.get('principal');
    const described = await deps.reproductions.describe(tenant, params.id);
    const model = String(described.memo.model);
    const version = Number(described.memo.version);
    const kept = await deps.store
      .getJson<ReproduceReport | { error: string }>(reproductionKey(params.id))
      .catch((error: unknown) => {
        if (error instanceof ObjectNotFound) return undefined;
        throw error;
      });
    const running = described.status === 'RUNNING';
    if (kept && 'reproduced' in kept) {
      const report = { ...kept, model: unscoped(tenant, kept.model) ?? kept.model };
      return c.json(view(tenant, params.id, model, version, 'succeeded', described.created, report, null));
    }
    const error = kept && 'error' in kept ? kept.error : running ? null : `the reproduction ended ${described.status}`;
    if (running && !kept) {
      const shown = view(tenant, params.id, model, version, 'running', described.created, null, null);
      return c.json({ ...shown, ...(described.progress ? { progress: described.progress } : {}) });
    }
    return c.json(view(tenant, params.id, model, version, 'failed', described.created, null, error));
  });

  return app;
}

function view(
  tenant: string,
  id: string,
  model: string,
  version: number,
  status: 'running' | 'succeeded' | 'failed',
  created: Date,
  report: ReproduceReport | null,
  error: string | null,
) {
  return {
    id,
    object: 'reproduction' as const,
    model: unscoped(tenant, model) ?? model,
    version,
    status,
    created_at: Math.floor(created.getTime() / 1000),
    report,
    error,
  };
}
