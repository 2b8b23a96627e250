// A registry model as a job's `model` (`name` for its production version, `name:version`) and `training.text` on job
// creation, over real HTTP with a real worker: a job fine-tunes the tenant's production version and shows which
// version it started from; a reference the tenant's registry does not hold is a 404 naming the field before any job
// starts, and malformed ones are 400s naming the field. Schedules keep their `base_model` field.
import { describe, expect, it } from 'vitest';
import { scoped } from '../../api/tenancy.ts';
import { irisJsonl } from '../helpers/iris.ts';
import { call, freshTenant, keyFor, upload } from './api-harness.ts';
import { irisJobBody, untilStatus, useIrisStack } from './iris-job.ts';
import { manualLineage, registry } from './job-harness.ts';

const stack = useIrisStack('api-base-model');

const create = (body: unknown, key = stack.keys.submitter) =>
  call(stack.api, 'POST', '/v1/fine_tuning/jobs', { key, json: body });

/** The error paths of a refused create request. */
const refused = async (body: unknown, status: number, key?: string) => {
  const reply = await create(body, key);
  expect(reply.status, reply.text).toBe(status);
  expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
  expect(reply.body.error.param).toBe(reply.body.error.errors[0].path.replace(/^body\.?/, '') || 'body');
  return reply.body.error.errors as { path: string; message: string }[];
};

