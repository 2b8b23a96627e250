// The edge entry (api/edge.ts) served on Node with nothing but fetch: Temporal through its HTTP API on the dev
// server's HTTP port (the entry is given no gRPC address at all), S3 through the SDK's fetch handler. A real worker
// runs `fineTuneJob` on Iris; the job is created, read, listed, approved and cancelled through the edge app, and
// what the edge app shows of a job is what the gRPC-backed app shows of it. A schedule makes the same round trip,
// and is stored as the gRPC-backed app stores one.
import { execFile } from 'node:child_process';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.ts';
import { edgeHandler } from '../../api/edge.ts';
import { startApiServer, type ApiServer } from '../../api/server.ts';
import { httpPort } from '../../api/temporal/http.ts';
import { irisJsonl } from '../helpers/iris.ts';
import { s3Client, stack, temporalClient, uniqueTaskQueue, withWorker } from '../helpers/stack.ts';
import {
  BOOTSTRAP_ADMIN_KEY,
  call,
  edgeEnv,
  freshTenant,
  keyFor,
  readEventStream,
  startApi,
  upload,
  type Api,
} from './api-harness.ts';
import { DEPLOYED_JOB_ACTIONS } from './job-harness.ts';

const queue = uniqueTaskQueue('edge');
const tenant = freshTenant('edge');
const keys = { sam: '', ada: '', viewer: '', other: '' };
const files = { train: '', eval: '' };
let edge: Api;
let release: () => void;
let worker: Promise<unknown>;

/** The edge handler served on a free port, each request given `env` as an edge runtime gives its bindings. */
async function serveEdge(env: Record<string, unknown>): Promise<ApiServer> {
  const handler = edgeHandler({ taskQueues: { jobs: queue, training: queue } });
  const server = await startApiServer({ fetch: (request) => handler.fetch(request, env) }, 0);
  servers.push(server);
  return server;
}
const servers: ApiServer[] = [];

/** A job on Iris whose candidate becomes a version of the registry model `model` (OpenAI's `suffix`). */
const jobBody = (model: string, steps = { maxSteps: 150, checkpointEvery: 20 }) => ({
  model: 'mlp',
  suffix: model,
  training_file: files.train,
  validation_file: files.eval,
  training: {
    hidden: [16],
    method: 'full',
    config: {
      batchSize: 16,
      ...steps,
      lr: 0.01,
      optimizer: { kind: 'adamw' },
      loss: { kind: 'cross-entropy' },
      seed: 7,
      threads: 1,
    },
  },
  policy: { minAccuracy: 0.8, allowedLicences: ['CC-BY-4.0'], approvalTimeout: '10m' },
  intended_use: 'Iris species from four flower measurements (test fixture)',
});

/** A schedule of `jobBody(model)` on the tenant's dataset 'iris' (a schedule names a dataset, not files). */
function scheduleBody(model: string, fields: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {
    ...jobBody(model),
    model,
    dataset: 'iris',
    licence: 'CC-BY-4.0',
    source: 'test',
  };
  delete body.suffix;
  delete body.training_file;
  delete body.validation_file;
  return { ...body, ...fields };
}

const getJob = (api: { url: string }, id: string) =>
  call(api, 'GET', `/v1/fine_tuning/jobs/${id}`, { key: keys.viewer });

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a job as the API shows it
type Job = any;

