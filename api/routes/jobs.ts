// Fine-tuning jobs as OpenAI's API serves them (create, list, get, cancel, pause, resume, events, checkpoints),
// plus Ratchet's sign-off (approve, reject) and its live ledger stream. Each job is a `fineTuneJob` workflow whose
// id is `<tenant>--job-...`. Approve and reject go through the workflow's updates, which enforce separation of
// duties; the edge checks it first for a clear 403.
import { z } from 'zod';
import type { Ledger } from '../../core/ledger/ledger.ts';
import { canonicalJson, sha256Hex } from '../../core/ledger/canonical.ts';
import type { ObjectStore } from '../../core/object-store.ts';
import { Registry } from '../../core/registry/registry.ts';
import { resource, type ApiContext } from '../http/endpoint.ts';
import { router, type BodyLimits } from '../http/router.ts';
import { HttpProblem, conflict, notFound } from '../problem.ts';
import { scoped, unscoped } from '../tenancy.ts';
import type { JobService, JobView } from '../temporal/jobs.ts';
import type { AuditTrail } from './audit-trail.ts';
import { uploadedFile } from './files.ts';
import { holdOut } from './holdout.ts';
import { resolveTraining } from './job-create.ts';
import { jobEvents as ledgerStream } from './job-events.ts';
import { jobCheckpoints, jobEvents, jobObject, memoOf, trainReport, type JobMemo } from './job-object.ts';
import { baseModelNotFound, createJobBody, jobSchema, listJobsFilter } from './job-schemas.ts';
import { listOf, listPage, listQuery, reasonBody } from './schemas.ts';

const jobParam = z.object({ jobId: z.string().max(200) });
const BASE = '/v1/fine_tuning/jobs';

const api = resource('fine_tuning');
const onJob = api.one(jobParam, 'No such job');

const create = api.post(BASE, {
  summary: 'Start a fine-tuning job: model and training_file suffice (Idempotency-Key honoured)',
  role: 'submitter',
  headers: {
    'Idempotency-Key': 'Optional. The same key with the same body returns the same job; with another body, 409.',
  },
  body: createJobBody,
  responses: {
    201: { description: 'Started', schema: jobSchema },
    200: { description: 'Started before under this Idempotency-Key', schema: jobSchema },
    404: baseModelNotFound,
    409: { description: 'The Idempotency-Key was used for a different request' },
  },
});

const list = api.get(BASE, {
  summary: "The tenant's jobs, newest first; metadata[key]=value filters, as do Ratchet's status, model, submitter",
  role: 'viewer',
  query: listQuery(20).extend(listJobsFilter.shape),
  responses: { 200: { description: 'A page of jobs', schema: listOf(jobSchema) } },
});

const get = onJob.get(`${BASE}/{jobId}`, {
  summary: 'A job: OpenAI status, and in `ratchet` its precise state, progress, metrics, gate and decision',
  role: 'viewer',
  responses: {
    200: { description: 'The job', schema: jobSchema },
    503: { description: 'No worker answered' },
  },
});

const eventSchema = z.object({
  id: z.string(),
  object: z.literal('fine_tuning.job.event'),
  created_at: z.number().int(),
  level: z.enum(['info', 'warn', 'error']),
  message: z.string(),
  type: z.enum(['message', 'metrics']),
  data: z.record(z.string(), z.unknown()),
});

const events = onJob.get(`${BASE}/{jobId}/events`, {
  summary: "The job's events, newest first: its ledger entries, and a metrics event per training step",
  role: 'viewer',
  query: listQuery(20, 1000),
  responses: { 200: { description: 'Events', schema: listOf(eventSchema) } },
});

const stream = onJob.get(`${BASE}/{jobId}/events/stream`, {
  summary: "The job's events as server-sent events, live and in order, until the job ends (Last-Event-ID resumes)",
  role: 'viewer',
  headers: { 'Last-Event-ID': 'Optional. Send only the events of ledger entries after this seq.' },
  responses: {
    200: {
      description:
        'data: a fine_tuning.job.event (id: its ledger seq on each message event) ... then event: end (data: {last_seq})',
      contentType: 'text/event-stream',
    },
  },
});

const checkpoints = onJob.get(`${BASE}/{jobId}/checkpoints`, {
  summary: 'The complete checkpoints training stored, newest first',
  role: 'viewer',
  query: listQuery(10),
  responses: {
    200: {
      description: 'Checkpoints',
      schema: listOf(
        z.object({
          id: z.string(),
          object: z.literal('fine_tuning.job.checkpoint'),
          created_at: z.number().int(),
          fine_tuned_model_checkpoint: z.string(),
          fine_tuning_job_id: z.string(),
          step_number: z.number().int(),
          metrics: z.object({ step: z.number(), train_loss: z.number().nullable(), valid_loss: z.number().nullable() }),
        }),
      ),
    },
  },
});

