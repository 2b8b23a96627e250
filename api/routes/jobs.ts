// Fine-tuning jobs: each is a `fineTuneJob` workflow whose id is `<tenant>--job-...`. Approve and reject go
// through the workflow's updates, which enforce separation of duties; the edge checks it first for a clear 403.
import { z } from 'zod';
import type { Ledger } from '../../core/ledger/ledger.ts';
import type { ResolvedBaseModel } from '../../core/base-model.ts';
import { canonicalJson, sha256Hex } from '../../core/ledger/canonical.ts';
import { ObjectNotFound, parseObjectKey, type ObjectStore } from '../../core/object-store.ts';
import { Registry } from '../../core/registry/registry.ts';
import type { JobState } from '../../core/jobs/states.ts';
import { endpoint, type ApiContext } from '../http/endpoint.ts';
import { router, type BodyLimits } from '../http/router.ts';
import { HttpProblem, conflict, notFound } from '../problem.ts';
import { scoped, unscoped } from '../tenancy.ts';
import type { JobService, JobView } from '../temporal/jobs.ts';
import { ledgerEntrySchema } from './audit.ts';
import { tenantBaseModel } from './base-model.ts';
import { uploadedFile } from './files.ts';
import { baseModelNotFound, createJobBody, jobSchema, jobSummarySchema, listJobsFilter } from './job-schemas.ts';
import { jobEvents } from './job-events.ts';
import { page, pageQuery, reasonBody } from './schemas.ts';
import type { DistillResult } from '../../core/jobs/stages.ts';

const jobParam = z.object({ jobId: z.string().max(200) });

const create = endpoint({
  method: 'post',
  path: '/v1/fine-tuning/jobs',
  summary: 'Start a fine-tuning job (Idempotency-Key honoured)',
  tag: 'jobs',
  role: 'submitter',
  headers: {
    'Idempotency-Key': 'Optional. The same key with the same body returns the same job; with another body, 409.',
  },
  body: createJobBody,
  responses: {
    201: { description: 'Started', schema: z.object({ id: z.string() }) },
    200: { description: 'Started before under this Idempotency-Key', schema: z.object({ id: z.string() }) },
    404: baseModelNotFound,
    409: { description: 'The Idempotency-Key was used for a different request' },
  },
});

const list = endpoint({
  method: 'get',
  path: '/v1/fine-tuning/jobs',
  summary: "The tenant's jobs, newest first, filtered by status, model or submitter",
  tag: 'jobs',
  role: 'viewer',
  query: pageQuery.extend(listJobsFilter.shape),
  responses: { 200: { description: 'A page of jobs', schema: page(jobSummarySchema) } },
});

const get = endpoint({
  method: 'get',
  path: '/v1/fine-tuning/jobs/{jobId}',
  summary: 'A job: status, stage, progress, metrics, gate, decision, error with its report',
  tag: 'jobs',
  role: 'viewer',
  params: jobParam,
  responses: {
    200: { description: 'The job', schema: jobSchema },
    404: { description: 'No such job' },
    503: { description: 'No worker answered' },
  },
});

const events = endpoint({
  method: 'get',
  path: '/v1/fine-tuning/jobs/{jobId}/events',
  summary: "The job's ledger entries in order",
  tag: 'jobs',
  role: 'viewer',
  params: jobParam,
  responses: {
    200: { description: 'Events', schema: z.object({ data: z.array(ledgerEntrySchema) }) },
    404: { description: 'No such job' },
  },
});

const stream = endpoint({
  method: 'get',
  path: '/v1/fine-tuning/jobs/{jobId}/events/stream',
  summary: "The job's ledger entries as server-sent events, in order, until the job ends (Last-Event-ID resumes)",
  tag: 'jobs',
  role: 'viewer',
  params: jobParam,
  headers: { 'Last-Event-ID': 'Optional. Send only entries after this seq.' },
  responses: {
    200: { description: 'event: entry (data: a ledger entry) ... then event: end', contentType: 'text/event-stream' },
    404: { description: 'No such job' },
  },
});

const checkpoints = endpoint({
  method: 'get',
  path: '/v1/fine-tuning/jobs/{jobId}/checkpoints',
  summary: 'The checkpoints training stored, by step',
  tag: 'jobs',
  role: 'viewer',
  params: jobParam,
  responses: {
    200: {
      description: 'Checkpoints',
      schema: z.object({
        data: z.array(z.object({ step: z.number().int(), complete: z.boolean(), files: z.array(z.string()) })),
      }),
    },
    404: { description: 'No such job' },
  },
});

