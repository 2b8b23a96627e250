// `base_model` and `training.text` on job creation, over real HTTP with a real worker: a job fine-tunes the tenant's
// production version and shows which version it started from; a reference the tenant's registry does not hold is a
// 404 naming the field before any job starts, and malformed ones are 422s naming the field.
import { describe, expect, it } from 'vitest';
import { scoped } from '../../api/tenancy.ts';
import { irisJsonl } from '../helpers/iris.ts';
import { call, freshTenant, keyFor, upload } from './api-harness.ts';
import { irisJobBody, untilStatus, useIrisStack } from './iris-job.ts';
import { manualLineage, registry } from './job-harness.ts';

const stack = useIrisStack('api-base-model');

const create = (body: unknown, key = stack.keys.submitter) =>
  call(stack.api, 'POST', '/v1/fine-tuning/jobs', { key, json: body });

/** The error paths of a refused create request. */
const refused = async (body: unknown, status: number, key?: string) => {
  const reply = await create(body, key);
  expect(reply.status, reply.text).toBe(status);
  expect(reply.headers.get('content-type')).toBe('application/problem+json');
  return reply.body.errors as { path: string; message: string }[];
};

describe('jobs from a base model', () => {
  it('fine-tunes the production version and shows it; the evaluation compares against it', async () => {
    const first = await create(irisJobBody(stack, 'iris'));
    expect(first.status).toBe(201);
    await untilStatus(stack, first.body.id, ['awaiting_approval']);
    const approve = { key: stack.keys.approver, json: { reason: 'first version' } };
    await call(stack.api, 'POST', `/v1/fine-tuning/jobs/${first.body.id}/approve`, approve);
    await untilStatus(stack, first.body.id, ['deployed']);
    const v1 = await registry().getVersion(scoped(stack.tenant, 'iris'), 1);

    const tuned = await create({
      ...irisJobBody(stack, 'iris'),
      base_model: { model: 'iris', alias: 'production' },
      training: { ...irisJobBody(stack, 'iris').training, method: 'head' },
    });
    expect(tuned.status).toBe(201);
    const job = (await untilStatus(stack, tuned.body.id, ['awaiting_approval'])).body;
    expect(job.base_model).toEqual({ model: 'iris', version: 1, sha256: v1.record.artifacts['model.onnx'] });
    expect(job.evaluation.production.version).toBe(1);

    await call(stack.api, 'POST', `/v1/fine-tuning/jobs/${tuned.body.id}/approve`, approve);
    expect((await untilStatus(stack, tuned.body.id, ['deployed'])).body.deployed.version).toBe(2);
    const v2 = await call(stack.api, 'GET', '/v1/models/iris/versions/2', { key: stack.keys.viewer });
    expect(v2.body.version.base_model).toEqual({ name: 'iris', version: 1, sha256: job.base_model.sha256 });
    expect(v2.body.version.method).toBe('head');
  });

  it('404 naming the field for a model, version or production the tenant registry does not hold', async () => {
    const body = (base_model: unknown) => ({ ...irisJobBody(stack, 'iris-next'), base_model });
    expect(await refused(body({ model: 'nope', alias: 'production' }), 404)).toEqual([
      { path: 'body.base_model.model', message: 'no model nope' },
    ]);
    expect(await refused(body({ model: 'iris', version: 9 }), 404)).toEqual([
      { path: 'body.base_model.version', message: 'model iris has no version 9' },
    ]);
    // Registered but never promoted: there is no production to fine-tune.
    await registry().registerVersion(
      scoped(stack.tenant, 'draft'),
      { model: new Uint8Array([1]), metrics: {}, card: { markdown: '#', json: {} } },
      { job_id: 'manual', ...manualLineage },
    );
    expect(await refused(body({ model: 'draft', alias: 'production' }), 404)).toEqual([
      { path: 'body.base_model.alias', message: 'model draft has no production version' },
    ]);
    // Another tenant's model of the same name is not found: the reference is always to the caller's registry.
    const other = await keyFor(stack.api, freshTenant('other'), 'oz', ['submitter']);
    const file = (await upload(stack.api, other, irisJsonl())).body.id;
    const otherBody = { ...body({ model: 'iris', alias: 'production' }), training_file: file, validation_file: file };
    expect(await refused(otherBody, 404, other)).toEqual([{ path: 'body.base_model.model', message: 'no model iris' }]);
  });

  it('422 naming the field for a malformed base model or text architecture', async () => {
    const body = (base_model: unknown, training: object = {}) => ({
      ...irisJobBody(stack, 'iris-next'),
      base_model,
      training: { ...irisJobBody(stack, 'iris-next').training, ...training },
    });
    const paths = async (b: unknown) => (await refused(b, 422)).map((e) => e.path);
    expect(await paths(body({ model: 'iris', version: 0 }))).toEqual(['body.base_model.version']);
    expect(await paths(body({ model: 'iris', version: '1' }))).toEqual(['body.base_model.version']);
    expect(await paths(body({ model: 'iris', alias: 'staging' }))).toEqual(['body.base_model.alias']);
    expect(await paths(body({ model: '../iris', version: 1 }))).toEqual(['body.base_model.model']);
    expect(await paths(body({ model: 'iris', version: 1, alias: 'production' }))).toEqual(['body.base_model']);
    expect(await paths(body({ model: 'iris' }))).toEqual(['body.base_model']);
    expect(await paths(body({ model: 'iris', version: 1 }, { text: { kind: 'fasttext' } }))).toEqual([
      'body.training.text',
    ]);
    expect(await paths(body(undefined, { text: { kind: 'fasttext', charNgrams: [3, 1] } }))).toEqual([
      'body.training.text.charNgrams',
    ]);
    expect(await paths(body(undefined, { text: { kind: 'encoder', dModel: 30, heads: 4 } }))).toEqual([
      'body.training.text.heads',
    ]);
    expect(await paths(body(undefined, { text: { kind: 'rnn' } }))).toEqual(['body.training.text.kind']);
    // A text teacher distills into a fastText student, a tabular one into an MLP.
    const distilled = (training: object, student: object) => ({
      ...body(undefined, training),
      distillation: { student },
    });
    expect(await paths(distilled({ text: { kind: 'fasttext' } }, { hidden: [4] }))).toEqual([
      'body.distillation.student',
    ]);
    expect(await paths(distilled({}, { fasttext: { dim: 8 } }))).toEqual(['body.distillation.student']);
    expect(await paths(distilled({ text: { kind: 'fasttext' } }, { fasttext: { buckets: 1 << 22, dim: 64 } }))).toEqual(
      ['body.distillation.student.fasttext.buckets'],
    );
    expect(await paths(body(undefined, { text: { kind: 'fasttext', buckets: 1 << 22, dim: 64 } }))).toEqual([
      'body.training.text.buckets',
    ]);
  });

  // The ratchet loop on a timer: a schedule whose runs fine-tune whatever is in production on the newest dataset.
  // Runs after the first test, which left iris v2 in production.
  it('a schedule fine-tunes the production version on the newest dataset, with its OOD file; an unknown base model is a 404', async () => {
    const published = await call(stack.api, 'POST', '/v1/datasets/iris/versions', {
      key: stack.keys.submitter,
      json: { version: '2026-11-28', training_file: stack.files.train, validation_file: stack.files.eval },
    });
    expect(published.status, published.text).toBe(201);
    // Flowers far larger than any iris: the OOD file each run's evaluation measures against.
    const far = Array.from({ length: 20 }, (_, i) => JSON.stringify({ features: [40 + i, 30 + i, 50 + i, 20 + i] }));
    const oodFile = (await upload(stack.api, stack.keys.submitter, far.join('\n') + '\n')).body.id;
    const job: Record<string, unknown> = { ...irisJobBody(stack, 'iris'), ood_file: oodFile };
    delete job.training_file;
    delete job.validation_file;
    const schedule = {
      ...job,
      name: 'ratchet',
      every: '24h',
      paused: true,
      dataset: 'iris',
      licence: 'CC-BY-4.0',
      source: 'test',
      base_model: { model: 'iris', alias: 'production' },
      training: { ...irisJobBody(stack, 'iris').training, method: 'head' },
    };
    const post = (body: unknown) => call(stack.api, 'POST', '/v1/schedules', { key: stack.keys.submitter, json: body });
    const missing = await post({ ...schedule, base_model: { model: 'nope', alias: 'production' } });
    expect(missing.status).toBe(404);
    expect(missing.body.errors).toEqual([{ path: 'body.base_model.model', message: 'no model nope' }]);
    expect((await post(schedule)).status).toBe(201);

    expect((await call(stack.api, 'POST', '/v1/schedules/ratchet/trigger', { key: stack.keys.submitter })).status).toBe(
      202,
    );
    const jobId = `${scoped(stack.tenant, 'ratchet')}-2026-11-28`;
    const deadline = Date.now() + 60_000;
    while ((await call(stack.api, 'GET', `/v1/fine-tuning/jobs/${jobId}`, { key: stack.keys.viewer })).status !== 200) {
      if (Date.now() > deadline) throw new Error(`the schedule started no job ${jobId}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const run = (await untilStatus(stack, jobId, ['awaiting_approval'])).body;
    const production = await registry().getVersion(scoped(stack.tenant, 'iris'), 2);
    expect(run.base_model).toEqual({ model: 'iris', version: 2, sha256: production.record.artifacts['model.onnx'] });
    expect(run.evaluation.production.version).toBe(2);
    expect(run.evaluation.candidate.metrics.ood_auroc).toBeGreaterThanOrEqual(0);
    expect(run.evaluation.candidate.metrics.ood_auroc).toBeLessThanOrEqual(1);
    await call(stack.api, 'DELETE', '/v1/schedules/ratchet', { key: stack.keys.submitter });
  });
});
