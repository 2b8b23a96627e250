// The official `openai` npm SDK, unchanged, drives Ratchet: upload, a job from only model and training_file,
// auto-paginated lists that end, metrics events, checkpoints, a sign-off by a second identity through the SDK's own
// generic post, the fine-tuned model, a cancel, and the SDK's typed errors carrying Ratchet's messages.
import OpenAI, { AuthenticationError, BadRequestError, NotFoundError, toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.ts';
import { irisJsonl } from '../helpers/iris.ts';
import { s3Client, stack, uniqueTaskQueue, withWorker } from '../helpers/stack.ts';
import { freshTenant, keyFor, startApi, type Api } from './api-harness.ts';

const queue = uniqueTaskQueue('openai-sdk');
const tenant = freshTenant('openai');
let api: Api;
let release: () => void;
let worker: Promise<unknown>;
let sam: OpenAI;
let ada: OpenAI;

const client = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${api.url}/v1`, maxRetries: 0 });

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

beforeAll(async () => {
  api = await startApi({ taskQueues: { jobs: queue, training: queue } });
  const released = new Promise<void>((resolve) => (release = resolve));
  worker = withWorker(
    { taskQueue: queue, activities: createActivities({ s3: s3Client(), bucket: stack().bucket, ep: 'cpu' }) },
    () => released,
  );
  sam = client(await keyFor(api, tenant, 'sam', ['submitter']));
  ada = client(await keyFor(api, tenant, 'ada', ['approver']));
});

afterAll(async () => {
  release?.();
  await worker;
});

describe('the openai SDK against Ratchet', () => {
  let fileId: string;
  let jobId: string;

  it('uploads a file with purpose only (no licence), and lists it', async () => {
    const file = await sam.files.create({
      file: await toFile(Buffer.from(irisJsonl()), 'iris.jsonl'),
      purpose: 'fine-tune',
    });
    expect(file).toMatchObject({ object: 'file', purpose: 'fine-tune', status: 'processed', licence: null });
    fileId = file.id;
    const listed = [];
    for await (const f of sam.files.list({ limit: 1 })) listed.push(f.id);
    expect(listed).toContain(fileId);
    expect((await sam.files.retrieve(fileId)).bytes).toBe(Buffer.byteLength(irisJsonl()));
  });

  it('runs a job from only model and training_file to awaiting approval', async () => {
    const job = await sam.fineTuning.jobs.create({ model: 'mlp', training_file: fileId });
    jobId = job.id;
    expect(job.object).toBe('fine_tuning.job');
    expect(job.hyperparameters).toEqual({ batch_size: 32, learning_rate_multiplier: 1, n_epochs: 10 });
    expect(job.validation_file).toMatch(/^file-/);
    const waiting = await until(
      () => sam.fineTuning.jobs.retrieve(jobId),
      (j) =>
        (j as unknown as { ratchet: { status: string } }).ratchet.status === 'awaiting_approval' ||
        j.status === 'failed',
    );
    expect(waiting.status).toBe('running');
    expect(waiting.error).toBeNull();
  });

  it('lists jobs over pages that end, and events with metrics, and checkpoints', async () => {
    const other = await sam.fineTuning.jobs.create({
      model: 'mlp',
      training_file: fileId,
      metadata: { run: 'cancel-me' },
    });
    const ids = [];
    for await (const j of sam.fineTuning.jobs.list({ limit: 1 })) ids.push(j.id);
    expect(ids).toEqual([other.id, jobId]);
    const filtered = await sam.fineTuning.jobs.list({ metadata: { run: 'cancel-me' } });
    expect(filtered.data.map((j) => j.id)).toEqual([other.id]);

    const cancelled = await sam.fineTuning.jobs.cancel(other.id);
    expect(cancelled.id).toBe(other.id);
    await until(
      () => sam.fineTuning.jobs.retrieve(other.id),
      (j) => j.status === 'cancelled',
    );

    const events = [];
    for await (const e of sam.fineTuning.jobs.listEvents(jobId, { limit: 50 })) events.push(e);
    const metrics = events.filter((e) => e.type === 'metrics');
    expect(metrics.length).toBeGreaterThan(1);
    expect(metrics[0].data).toMatchObject({ step: expect.any(Number), train_loss: expect.any(Number) });
    expect(events.at(-1)?.message).toBe('job.submitted by sam');

    const checkpoints = await sam.fineTuning.jobs.checkpoints.list(jobId);
    expect(checkpoints.data.length).toBeGreaterThan(0);
    expect(checkpoints.data[0]).toMatchObject({ object: 'fine_tuning.job.checkpoint', fine_tuning_job_id: jobId });
  });

  it('succeeds once a second identity approves, and serves the fine-tuned model', async () => {
    await ada.post(`/fine_tuning/jobs/${jobId}/approve`, { body: { reason: 'held-out accuracy is fine' } });
    const done = await until(
      () => sam.fineTuning.jobs.retrieve(jobId),
      (j) => j.status === 'succeeded' || j.status === 'failed',
    );
    expect(done.status).toBe('succeeded');
    expect(done.fine_tuned_model).toMatch(/^mlp-[0-9a-z]+:1$/);
    const model = await sam.models.retrieve(done.fine_tuned_model!);
    expect(model).toMatchObject({ id: done.fine_tuned_model, object: 'model', owned_by: tenant });
  });

  it('raises the typed errors with Ratchet messages', async () => {
    const missing = await sam.fineTuning.jobs.retrieve(`${tenant}--job-000000000000000000000000`).catch((e) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing.message).toContain('no job');
    const wrongKey = await client('not-a-key')
      .files.list()
      .catch((e) => e);
    expect(wrongKey).toBeInstanceOf(AuthenticationError);
    expect(wrongKey.message).toContain('the API key is not valid');
    const bad = await sam.fineTuning.jobs.create({ model: 'mlp', training_file: 'file-nope' }).catch((e) => e);
    expect(bad).toBeInstanceOf(BadRequestError);
    expect(bad.param).toBe('training_file');
    const paused = await sam.fineTuning.jobs.pause(jobId).catch((e) => e);
    expect(paused).toBeInstanceOf(BadRequestError);
    expect(paused.message).toContain('cannot pause');
  });
});