const cancel = endpoint({
  method: 'post',
  path: '/v1/fine-tuning/jobs/{jobId}/cancel',
  summary: 'Cancel a running job (training stops within a step)',
  tag: 'jobs',
  role: 'submitter',
  params: jobParam,
  responses: {
    202: { description: 'Cancellation requested', schema: z.object({ id: z.string() }) },
    404: { description: 'No such job' },
    409: { description: 'The job has ended' },
  },
});

const decision = (action: 'approve' | 'reject') =>
  endpoint({
    method: 'post',
    path: `/v1/fine-tuning/jobs/{jobId}/${action}`,
    summary: `${action === 'approve' ? 'Approve' : 'Reject'} a job awaiting sign-off (never your own), with a reason`,
    tag: 'jobs',
    role: 'approver',
    params: jobParam,
    body: reasonBody,
    responses: {
      200: { description: 'Decided; the job as it stands', schema: jobSchema },
      403: { description: 'The approver submitted this job' },
      404: { description: 'No such job' },
      409: { description: 'The job is not awaiting approval, or was decided' },
    },
  });
const approve = decision('approve');
const reject = decision('reject');

export const jobEndpoints = [create, list, get, events, stream, checkpoints, cancel, approve, reject];

export function jobRoutes(deps: { jobs: JobService; store: ObjectStore; ledger: Ledger; limits: BodyLimits }) {
  const { jobs, store, ledger } = deps;
  const { app, mount } = router(deps.limits);
  const registry = new Registry(store);

  /** The job id if it is this tenant's; another tenant's job is not found, as is one that does not exist. */
  const ownJob = async (c: ApiContext, jobId: string) => {
    if (unscoped(c.get('principal').tenant, jobId) === undefined) throw notFound(`job ${jobId}`);
    return jobs.describe(jobId);
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
    const train = await uploadedFile(store, tenant, body.training_file, 'training_file');
    const evaluation = await uploadedFile(store, tenant, body.validation_file, 'validation_file');
    const ood = body.ood_file === undefined ? undefined : await uploadedFile(store, tenant, body.ood_file, 'ood_file');
    const base = body.base_model ? await tenantBaseModel(registry, tenant, body.base_model) : undefined;
    const { id, created } = await jobs.start(
      tenant,
      {
        model: scoped(tenant, body.model),
        submitter: { userId: user, roles },
        dataset: {
          trainKey: train.key,
          evalKey: evaluation.key,
          oodKey: ood?.key,
          manifest: { name: train.filename, source: train.source, licence: train.licence, owner: user },
          validationPolicy: body.validation_policy,
        },
        training: base ? { ...body.training, base } : body.training,
        distillation: body.distillation,
        policy: body.policy,
        intendedUse: body.intended_use,
        limitations: body.limitations,
        ledgerScope: tenant,
      },
      { sha256: sha256Hex(canonicalJson(body)), idempotencyKey },
    );
    return c.json({ id }, created ? 201 : 200, { Location: `/v1/fine-tuning/jobs/${id}` });
  });

  mount(list, async (c, { query }) => {
    const { limit, cursor, ...filter } = query;
    return c.json(await jobs.list(c.get('principal').tenant, filter, { limit, cursor }));
  });

  mount(get, async (c, { params }) => {
    if (unscoped(c.get('principal').tenant, params.jobId) === undefined) throw notFound(`job ${params.jobId}`);
    return c.json(await present(params.jobId, c.get('principal').tenant, await jobs.view(params.jobId), store));
  });

  mount(events, async (c, { params }) => {
    await ownJob(c, params.jobId);
    return c.json({ data: await ledger.list(c.get('principal').tenant, { subject: params.jobId }) });
  });

  mount(stream, async (c, { params }) => {
    await ownJob(c, params.jobId);
    const after = Number(c.req.header('last-event-id'));
    return jobEvents(c, {
      ledger,
      jobs,
      tenant: c.get('principal').tenant,
      jobId: params.jobId,
      after: Number.isSafeInteger(after) ? after : 0,
    });
  });

  mount(checkpoints, async (c, { params }) => {
    await ownJob(c, params.jobId);
    const prefix = `jobs/${params.jobId}/checkpoints/`;
    const byStep = new Map<number, string[]>();
    for (const key of await store.list(prefix)) {
      const match = /^step-(\d{8})\/(.+)$/.exec(key.slice(prefix.length));
      if (match) byStep.set(Number(match[1]), [...(byStep.get(Number(match[1])) ?? []), match[2]]);
    }
    // state.json is written last: a checkpoint that has it is complete (activities/train.ts).
    const data = [...byStep]
      .sort(([a], [b]) => a - b)
      .map(([step, files]) => ({ step, complete: files.includes('state.json'), files }));
    return c.json({ data });
  });

  mount(cancel, async (c, { params }) => {
    await ownJob(c, params.jobId);
    await jobs.cancel(params.jobId);
    return c.json({ id: params.jobId }, 202);
  });

  for (const [route, action] of [
    [approve, 'approve'],
    [reject, 'reject'],
  ] as const) {
    mount(route, async (c, { params, body }) => {
      const { tenant, user, roles } = c.get('principal');
      const description = await ownJob(c, params.jobId);
      if (description.status.name !== 'RUNNING') throw conflict(`job ${params.jobId} has ended`);
      const { status } = await jobs.view(params.jobId);
      if (status?.submitter === user) {
        throw new HttpProblem(403, {
          title: 'Forbidden',
          detail: `${user} submitted this job and cannot ${action} it: separation of duties`,
        });
      }
      if (status?.state !== 'awaiting_approval')
        throw conflict(`job ${params.jobId} is ${status?.state ?? 'starting'}, not awaiting approval`);
      await jobs.decide(params.jobId, action, { userId: user, roles }, body.reason);
      return c.json(await present(params.jobId, tenant, await jobs.view(params.jobId, { fresh: true }), store));
    });
  }

  return app;
}