const cancel = onJob.post(`${BASE}/{jobId}/cancel`, {
  summary: 'Cancel a running job (training stops within a step)',
  role: 'submitter',
  responses: {
    200: { description: 'Cancellation requested; the job as it stands', schema: jobSchema },
    409: { description: 'The job has ended' },
  },
});

/** Pause and resume: a `fineTuneJob` has no paused state, so both are refused with what to do instead. */
const unsupported = (action: 'pause' | 'resume') =>
  onJob.post(`${BASE}/{jobId}/${action}`, {
    summary: `Not supported: a Ratchet job cannot ${action} (cancel it and start another)`,
    role: 'submitter',
    responses: { 400: { description: 'Always, for an existing job' } },
  });
const pause = unsupported('pause');
const resume = unsupported('resume');

const decision = (action: 'approve' | 'reject') =>
  onJob.post(`${BASE}/{jobId}/${action}`, {
    summary: `${action === 'approve' ? 'Approve' : 'Reject'} a job awaiting sign-off (never your own), with a reason`,
    role: 'approver',
    body: reasonBody,
    responses: {
      200: { description: 'Decided; the job as it stands', schema: jobSchema },
      403: { description: 'The approver submitted this job' },
      409: { description: 'The job is not awaiting approval, or was decided' },
    },
  });
const approve = decision('approve');
const reject = decision('reject');

export const jobEndpoints = [create, list, get, events, stream, checkpoints, cancel, pause, resume, approve, reject];

