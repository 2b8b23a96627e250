// Schedules: a Temporal Schedule per tenant and name that runs a fine-tuning job on the newest version of a dataset.
import { z } from 'zod';
import { resource } from '../http/endpoint.ts';
import { router, type BodyLimits } from '../http/router.ts';
import { scoped } from '../tenancy.ts';
import type { ScheduleService } from '../temporal/schedules.ts';
import type { AuditTrail } from './audit-trail.ts';
import { datasetPrefix } from './datasets.ts';
import { Registry } from '../../core/registry/registry.ts';
import type { ObjectStore } from '../../core/object-store.ts';
import { tenantBaseModel } from './base-model.ts';
import { uploadedFile } from './files.ts';
import { hyperparametersOf } from './job-create.ts';
import type { JobMemo } from './job-object.ts';
import { baseModelNotFound, jobSpecFields } from './job-schemas.ts';
import { baseBringsItsArchitecture, studentFitsTeacher } from '../../core/jobs/spec.ts';
import { nameSchema } from '../../core/registry/schema.ts';

const scheduleSchema = z
  .object({
    name: z.string(),
    paused: z.boolean(),
    when: z.union([z.object({ cron: z.string() }), z.object({ every: z.string() })]).nullable(),
    next_action_times: z.array(z.string()),
    recent_actions: z.array(z.object({ scheduled_at: z.string(), job_id: z.string() })),
  })
  .meta({ id: 'Schedule' });

const nameParam = z.object({ name: nameSchema });
const noteBody = z.object({ note: z.string().max(500).default('') }).strict();

const api = resource('schedules');
const onSchedule = api.one(nameParam, 'No such schedule');

const create = api.post('/v1/schedules', {
  summary: 'Create a schedule (cron or every) that fine-tunes on the newest version of a dataset',
  role: 'submitter',
  body: z
    .object({
      name: nameSchema,
      cron: z.string().min(1).max(100).optional(),
      every: z
        .string()
        .regex(/^[1-9]\d{0,5}(m|h|d)$/, "expected a number and a unit m, h or d, e.g. '24h'")
        .optional(),
      paused: z.boolean().default(false),
      model: nameSchema,
      dataset: nameSchema,
      licence: z.string().trim().min(1).max(100),
      source: z.string().trim().min(1).max(500),
      ...jobSpecFields,
    })
    .strict()
    .refine((b) => (b.cron === undefined) !== (b.every === undefined), {
      error: 'give exactly one of cron and every',
      path: ['cron'],
    })
    .refine(...baseBringsItsArchitecture)
    .refine(...studentFitsTeacher),
  responses: {
    201: { description: 'Created', schema: z.object({ name: z.string() }) },
    404: baseModelNotFound,
    409: { description: 'A schedule by that name exists' },
  },
});

const list = api.get('/v1/schedules', {
  summary: "The tenant's schedules",
  role: 'viewer',
  responses: { 200: { description: 'Schedules', schema: z.object({ data: z.array(scheduleSchema) }) } },
});

const toggle = (verb: 'pause' | 'unpause') =>
  onSchedule.post(`/v1/schedules/{name}/${verb}`, {
    summary: `${verb === 'pause' ? 'Pause' : 'Unpause'} a schedule, with an optional note`,
    role: 'submitter',
    body: noteBody,
    responses: {
      202: { description: 'Done', schema: z.object({ name: z.string() }) },
    },
  });
const pause = toggle('pause');
const unpause = toggle('unpause');

const trigger = onSchedule.post('/v1/schedules/{name}/trigger', {
  summary: 'Run a schedule now',
  role: 'submitter',
  responses: {
    202: { description: 'Started', schema: z.object({ name: z.string() }) },
  },
});

const remove = onSchedule.delete('/v1/schedules/{name}', {
  summary: 'Delete a schedule (jobs it started keep running)',
  role: 'submitter',
  responses: {
    200: { description: 'Deleted', schema: z.object({ name: z.string() }) },
  },
});

export const scheduleEndpoints = [create, list, pause, unpause, trigger, remove];

export function scheduleRoutes(deps: {
  schedules: ScheduleService;
  audit: AuditTrail;
  store: ObjectStore;
  limits: BodyLimits;
}) {
  const { schedules, audit } = deps;
  const registry = new Registry(deps.store);
  const { app, mount } = router(deps.limits);

  mount(create, async (c, { body }) => {
    const { tenant, user, roles } = c.get('principal');
    const when = body.cron !== undefined ? { cron: body.cron } : { every: body.every! };
    // Checked now so a typo fails here, not at every firing; an alias is resolved again by each run.
    const base = body.base_model ? await tenantBaseModel(registry, tenant, body.base_model) : undefined;
    const ood =
      body.ood_file === undefined ? undefined : await uploadedFile(deps.store, tenant, body.ood_file, 'ood_file');
    // Each run is shown as a fine-tuning job whose files are the dataset's newest version when it ran.
    const dataset = `dataset:${body.dataset}`;
    const jobMemo: JobMemo = {
      model: body.base_model
        ? `${body.base_model.model}${body.base_model.version ? `:${body.base_model.version}` : ''}`
        : (body.training.text?.kind ?? 'mlp'),
      training_file: dataset,
      validation_file: dataset,
      training_split_file: null,
      suffix: body.model,
      seed: body.training.config.seed,
      hyperparameters: hyperparametersOf(body.training),
      // The run's id names its schedule (`<tenant>--<name>-<dataset version>`).
      metadata: null,
      submitter: user,
    };
    await schedules.create(
      tenant,
      body.name,
      when,
      {
        model: scoped(tenant, body.model),
        submitter: { userId: user, roles },
        datasetPrefix: datasetPrefix(tenant, body.dataset),
        dataset: {
          manifest: { name: body.dataset, licence: body.licence, source: body.source, owner: user },
          validationPolicy: body.validation_policy,
          oodKey: ood?.key,
        },
        training: base ? { ...body.training, base } : body.training,
        distillation: body.distillation,
        policy: body.policy,
        intendedUse: body.intended_use,
        limitations: body.limitations,
        ledgerScope: tenant,
        jobMemo,
      },
      body.paused,
    );
    await audit.record(tenant, user, 'schedule.created', body.name, { when, model: body.model, dataset: body.dataset });
    return c.json({ name: body.name }, 201);
  });

  mount(list, async (c) => c.json({ data: await schedules.list(c.get('principal').tenant) }));

  mount(pause, async (c, { params, body }) => {
    const { tenant, user } = c.get('principal');
    await schedules.pause(tenant, params.name, body.note || `paused by ${user}`);
    await audit.record(tenant, user, 'schedule.paused', params.name, { note: body.note });
    return c.json({ name: params.name }, 202);
  });

  mount(unpause, async (c, { params, body }) => {
    const { tenant, user } = c.get('principal');
    await schedules.unpause(tenant, params.name, body.note || `unpaused by ${user}`);
    await audit.record(tenant, user, 'schedule.unpaused', params.name, { note: body.note });
    return c.json({ name: params.name }, 202);
  });

  mount(trigger, async (c, { params }) => {
    const { tenant, user } = c.get('principal');
    await schedules.trigger(tenant, params.name);
    await audit.record(tenant, user, 'schedule.triggered', params.name, {});
    return c.json({ name: params.name }, 202);
  });

  mount(remove, async (c, { params }) => {
    const { tenant, user } = c.get('principal');
    await schedules.delete(tenant, params.name);
    await audit.record(tenant, user, 'schedule.deleted', params.name, {});
    return c.json({ name: params.name });
  });

  return app;
}