/** Polls the job through the edge app until `done` holds for it. */
async function untilJob(id: string, done: (job: Job) => boolean): Promise<Job> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const reply = await getJob(edge, id);
    if (reply.status === 200 && done(reply.body)) return reply.body;
    if (Date.now() > deadline) throw new Error(`job ${id}: timed out; last reply ${reply.status} ${reply.text}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

beforeAll(async () => {
  edge = { ...(await serveEdge(edgeEnv())), admin: BOOTSTRAP_ADMIN_KEY };
  const released = new Promise<void>((resolve) => (release = resolve));
  worker = withWorker(
    { taskQueue: queue, activities: createActivities({ s3: s3Client(), bucket: stack().bucket, ep: 'cpu' }) },
    () => released,
  );
  keys.sam = await keyFor(edge, tenant, 'sam', ['submitter']);
  keys.ada = await keyFor(edge, tenant, 'ada', ['approver']);
  keys.viewer = await keyFor(edge, tenant, 'vic', ['viewer']);
  keys.other = await keyFor(edge, freshTenant('edge-other'), 'olga', ['submitter']);
  const lines = irisJsonl().trimEnd().split('\n');
  const pick = (evalRows: boolean) => lines.filter((_, i) => (i % 5 === 4) === evalRows).join('\n') + '\n';
  files.train = (await upload(edge, keys.sam, pick(false))).body.id;
  files.eval = (await upload(edge, keys.sam, pick(true))).body.id;
});

afterAll(async () => {
  release?.();
  await worker;
  for (const server of servers) await server.close();
});

describe('edge entry', () => {
  it('loads no gRPC: neither @grpc/grpc-js nor @temporalio/client is in its module graph', async () => {
    // A fresh process, so that what this test file imported does not count.
    const probe = [
      "import { createRequire } from 'node:module';",
      "await import('./api/edge.ts');",
      'const loaded = Object.keys(createRequire(import.meta.url).cache);',
      'console.log(JSON.stringify(loaded.filter((p) => /@grpc[\\/]|@temporalio[\\/]client/.test(p))));',
    ].join('\n');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', probe],
      { cwd: new URL('../..', import.meta.url).pathname },
    );
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual([]);
  });

  it('is ready: Temporal answers over its HTTP API, S3 over fetch', async () => {
    const reply = await call(edge, 'GET', '/readyz');
    expect(reply.status).toBe(200);
    expect(reply.body.checks).toEqual({ temporal: 'ok', s3: 'ok' });
  });

  it('runs a job end to end: create (idempotent), status, list, approve, deployed; as the gRPC app shows it', async () => {
    const headers = { 'Idempotency-Key': `edge-${tenant}` };
    const created = await call(edge, 'POST', '/v1/fine_tuning/jobs', { key: keys.sam, json: jobBody('iris'), headers });
    expect(created.status).toBe(201);
    const id: string = created.body.id;
    expect(id.startsWith(`${tenant}--job-`)).toBe(true);

    const again = await call(edge, 'POST', '/v1/fine_tuning/jobs', { key: keys.sam, json: jobBody('iris'), headers });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(id);
    const other = await call(edge, 'POST', '/v1/fine_tuning/jobs', { key: keys.sam, json: jobBody('iris-2'), headers });
    expect(other.status).toBe(409);

    // Both gateways derive the workflow id from the key: a retry through the gRPC app finds the same job.
    const grpc = await startApi();
    const viaGrpc = await call(grpc, 'POST', '/v1/fine_tuning/jobs', { key: keys.sam, json: jobBody('iris'), headers });
    expect(viaGrpc.status).toBe(200);
    expect(viaGrpc.body.id).toBe(id);

    const waiting = await untilJob(id, (job) => job.ratchet.status === 'awaiting_approval');
    expect(waiting).toMatchObject({
      id,
      model: 'mlp',
      status: 'running',
      finished_at: null,
      ratchet: { model: 'iris', submitter: 'sam', decision: null },
    });
    expect(waiting.ratchet.metrics).not.toBeNull();
    expect(waiting.ratchet.transitions.map((t: { state: string }) => t.state)).toContain('training');

    expect((await getJob(grpc, id)).body).toEqual(waiting);

    const listed = await call(edge, 'GET', '/v1/fine_tuning/jobs?status=awaiting_approval', { key: keys.viewer });
    expect(listed.status).toBe(200);
    expect(listed.body.data).toEqual([
      expect.objectContaining({ id, ratchet: expect.objectContaining({ model: 'iris', submitter: 'sam' }) }),
    ]);

    // The HTTP API long-polls a workflow's history: given the token of the history so far, a call waits while the
    // job waits for approval, and answers once the approval has moved the workflow on.
    const port = httpPort({ url: edgeEnv().TEMPORAL_HTTP_URL, namespace: stack().namespace });
    const history = await port.workflowHistory(id, {});
    expect(history.events).toBeGreaterThan(0);
    expect(history.nextPageToken).toBeDefined();
    const next = port.workflowHistory(id, { pageToken: history.nextPageToken });
    const early = await Promise.race([
      next.then(() => 'answered'),
      new Promise((resolve) => setTimeout(() => resolve('waiting'), 3_000)),
    ]);
    expect(early).toBe('waiting');
    // A given-up long poll ends at once.
    const leave = new AbortController();
    const left = port.workflowHistory(id, { pageToken: history.nextPageToken, signal: leave.signal });
    leave.abort();
    await expect(left).rejects.toThrow();
    // The stream through the edge app, opened before the approval and read to its end.
    const streamed = fetch(`${edge.url}/v1/fine_tuning/jobs/${id}/events/stream`, {
      headers: { authorization: `Bearer ${keys.viewer}` },
    }).then((response) => response.text());

    // The workflow's update validator refuses the submitter too; the route's 403 comes first.
    const approvedAt = Date.now();
    const approved = await call(edge, 'POST', `/v1/fine_tuning/jobs/${id}/approve`, {
      key: keys.ada,
      json: { reason: 'meets the policy' },
    });
    expect(approved.status).toBe(200);
    expect(approved.body.ratchet.decision).toMatchObject({ action: 'approve', by: 'ada', reason: 'meets the policy' });

    const woke = await next;
    expect(woke.events).toBeGreaterThan(0);
    expect(Date.now() - approvedAt).toBeLessThan(5_000);

    // A final state is entered just before the workflow closes.
    const closed = await untilJob(id, (job) => job.ratchet.status === 'deployed' && job.finished_at !== null);
    const { events, messages, ended } = readEventStream(await streamed);
    expect(events.every((event) => event.object === 'fine_tuning.job.event')).toBe(true);
    expect(messages).toEqual(DEPLOYED_JOB_ACTIONS);
    expect(ended).toBe(true);
    expect(closed).toMatchObject({ status: 'succeeded', fine_tuned_model: 'iris:1' });
    expect(closed.ratchet.deployed).toMatchObject({ version: 1 });

    expect((await getJob(grpc, id)).body).toEqual(closed);

    const page = await call(edge, 'GET', '/v1/fine_tuning/jobs?limit=1', { key: keys.viewer });
    const grpcPage = await call(grpc, 'GET', '/v1/fine_tuning/jobs?limit=1', { key: keys.viewer });
    expect(page.body).toEqual(grpcPage.body);

    const cancelEnded = await call(edge, 'POST', `/v1/fine_tuning/jobs/${id}/cancel`, { key: keys.sam });
    expect(cancelEnded.status).toBe(409);
  });

  it("shows a training job's progress (the activity's heartbeat) and cancels it", async () => {
    const long = jobBody('iris-c', { maxSteps: 1_000_000, checkpointEvery: 1_000_000 });
    const created = await call(edge, 'POST', '/v1/fine_tuning/jobs', { key: keys.sam, json: long });
    expect(created.status).toBe(201);
    const id: string = created.body.id;
    const training = await untilJob(id, (job) => job.ratchet.status === 'training' && job.ratchet.progress !== null);
    expect(training.ratchet.progress).toMatchObject({ step: expect.any(Number), total_steps: 1_000_000 });
    expect(training.ratchet.progress.step).toBeGreaterThan(0);
    expect(Number.isFinite(training.ratchet.progress.loss)).toBe(true);

    const cancelled = await call(edge, 'POST', `/v1/fine_tuning/jobs/${id}/cancel`, { key: keys.sam });
    expect(cancelled.status).toBe(200);
    const ended = await untilJob(id, (job) => job.status === 'cancelled' && job.finished_at !== null);
    expect(ended.ratchet.stage).toBe('training');
  });

  it('answers an unknown job with 404, and an `after` that names no job with an empty last page', async () => {
    const missing = await getJob(edge, `${tenant}--job-000000000000000000000000`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ type: 'not_found_error', message: expect.stringMatching(/no job/) });
    const forged = await call(edge, 'GET', '/v1/fine_tuning/jobs?after=bm90LWEtdG9rZW4', { key: keys.viewer });
    expect(forged.status).toBe(200);
    expect(forged.body).toMatchObject({ data: [], has_more: false });
  });

  it('runs a schedule: create (paused), list, unpause, pause, trigger (a job on the newest dataset), delete', async () => {
    const published = await call(edge, 'POST', '/v1/datasets/iris/versions', {
      key: keys.sam,
      json: { version: '2026-11-28', training_file: files.train, validation_file: files.eval },
    });
    expect(published.status).toBe(201);
    const body = scheduleBody('iris-nightly', { name: 'nightly', every: '24h', paused: true });
    // POST /v1/schedules{path} as sam (or `key`).
    const post = (api: { url: string }, path: string, json?: object, key = keys.sam) =>
      call(api, 'POST', `/v1/schedules${path}`, { key, json });
    const remove = (key = keys.sam) => call(edge, 'DELETE', '/v1/schedules/nightly', { key });
    expect((await post(edge, '', body)).status).toBe(201);
    expect((await post(edge, '', body)).status).toBe(409);

    // Stored as the gRPC app stores one: the same spec, action (less its id), policies (overlap SKIP) and memo.
    const grpc = await startApi({ taskQueues: { jobs: queue, training: queue } });
    expect((await post(grpc, '', { ...body, name: 'nightly-grpc' })).status).toBe(201);
    const client = await temporalClient();
    const viaEdge = await client.schedule.getHandle(`${tenant}--nightly`).describe();
    const viaGrpc = await client.schedule.getHandle(`${tenant}--nightly-grpc`).describe();
    expect(viaEdge.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(viaEdge.action).toMatchObject({
      workflowType: 'scheduledFineTuneJob',
      taskQueue: queue,
      workflowId: `${tenant}--nightly`,
    });
    const comparable = (described: typeof viaEdge) => ({
      spec: described.spec,
      policies: described.policies,
      state: described.state,
      memo: described.memo,
      searchAttributes: described.searchAttributes,
      action: {
        ...described.action,
        workflowId: undefined,
        args: (described.action.args ?? []).map((a) => ({ ...(a as object), scheduleId: undefined })),
      },
    });
    expect(comparable(viaEdge)).toEqual(comparable(viaGrpc));
    expect(viaEdge.action.args?.[0]).toMatchObject({ scheduleId: `${tenant}--nightly`, trainingTaskQueue: queue });
    expect((await call(grpc, 'DELETE', '/v1/schedules/nightly-grpc', { key: keys.sam })).status).toBe(200);

    const listed = async (key = keys.viewer) => {
      const reply = await call(edge, 'GET', '/v1/schedules', { key });
      expect(reply.status).toBe(200);
      return reply.body.data;
    };
    // Visibility lags behind the create and the delete above.
    const deadline = Date.now() + 10_000;
    while ((await listed()).length !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const [nightly] = await listed();
    expect(nightly).toMatchObject({ name: 'nightly', paused: true, when: { every: '24h' }, recent_actions: [] });
    expect(nightly.next_action_times.length).toBeGreaterThan(0);
    expect((await call(grpc, 'GET', '/v1/schedules', { key: keys.viewer })).body.data).toEqual([nightly]);
    expect(await listed(keys.other)).toEqual([]);

    expect((await post(edge, '/nightly/unpause', {})).status).toBe(202);
    expect((await listed())[0].paused).toBe(false);
    expect((await post(edge, '/nightly/pause', { note: 'holiday' })).status).toBe(202);
    expect((await listed())[0].paused).toBe(true);
    expect((await post(edge, '/nightly/trigger', undefined, keys.other)).status).toBe(404);

    expect((await post(edge, '/nightly/trigger')).status).toBe(202);
    const jobId = `${tenant}--nightly-2026-11-28`;
    const started = await untilJob(jobId, (j) => j.ratchet.status !== 'validating');
    expect(started).toMatchObject({ training_file: 'dataset:iris@2026-11-28', ratchet: { model: 'iris-nightly' } });
    const [{ recent_actions: recent }] = await listed();
    expect(recent).toEqual([
      { scheduled_at: expect.any(String), job_id: expect.stringMatching(`^${tenant}--nightly-`) },
    ]);
    await call(edge, 'POST', `/v1/fine_tuning/jobs/${jobId}/cancel`, { key: keys.sam });

    expect((await remove(keys.other)).status).toBe(404);
    expect((await remove()).status).toBe(200);
    expect((await remove()).status).toBe(404);
    expect((await post(edge, '/nightly/pause', {})).status).toBe(404);
    await untilJob(jobId, (j) => j.finished_at !== null || j.ratchet.status === 'awaiting_approval');
  });

  it('answers a schedule with a cron the server cannot parse with 400 naming body.cron', async () => {
    const body = scheduleBody('m', { name: 'bad', cron: 'every full moon' });
    const reply = await call(edge, 'POST', '/v1/schedules', { key: keys.sam, json: body });
    expect(reply.status).toBe(400);
    expect(reply.body.error.param).toBe('cron');
    expect(reply.body.error.errors).toEqual([{ path: 'body.cron', message: expect.stringMatching(/cron/i) }]);
  });

  it('names what is wrong with its configuration, and an unreachable Temporal in /readyz', async () => {
    const misconfigured = await serveEdge({ ...edgeEnv(), TEMPORAL_HTTP_URL: undefined, S3_ENDPOINT: 'not a url' });
    const reply = await call(misconfigured, 'GET', '/healthz');
    expect(reply.status).toBe(500);
    expect(reply.body.error.message).toMatch(/TEMPORAL_HTTP_URL: .*S3_ENDPOINT: expected an http\(s\) URL/);

    const unreachable = await serveEdge({ ...edgeEnv(), TEMPORAL_HTTP_URL: 'http://127.0.0.1:9' });
    const ready = await call(unreachable, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.error.checks).toMatchObject({
      temporal: { error: expect.stringMatching(/fetch failed/) },
      s3: 'ok',
    });
  });
});