export function jobRoutes(deps: {
  jobs: JobService;
  store: ObjectStore;
  ledger: Ledger;
  audit: AuditTrail;
  limits: BodyLimits;
}) {
  const { jobs, store, ledger } = deps;
  const { app, mount } = router(deps.limits);
  const registry = new Registry(store);

  /** The job's description if it is this tenant's; another tenant's job is not found, as is one that does not exist. */
  const ownJob = async (c: ApiContext, jobId: string) => {
    if (unscoped(c.get('principal').tenant, jobId) === undefined) throw notFound(`job ${jobId}`);
    return jobs.describe(jobId);
  };
  const shown = async (c: ApiContext, jobId: string, fresh = false) =>
    jobObject(jobId, c.get('principal').tenant, await jobs.view(jobId, { fresh }), store);
  // GET's body for each read of a job (JobService.view), made once: however many clients poll a job, each read
  // costs one job object (with a rejected dataset's report read from S3) and one JSON text.
  const bodies = new WeakMap<JobView, Promise<string>>();
  const shownBody = (tenant: string, jobId: string, view: JobView) => {
    let body = bodies.get(view);
    if (!body) {
      body = jobObject(jobId, tenant, view, store).then((job) => JSON.stringify(job));
      bodies.set(view, body);
      body.catch(() => bodies.delete(view));
    }
    return body;
  };

  mount(create, async (c, { body }) => {
    const { tenant, user, roles } = c.get('principal');
    const idempotencyKey = c.req.header('idempotency-key');
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
      throw new HttpProblem(400, {
        title: 'Invalid request',
        detail: 'Idempotency-Key: expected 1-255 visible ASCII characters',
        errors: [{ path: 'header.Idempotency-Key', message: 'expected 1-255 visible ASCII characters' }],
      });
    }
    let train = await uploadedFile(store, tenant, body.training_file, 'training_file');
    const { training, hyperparameters, suffix } = await resolveTraining(registry, tenant, body, train.id);
    let validation;
    let split = null;
    if (body.validation_file) {
      validation = await uploadedFile(store, tenant, body.validation_file, 'validation_file');
    } else {
      const parts = await holdOut(store, deps.audit, user, train);
      split = parts.train.id;
      train = await uploadedFile(store, tenant, parts.train.id, 'training_file');
      validation = await uploadedFile(store, tenant, parts.validation.id, 'validation_file');
    }
    const ood = body.ood_file === undefined ? undefined : await uploadedFile(store, tenant, body.ood_file, 'ood_file');
    const memo: JobMemo = {
      model: body.model,
      training_file: body.training_file,
      validation_file: validation.id,
      training_split_file: split,
      suffix,
      seed: training.config.seed,
      hyperparameters,
      metadata: body.metadata ?? null,
      submitter: user,
    };
    const { id, created } = await jobs.start(
      tenant,
      {
        model: scoped(tenant, suffix),
        submitter: { userId: user, roles },
        dataset: {
          trainKey: train.key,
          evalKey: validation.key,
          oodKey: ood?.key,
          manifest: {
            name: train.filename,
            source: train.source ?? undefined,
            licence: train.licence ?? undefined,
            owner: user,
          },
          validationPolicy: body.validation_policy,
        },
        training,
        distillation: body.distillation,
        policy: body.policy,
        intendedUse: body.intended_use,
        limitations: body.limitations,
        ledgerScope: tenant,
      },
      { sha256: sha256Hex(canonicalJson(body)), idempotencyKey, memo: { job: memo } },
    );
    // No status query: no worker may have picked the job up yet, and its memo says all a new job can say.
    const view = { description: await jobs.describe(id), status: undefined, progress: undefined };
    return c.json(await jobObject(id, tenant, view, store), created ? 201 : 200, { Location: `${BASE}/${id}` });
  });

  mount(list, async (c, { query }) => {
    const { limit, after, ...filter } = query;
    const metadata = Object.entries(c.req.query()).flatMap(([key, value]) => {
      const name = /^metadata\[(.+)\]$/.exec(key)?.[1];
      return name === undefined ? [] : [[name, value] as const];
    });
    const matching = (await jobs.list(c.get('principal').tenant, filter)).filter((job) =>
      metadata.every(([name, value]) => memoOf(job.memo)?.metadata?.[name] === value),
    );
    const page = listPage(matching, (job) => job.id, { limit, after });
    return c.json({ ...page, data: await Promise.all(page.data.map((job) => shown(c, job.id))) });
  });

  mount(get, async (c, { params }) => {
    const { tenant } = c.get('principal');
    if (unscoped(tenant, params.jobId) === undefined) throw notFound(`job ${params.jobId}`);
    const body = await shownBody(tenant, params.jobId, await jobs.view(params.jobId));
    return c.body(body, 200, { 'Content-Type': 'application/json' });
  });

  mount(events, async (c, { params, query }) => {
    await ownJob(c, params.jobId);
    const entries = await ledger.list(c.get('principal').tenant, { subject: params.jobId });
    const all = jobEvents(entries, await trainReport(store, params.jobId));
    return c.json(listPage(all, (event) => event.id, query));
  });

  mount(stream, async (c, { params }) => {
    await ownJob(c, params.jobId);
    const after = Number(c.req.header('last-event-id'));
    return ledgerStream(c, {
      ledger,
      store,
      jobs,
      tenant: c.get('principal').tenant,
      jobId: params.jobId,
      after: Number.isSafeInteger(after) ? after : 0,
    });
  });

  mount(checkpoints, async (c, { params, query }) => {
    const description = await ownJob(c, params.jobId);
    const all = await jobCheckpoints(store, params.jobId, Math.floor(description.startTime.getTime() / 1000));
    return c.json(listPage(all, (checkpoint) => checkpoint.id, query));
  });

  mount(cancel, async (c, { params }) => {
    await ownJob(c, params.jobId);
    await jobs.cancel(params.jobId);
    return c.json(await shown(c, params.jobId, true));
  });

  for (const [route, action] of [
    [pause, 'pause'],
    [resume, 'resume'],
  ] as const) {
    mount(route, async (c, { params }) => {
      await ownJob(c, params.jobId);
      throw new HttpProblem(400, {
        title: 'Unsupported',
        detail: `a Ratchet job cannot ${action}: it trains to the end or is cancelled (POST ${BASE}/${params.jobId}/cancel), and a new job can fine-tune the deployed model`,
      });
    });
  }

  for (const [route, action] of [
    [approve, 'approve'],
    [reject, 'reject'],
  ] as const) {
    mount(route, async (c, { params, body }) => {
      const { user, roles } = c.get('principal');
      const description = await ownJob(c, params.jobId);
      if (description.status.name !== 'RUNNING') throw conflict(`job ${params.jobId} has ended`);
      // Not from a kept read: one made just before the job began to await approval would refuse a sign-off that
      // the workflow accepts.
      const { status } = await jobs.view(params.jobId, { fresh: true });
      if (status?.submitter === user) {
        throw new HttpProblem(403, {
          title: 'Forbidden',
          detail: `${user} submitted this job and cannot ${action} it: separation of duties`,
        });
      }
      if (status?.state !== 'awaiting_approval')
        throw conflict(`job ${params.jobId} is ${status?.state ?? 'starting'}, not awaiting approval`);
      await jobs.decide(params.jobId, action, { userId: user, roles }, body.reason);
      return c.json(await shown(c, params.jobId, true));
    });
  }

  return app;
}