describe('jobs from a base model', () => {
  it('fine-tunes the production version and shows it; the evaluation compares against it', async () => {
    const first = await create(irisJobBody(stack, 'iris'));
    expect(first.status).toBe(201);
    await untilStatus(stack, first.body.id, ['awaiting_approval']);
    const approve = { key: stack.keys.approver, json: { reason: 'first version' } };
    await call(stack.api, 'POST', `/v1/fine_tuning/jobs/${first.body.id}/approve`, approve);
    await untilStatus(stack, first.body.id, ['deployed']);
    const v1 = await registry().getVersion(scoped(stack.tenant, 'iris'), 1);

    // `model: 'iris'`: the production version of the tenant's registry model iris.
    const tuned = await create({
      ...irisJobBody(stack, 'iris'),
      model: 'iris',
      training: { ...irisJobBody(stack, 'iris').training, method: 'head' },
    });
    expect(tuned.status).toBe(201);
    expect(tuned.body.model).toBe('iris');
    const job = (await untilStatus(stack, tuned.body.id, ['awaiting_approval'])).body;
    expect(job.ratchet.base_model).toEqual({ model: 'iris', version: 1, sha256: v1.record.artifacts['model.onnx'] });
    expect(job.ratchet.evaluation.production.version).toBe(1);

    await call(stack.api, 'POST', `/v1/fine_tuning/jobs/${tuned.body.id}/approve`, approve);
    const deployed = (await untilStatus(stack, tuned.body.id, ['deployed'])).body;
    expect(deployed.ratchet.deployed.version).toBe(2);
    expect(deployed.fine_tuned_model).toBe('iris:2');
    const v2 = await call(stack.api, 'GET', '/v1/models/iris/versions/2', { key: stack.keys.viewer });
    expect(v2.body.version.base_model).toEqual({ name: 'iris', version: 1, sha256: job.ratchet.base_model.sha256 });
    expect(v2.body.version.method).toBe('head');
  });

  it('404 naming the field for a model, version or production the tenant registry does not hold', async () => {
    const body = (model: string) => ({ ...irisJobBody(stack, 'iris-next'), model });
    expect(await refused(body('nope'), 404)).toEqual([{ path: 'body.model', message: 'no model nope' }]);
    expect(await refused(body('iris:9'), 404)).toEqual([
      { path: 'body.model', message: 'model iris has no version 9' },
    ]);
    // Registered but never promoted: there is no production to fine-tune.
    await registry().registerVersion(
      scoped(stack.tenant, 'draft'),
      { model: new Uint8Array([1]), metrics: {}, card: { markdown: '#', json: {} } },
      { job_id: 'manual', ...manualLineage },
    );
    expect(await refused(body('draft'), 404)).toEqual([
      { path: 'body.model', message: 'model draft has no production version' },
    ]);
    // Another tenant's model of the same name is not found: the reference is always to the caller's registry.
    const other = await keyFor(stack.api, freshTenant('other'), 'oz', ['submitter']);
    const file = (await upload(stack.api, other, irisJsonl())).body.id;
    const otherBody = { ...body('iris'), training_file: file, validation_file: file };
    expect(await refused(otherBody, 404, other)).toEqual([{ path: 'body.model', message: 'no model iris' }]);
  });

  it('400 naming the field for a malformed model or text architecture', async () => {
    const body = (model: unknown, training: object = {}) => ({
      ...irisJobBody(stack, 'iris-next'),
      model,
      training: { ...irisJobBody(stack, 'iris-next').training, ...training },
    });
    const paths = async (b: unknown) => (await refused(b, 400)).map((e) => e.path);
    for (const model of ['iris:0', 'iris:01', 'iris:staging', '../iris', 'iris:1:2', 'Iris', '', 1])
      expect(await paths(body(model)), String(model)).toEqual(['body.model']);
    // A job's base model is its `model`: the schedules' base_model field is refused, not ignored.
    const withBaseModel = { ...body('mlp'), base_model: { model: 'iris', alias: 'production' } };
    expect((await refused(withBaseModel, 400))[0]).toMatchObject({
      path: 'body',
      message: expect.stringMatching(/base_model/),
    });
    // A registry model brings its own architecture.
    expect(await paths(body('iris:1', { text: { kind: 'fasttext' } }))).toEqual(['body.training.text']);
    // An architecture named by `model` and another in training.text disagree.
    expect(await paths(body('encoder', { text: { kind: 'fasttext' } }))).toEqual(['body.training.text.kind']);
    expect(await paths(body('mlp', { text: { kind: 'fasttext', charNgrams: [3, 1] } }))).toEqual([
      'body.training.text.charNgrams',
    ]);
    expect(await paths(body('mlp', { text: { kind: 'encoder', dModel: 30, heads: 4 } }))).toEqual([
      'body.training.text.heads',
    ]);
    expect(await paths(body('mlp', { text: { kind: 'rnn' } }))).toEqual(['body.training.text.kind']);
    // A text teacher (training.text, or model encoder or fasttext) distills into a fastText student, a tabular one
    // into an MLP.
    const distilled = (training: object, student: object, model = 'mlp') => ({
      ...body(model, training),
      distillation: { student },
    });
    expect(await paths(distilled({ text: { kind: 'fasttext' } }, { hidden: [4] }))).toEqual([
      'body.distillation.student',
    ]);
    expect(await paths(distilled({}, { hidden: [4] }, 'fasttext'))).toEqual(['body.distillation.student']);
    expect(await paths(distilled({}, { hidden: [4] }, 'encoder'))).toEqual(['body.distillation.student']);
    expect(await paths(distilled({}, { fasttext: { dim: 8 } }))).toEqual(['body.distillation.student']);
    expect(await paths(distilled({ text: { kind: 'fasttext' } }, { fasttext: { buckets: 1 << 22, dim: 64 } }))).toEqual(
      ['body.distillation.student.fasttext.buckets'],
    );
    expect(await paths(body('mlp', { text: { kind: 'fasttext', buckets: 1 << 22, dim: 64 } }))).toEqual([
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
    // A schedule's model is the registry model its runs' candidates join.
    const job: Record<string, unknown> = { ...irisJobBody(stack, 'iris'), model: 'iris', ood_file: oodFile };
    delete job.suffix;
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
    expect(missing.body.error.errors).toEqual([{ path: 'body.base_model.model', message: 'no model nope' }]);
    expect((await post(schedule)).status).toBe(201);

    expect((await call(stack.api, 'POST', '/v1/schedules/ratchet/trigger', { key: stack.keys.submitter })).status).toBe(
      202,
    );
    const jobId = `${scoped(stack.tenant, 'ratchet')}-2026-11-28`;
    const deadline = Date.now() + 60_000;
    while ((await call(stack.api, 'GET', `/v1/fine_tuning/jobs/${jobId}`, { key: stack.keys.viewer })).status !== 200) {
      if (Date.now() > deadline) throw new Error(`the schedule started no job ${jobId}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const run = (await untilStatus(stack, jobId, ['awaiting_approval'])).body;
    const production = await registry().getVersion(scoped(stack.tenant, 'iris'), 2);
    expect(run.model).toBe('iris');
    expect(run.ratchet.base_model).toEqual({
      model: 'iris',
      version: 2,
      sha256: production.record.artifacts['model.onnx'],
    });
    expect(run.ratchet.evaluation.production.version).toBe(2);
    expect(run.ratchet.evaluation.candidate.metrics.ood_auroc).toBeGreaterThanOrEqual(0);
    expect(run.ratchet.evaluation.candidate.metrics.ood_auroc).toBeLessThanOrEqual(1);
    await call(stack.api, 'DELETE', '/v1/schedules/ratchet', { key: stack.keys.submitter });
  });
});