const FINAL: JobState[] = ['deployed', 'dataset_rejected', 'gate_failed', 'rejected', 'expired', 'cancelled', 'failed'];

/** The job as the API shows it, from the workflow's own status and Temporal's description. */
async function present(id: string, tenant: string, { description, status, progress }: JobView, store: ObjectStore) {
  const state: JobState = status?.state ?? 'validating';
  const stage = FINAL.includes(state)
    ? (status?.transitions.filter((t) => !FINAL.includes(t.state)).at(-1)?.state ?? state)
    : state;
  return {
    id,
    model: unscoped(tenant, status?.model ?? '') ?? '',
    status: state,
    stage,
    submitter: status?.submitter ?? '',
    created_at: description.startTime.toISOString(),
    closed_at: description.closeTime?.toISOString() ?? null,
    progress:
      (state === 'training' || state === 'distilling') && progress
        ? { step: progress.step, total_steps: progress.totalSteps, loss: progress.loss, eval_loss: progress.evalLoss }
        : null,
    transitions: status?.transitions ?? [],
    metrics: status?.training?.metrics ?? null,
    base_model: baseModelOf(tenant, status?.training?.baseModel),
    evaluation: status?.evaluation ?? null,
    distillation: status?.distillation ? distillationOf(status.distillation) : null,
    gate: status?.gate?.gate ?? null,
    approval_deadline: status?.approvalDeadline ?? null,
    decision: status?.decision ?? null,
    deployed: status?.deployed ?? null,
    error: await errorOf(state, status, store),
  };
}

/** The base version as the tenant names it: its own model name, without the tenant prefix. */
function baseModelOf(tenant: string, base: ResolvedBaseModel | undefined) {
  return base ? { model: unscoped(tenant, base.name) ?? '', version: base.version, sha256: base.sha256 } : null;
}

const distillationOf = ({ steps, modelSha256, teacherSha256, student, teacher }: DistillResult) => ({
  steps,
  model_sha256: modelSha256,
  teacher_sha256: teacherSha256,
  student,
  teacher,
});

/** What went wrong, with the report that says why: the validation report for a rejected dataset. */
async function errorOf(state: JobState, status: JobView['status'], store: ObjectStore) {
  if (state === 'dataset_rejected' && status?.validation) {
    const report = await store.getJson(parseObjectKey(status.validation.reportKey)).catch((error: unknown) => {
      if (error instanceof ObjectNotFound) return undefined;
      throw error;
    });
    return { message: 'the dataset failed validation', report };
  }
  if (state === 'gate_failed' && status?.gate) {
    return { message: 'the candidate failed the release policy', report: status.gate.gate };
  }
  if (status?.error) return { message: status.error };
  return null;
}
