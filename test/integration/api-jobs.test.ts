// Jobs and schedules through the API over real HTTP, with an in-process worker running the real `fineTuneJob`
// on Iris: idempotent create, get, list with filters and pages, events as a list and as server-sent events in
// order, checkpoints, approve/reject with separation of duties, cancel, cross-tenant 404s.
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createActivities } from '../../activities/index.ts';
import { jobObject } from '../../api/routes/job-object.ts';
import { Ledger } from '../../core/ledger/ledger.ts';
import { statusMemoKey, type JobStatus } from '../../workflows/job-types.ts';
import { irisJsonl } from '../helpers/iris.ts';
import { s3Client, stack, temporalClient, uniqueTaskQueue, withWorker } from '../helpers/stack.ts';
import { call, freshTenant, keyFor, startApi, upload, type Api, type Reply } from './api-harness.ts';
import { DEPLOYED_JOB_ACTIONS, store, training } from './job-harness.ts';

const queue = uniqueTaskQueue('api-jobs');
const tenant = freshTenant('jobs');
const keys = { sam: '', samApproving: '', ada: '', viewer: '', other: '' };
const files = { train: '', eval: '', broken: '' };
let api: Api;
let stopWorker: () => void;
let worker: Promise<unknown>;
/** The first job, once deployed: read again with the worker gone. */
let deployedId: string;

/** A job on Iris whose candidate becomes a version of the registry model `model` (OpenAI's `suffix`). */
const jobBody = (model: string, overrides: Record<string, unknown> = {}) => ({
  model: 'mlp',
  suffix: model,
  training_file: files.train,
  validation_file: files.eval,
  training,
  policy: { minAccuracy: 0.8, allowedLicences: ['CC-BY-4.0'], approvalTimeout: '10m' },
  intended_use: 'Iris species from four flower measurements (test fixture)',
  ...overrides,
});

/** Polls `read` until `done` holds for what it returns. */
async function until(read: () => Promise<Reply>, done: (reply: Reply) => boolean, timeoutMs = 45_000): Promise<Reply> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await read();
    if (done(reply)) return reply;
    if (Date.now() > deadline) throw new Error(`timed out; last reply ${reply.status} ${reply.text}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

const getJob = (id: string, key = keys.viewer) => call(api, 'GET', `/v1/fine_tuning/jobs/${id}`, { key });
/** Until the job's precise state is one of `states` and its workflow has closed (a final state is entered just before). */
const untilEnded = (id: string, states: string[]) =>
  until(
    () => getJob(id),
    (r) => r.status === 200 && states.includes(r.body.ratchet.status) && r.body.finished_at !== null,
  );
/** Until the job's precise state (`ratchet.status`) is one of `states`. */
const untilState = (id: string, states: string[]) =>
  until(
    () => getJob(id),
    (r) => r.status === 200 && states.includes(r.body.ratchet.status),
  );
/**
 * GET serves the job object that the workflow's status query gives: the status it published in its memo leaves
 * out nothing the job object shows. At a point where the job does not move (awaiting approval, or closed).
 */
async function expectServedAsQueried(id: string) {
  const handle = (await temporalClient()).workflow.getHandle(id);
  const described = await handle.describe();
  expect(described.memo?.[statusMemoKey]).toMatchObject({ state: expect.any(String) });
  const description = {
    status: { name: described.status.name },
    startTime: described.startTime,
    closeTime: described.closeTime,
    memo: described.memo ?? {},
  };
  const queried = await handle.query<JobStatus>('status');
  const expected = await jobObject(id, tenant, { description, status: queried, progress: undefined }, store());
  expect((await getJob(id)).body).toEqual(expected);
}
const createJob = async (body: unknown, headers: Record<string, string> = {}) => {
  const reply = await call(api, 'POST', '/v1/fine_tuning/jobs', { key: keys.sam, json: body, headers });
  if (reply.status !== 201) throw new Error(`create failed: ${reply.status} ${reply.text}`);
  return reply.body.id as string;
};

type Sent = { id?: string; event?: string; data: string };

/** One server-sent event block's fields (a comment block is none). */
const sentOf = (block: string): Sent => {
  const fields = Object.fromEntries(
    block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
  );
  return { id: fields.id, event: fields.event, data: fields.data };
};

/** The server-sent events of a stream until it ends. */
async function readEvents(path: string, key: string): Promise<Sent[]> {
  const response = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.trim() && !block.startsWith(':'))
    .map(sentOf);
}

/** A stream read as it comes, each event with when it arrived; `close` leaves it. */
function liveEvents(path: string, key: string) {
  const leave = new AbortController();
  const received: (Sent & { at: number })[] = [];
  const reading = (async () => {
    const response = await fetch(`${api.url}${path}`, {
      headers: { authorization: `Bearer ${key}` },
      signal: leave.signal,
    });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (block.trim() && !block.startsWith(':')) received.push({ ...sentOf(block), at: Date.now() });
      }
    }
  })().catch((error: unknown) => {
    if (!leave.signal.aborted) throw error;
  });
  return {
    received,
    /** The first event `match` holds for, once it has arrived. */
    async until(match: (sent: Sent) => boolean, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = received.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`timed out; received ${JSON.stringify(received)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      leave.abort();
      await reading;
    },
  };
}

/** Whether a sent event is the message event of the ledger entry `action`. */
const messageOf = (action: string) => (sent: Sent) =>
  sent.event === undefined && JSON.parse(sent.data).message.startsWith(`${action} by `);

beforeAll(async () => {
  api = await startApi({ taskQueues: { jobs: queue, training: queue } });
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  stopWorker = release;
  worker = withWorker(
    { taskQueue: queue, activities: createActivities({ s3: s3Client(), bucket: stack().bucket, ep: 'cpu' }) },
    () => released,
  );

  keys.sam = await keyFor(api, tenant, 'sam', ['submitter']);
  keys.samApproving = await keyFor(api, tenant, 'sam', ['approver']);
  keys.ada = await keyFor(api, tenant, 'ada', ['approver']);
  keys.viewer = await keyFor(api, tenant, 'vic', ['viewer']);
  keys.other = await keyFor(api, freshTenant('other'), 'oz', ['submitter', 'approver']);

  const lines = irisJsonl().trimEnd().split('\n');
  const pick = (evalRows: boolean) => lines.filter((_, i) => (i % 5 === 4) === evalRows).join('\n') + '\n';
  files.train = (await upload(api, keys.sam, pick(false))).body.id;
  files.eval = (await upload(api, keys.sam, pick(true))).body.id;
  files.broken = (await upload(api, keys.sam, 'not json\n' + pick(false))).body.id;
});

afterAll(async () => {
  stopWorker?.();
  await worker;
});

describe('a job from create to deploy', () => {
  let id: string;
  let events: Promise<Awaited<ReturnType<typeof readEvents>>>;
  let live: ReturnType<typeof liveEvents>;

  it('create honours Idempotency-Key: same body, same job; other body, 409', async () => {
    const headers = { 'Idempotency-Key': `deploy-${tenant}` };
    id = await createJob(jobBody('iris'), headers);
    expect(id).toMatch(new RegExp(`^${tenant}--job-[0-9a-f]{24}$`));
    // Opened now, read to its end later: every entry from job.submitted on must come through, in order.
    events = readEvents(`/v1/fine_tuning/jobs/${id}/events/stream`, keys.viewer);
    const again = await call(api, 'POST', '/v1/fine_tuning/jobs', { key: keys.sam, json: jobBody('iris'), headers });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(id);
    const other = await call(api, 'POST', '/v1/fine_tuning/jobs', {
      key: keys.sam,
      json: jobBody('iris', { intended_use: 'else' }),
      headers,
    });
    expect(other.status).toBe(409);
    expect(other.headers.get('content-type')).toMatch(/^application\/json/);
    expect(other.body.error).toMatchObject({
      type: 'conflict_error',
      message: expect.stringMatching(/Idempotency-Key/),
    });
  });

  it('get shows stage, metrics, gate and the approval deadline once awaiting approval', async () => {
    const job = (await untilState(id, ['awaiting_approval'])).body;
    expect(job).toMatchObject({
      id,
      object: 'fine_tuning.job',
      model: 'mlp',
      // Waiting for a sign-off is OpenAI's running: the job has not ended.
      status: 'running',
      fine_tuned_model: null,
      finished_at: null,
      error: null,
      ratchet: {
        status: 'awaiting_approval',
        stage: 'awaiting_approval',
        model: 'iris',
        submitter: 'sam',
        decision: null,
      },
    });
    expect(job.ratchet.transitions.map((t: { state: string }) => t.state)).toEqual([
      'validating',
      'training',
      'evaluating',
      'gating',
      'awaiting_approval',
    ]);
    expect(job.ratchet.metrics).toEqual(expect.any(Object));
    expect(job.ratchet.gate).toMatchObject({ passed: true });
    expect(Date.parse(job.ratchet.approval_deadline)).toBeGreaterThan(Date.now());
    await expectServedAsQueried(id);
  });

  it('lists the checkpoints training stored', async () => {
    const reply = await call(api, 'GET', `/v1/fine_tuning/jobs/${id}/checkpoints`, { key: keys.viewer });
    // Every 20 steps of the 150, newest first, each complete one once.
    expect(reply.body.data.map((c: { step_number: number }) => c.step_number)).toEqual(
      Array.from({ length: 7 }, (_, i) => 20 * (7 - i)),
    );
    expect(reply.body.data[0]).toMatchObject({
      object: 'fine_tuning.job.checkpoint',
      fine_tuning_job_id: id,
      fine_tuned_model_checkpoint: `${id}:step-140`,
      metrics: { step: 140, train_loss: expect.any(Number) },
    });
    expect(reply.body).toMatchObject({ has_more: false, first_id: reply.body.data[0].id });
  });

  it('refuses a sign-off by the submitter (403, even holding approver), a viewer (403) and another tenant (404)', async () => {
    const own = await call(api, 'POST', `/v1/fine_tuning/jobs/${id}/approve`, {
      key: keys.samApproving,
      json: { reason: 'mine' },
    });
    expect(own.status).toBe(403);
    expect(own.body.error).toMatchObject({
      type: 'permission_error',
      message: expect.stringMatching(/separation of duties/),
    });
    expect(
      (await call(api, 'POST', `/v1/fine_tuning/jobs/${id}/approve`, { key: keys.viewer, json: { reason: 'x' } }))
        .status,
    ).toBe(403);
    expect(
      (await call(api, 'POST', `/v1/fine_tuning/jobs/${id}/approve`, { key: keys.other, json: { reason: 'x' } }))
        .status,
    ).toBe(404);
    const noReason = await call(api, 'POST', `/v1/fine_tuning/jobs/${id}/approve`, {
      key: keys.ada,
      json: { reason: ' ' },
    });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.param).toBe('reason');
    expect(noReason.body.error.errors[0].path).toBe('body.reason');
  });

  it('streams live, woken by the workflow and not a timer: a job waiting for approval costs no ledger reads', async () => {
    live = liveEvents(`/v1/fine_tuning/jobs/${id}/events/stream`, keys.viewer);
    await live.until(messageOf('gate.passed'));
    const reads = vi.spyOn(Ledger.prototype, 'list');
    try {
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      // Polling every 500 ms would have read the ledger about 8 times.
      expect(reads.mock.calls.filter(([, filter]) => filter?.subject === id).length).toBeLessThanOrEqual(1);
    } finally {
      reads.mockRestore();
    }
    expect(live.received.filter((e) => e.event === 'end')).toEqual([]);
  });

  it('an approver approves; the job deploys; the stream delivered every entry in order, then ended', async () => {
    const approvedAt = Date.now();
    const approved = await call(api, 'POST', `/v1/fine_tuning/jobs/${id}/approve`, {
      key: keys.ada,
      json: { reason: 'meets the policy' },
    });
    expect(approved.status).toBe(200);
    expect(approved.body.ratchet.decision).toMatchObject({ action: 'approve', by: 'ada', reason: 'meets the policy' });
    // The approval's entry reaches the live stream as soon as the workflow has appended it.
    const arrived = await live.until(messageOf('job.approved'), 5_000);
    expect(arrived.at - approvedAt).toBeLessThan(3_000);
    await live.close();
    const done = (await untilEnded(id, ['deployed'])).body;
    expect(done).toMatchObject({ status: 'succeeded', fine_tuned_model: 'iris:1', error: null });
    expect(done.ratchet.deployed).toMatchObject({ version: 1 });
    expect(done.finished_at).not.toBeNull();
    await expectServedAsQueried(id);
    deployedId = id;

    const streamed = await events;
    expect(streamed.at(-1)?.event).toBe('end');
    // Every event is a fine_tuning.job.event (SSE's default type), oldest first.
    const sent = streamed.filter((e) => e.event === undefined);
    const objects = sent.map((e) => JSON.parse(e.data));
    for (const event of objects) expect(event.object).toBe('fine_tuning.job.event');
    const messages = sent.filter((e) => JSON.parse(e.data).type === 'message');
    expect(messages.map((e) => JSON.parse(e.data).message.split(' by ')[0])).toEqual(DEPLOYED_JOB_ACTIONS);
    // A message event's SSE id is its entry's seq; its metrics events carry none.
    const seqs = messages.map((e) => Number(e.id));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(messages.map((e) => JSON.parse(e.data).id)).toEqual(seqs.map((seq) => `ftevent-${seq}`));
    expect(sent.filter((e) => e.id === undefined).map((e) => JSON.parse(e.data).type)).toEqual(
      objects.filter((e) => e.type === 'metrics').map(() => 'metrics'),
    );
    // The listed events are the same events, newest first: a metrics event per training step before model.trained.
    const listed = await call(api, 'GET', `/v1/fine_tuning/jobs/${id}/events?limit=1000`, { key: keys.viewer });
    expect(listed.body.data).toEqual([...objects].reverse());
    const metrics = listed.body.data.filter((e: { type: string }) => e.type === 'metrics');
    const steps = metrics.map((e: { data: { step: number } }) => e.data.step);
    expect(steps.length).toBeGreaterThan(1);
    expect(steps[0]).toBe(150);
    expect(steps).toEqual([...steps].sort((a, b) => b - a));
    expect(listed.body.has_more).toBe(false);
    const trained = objects.findIndex((e) => e.message.startsWith('model.trained by '));
    expect(objects.slice(trained - steps.length, trained).every((e) => e.type === 'metrics')).toBe(true);

    const resumed = await readEvents(`/v1/fine_tuning/jobs/${id}/events/stream`, keys.viewer);
    expect(resumed.filter((e) => e.event === undefined)).toEqual(sent);
    const after = await fetch(`${api.url}/v1/fine_tuning/jobs/${id}/events/stream`, {
      headers: { authorization: `Bearer ${keys.viewer}`, 'last-event-id': String(seqs[4]) },
    });
    expect((await after.text()).match(/^data: \{"id":"ftevent-/gm)).toHaveLength(2);

    const model = await call(api, 'GET', '/v1/models/iris/aliases', { key: keys.viewer });
    expect(model.body.production).toMatchObject({ version: 1, by: 'ada' });
  });

  it('a decided job cannot be decided again (409)', async () => {
    const again = await call(api, 'POST', `/v1/fine_tuning/jobs/${id}/reject`, {
      key: keys.ada,
      json: { reason: 'late' },
    });
    expect(again.status).toBe(409);
  });
});

describe('a second job on the model, judged against production row by row', () => {
  it('carries churn, bootstrap intervals, McNemar, slices and robustness through the API; broken rows stop it', async () => {
    // Five steps of training: a candidate far worse than production (version 1, right on every eval row), so the
    // rows it gets wrong are rows it broke.
    const undertrained = { ...training, config: { ...training.config, maxSteps: 5 } };
    const policy = { maxBrokenShare: 0.05, regressionAlpha: 0.05, approvalTimeout: '10m' };
    const id = await createJob(jobBody('iris', { training: undertrained, policy }));
    const job = (await untilState(id, ['gate_failed', 'awaiting_approval'])).body;
    expect(job.ratchet.status).toBe('gate_failed');
    const { evaluation, gate } = job.ratchet;
    expect(evaluation.production).toMatchObject({ version: 1, evaluation: { metrics: { accuracy: 1 } } });
    const { churn, uncertainty, slices } = evaluation.comparison;
    expect(churn.rows).toBe(30);
    expect(churn.broken).toBeGreaterThan(0);
    expect(churn).toMatchObject({ fixed: 0, broken_share: churn.broken / 30, changed: churn.broken });
    expect(churn.examples.broken.length).toBe(Math.min(5, churn.broken));
    const accuracy = evaluation.candidate.metrics.accuracy;
    expect(accuracy).toBeCloseTo(1 - churn.broken_share, 12);
    const { difference } = uncertainty.bootstrap.accuracy;
    expect(uncertainty.bootstrap).toMatchObject({ resamples: 1000, confidence: 0.95, seed: 0 });
    expect(difference.estimate).toBeCloseTo(accuracy - 1, 12);
    expect(difference.low).toBeLessThanOrEqual(difference.estimate);
    expect(difference.high).toBeLessThanOrEqual(0);
    expect(uncertainty.mcnemar).toMatchObject({ fixed: 0, broken: churn.broken });
    expect(slices.map((s: { name: string }) => s.name).sort()).toEqual(['setosa', 'versicolor', 'virginica']);
    // Tabular robustness for both models, by perturbation.
    for (const model of [evaluation.candidate, evaluation.production.evaluation]) {
      expect(Object.keys(model.robustness)).toEqual([
        'gaussian_noise_0.1sd',
        'gaussian_noise_0.5sd',
        'feature_at_mean',
      ]);
    }
    expect(gate.rules.find((r: { rule: string }) => r.rule === 'max_broken_share')).toMatchObject({
      passed: churn.broken_share <= 0.05,
      actual: churn.broken_share,
    });
    expect(gate.passed).toBe(false);
    await untilEnded(id, ['gate_failed']);
    await expectServedAsQueried(id);
  });
});

describe('other endings', () => {
  it('reject: the job ends rejected with the reason', async () => {
    const id = await createJob(jobBody('iris-rejected'));
    await untilState(id, ['awaiting_approval']);
    const rejected = await call(api, 'POST', `/v1/fine_tuning/jobs/${id}/reject`, {
      key: keys.ada,
      json: { reason: 'not this one' },
    });
    expect(rejected.status).toBe(200);
    // The response reads the caller's own write.
    expect(rejected.body.ratchet.decision).toMatchObject({ action: 'reject', by: 'ada' });
    const job = (await untilEnded(id, ['rejected'])).body;
    expect(job).toMatchObject({
      status: 'failed',
      error: { code: 'rejected', message: 'rejected by ada: not this one' },
      ratchet: { stage: 'awaiting_approval', decision: { action: 'reject', by: 'ada', reason: 'not this one' } },
    });
    await expectServedAsQueried(id);
  });

  it('a dataset that fails validation: error with the validation report', async () => {
    const id = await createJob(jobBody('iris-broken', { training_file: files.broken }));
    const job = (await untilEnded(id, ['dataset_rejected'])).body;
    expect(job.status).toBe('failed');
    expect(job.ratchet.stage).toBe('validating');
    expect(job.error).toEqual({
      code: 'invalid_training_file',
      message: 'the dataset failed validation (ratchet.report)',
      param: 'training_file',
    });
    expect(JSON.stringify(job.ratchet.report)).toMatch(/parse_error/);
    await expectServedAsQueried(id);
  });

  it('cancel: a training job stops and ends cancelled; cancelling again is a 409', async () => {
    const long = { ...training, config: { ...training.config, maxSteps: 1_000_000, checkpointEvery: 1_000_000 } };
    const id = await createJob(jobBody('iris-cancel', { training: long }));
    const running = await until(
      () => getJob(id),
      (r) => r.body.ratchet.status === 'training' && r.body.ratchet.progress !== null,
    );
    expect(running.body.status).toBe('running');
    expect(running.body.ratchet.progress).toMatchObject({
      step: expect.any(Number),
      total_steps: expect.any(Number),
      loss: expect.any(Number),
    });
    expect((await call(api, 'POST', `/v1/fine_tuning/jobs/${id}/cancel`, { key: keys.other })).status).toBe(404);
    const cancelled = await call(api, 'POST', `/v1/fine_tuning/jobs/${id}/cancel`, { key: keys.sam });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.id).toBe(id);
    const job = (await untilEnded(id, ['cancelled'])).body;
    expect(job.status).toBe('cancelled');
    expect(job.ratchet.stage).toBe('training');
    await expectServedAsQueried(id);
    expect((await call(api, 'POST', `/v1/fine_tuning/jobs/${id}/cancel`, { key: keys.sam })).status).toBe(409);
  });
});

describe('listing and validation', () => {
  it('filters by status, model and submitter, pages with after and has_more, and shows no other tenant', async () => {
    const list = (query: string, key = keys.viewer) => call(api, 'GET', `/v1/fine_tuning/jobs?${query}`, { key });
    const deployed = await until(
      () => list('status=deployed'),
      (r) => r.body.data.length === 1,
    );
    expect(deployed.body.data[0]).toMatchObject({
      status: 'succeeded',
      ratchet: { model: 'iris', status: 'deployed', submitter: 'sam' },
    });
    const byModel = await until(
      () => list('model=iris-rejected'),
      (r) => r.body.data.length === 1,
    );
    expect(byModel.body.data[0].ratchet.status).toBe('rejected');
    expect((await list('submitter=nobody')).body.data).toEqual([]);

    const all = await until(
      () => list('limit=100'),
      (r) => r.body.data.length === 5,
    );
    expect(all.body.has_more).toBe(false);
    const seen: string[] = [];
    let after: string | null = null;
    let more = true;
    while (more) {
      const page: Reply = await list(`limit=3${after ? `&after=${after}` : ''}`);
      expect(page.body.data.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.data.map((j: { id: string }) => j.id));
      after = page.body.last_id;
      more = page.body.has_more;
    }
    expect(seen).toEqual(all.body.data.map((j: { id: string }) => j.id));
    expect((await list('limit=100', keys.other)).body.data).toEqual([]);
    expect((await list('status=bogus')).status).toBe(400);
    // An `after` that names no job (forged, or another tenant's) is an empty last page, never the first page again
    // (a client paging on would loop), and is answered quickly (the fuzz test once found a slow refusal).
    for (const forged of ['AAAA', '1e309', all.body.data[0].id.replace(tenant, 'someone-else')]) {
      const started = Date.now();
      expect((await list(`after=${forged}`)).body).toEqual({
        object: 'list',
        data: [],
        first_id: null,
        last_id: null,
        has_more: false,
      });
      expect(Date.now() - started).toBeLessThan(8_000);
    }
  });

  it('another tenant gets 404 for every route of a job', async () => {
    const id = (await call(api, 'GET', '/v1/fine_tuning/jobs?limit=1', { key: keys.viewer })).body.data[0].id;
    for (const path of ['', '/events', '/events/stream', '/checkpoints']) {
      expect((await call(api, 'GET', `/v1/fine_tuning/jobs/${id}${path}`, { key: keys.other })).status, path).toBe(404);
    }
    expect(
      (await call(api, 'POST', `/v1/fine_tuning/jobs/${id}/reject`, { key: keys.other, json: { reason: 'x' } })).status,
    ).toBe(404);
  });

  it('400 names the invalid fields of a create request, unknown files included', async () => {
    const bad = jobBody('Iris!', {
      model: 'MLP!',
      training: { ...training, config: { ...training.config, lr: -1 } },
      policy: {},
      training_file: 'file-nope',
    });
    const reply = await call(api, 'POST', '/v1/fine_tuning/jobs', { key: keys.sam, json: bad });
    expect(reply.status).toBe(400);
    expect(reply.body.error.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'body.model',
      'body.policy.approvalTimeout',
      'body.suffix',
      'body.training.config.lr',
    ]);
    const unknown = await call(api, 'POST', '/v1/fine_tuning/jobs', {
      key: keys.sam,
      json: jobBody('iris', { training_file: 'file-nope' }),
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ type: 'invalid_request_error', param: 'training_file' });
    expect(unknown.body.error.errors).toEqual([{ path: 'body.training_file', message: 'no file file-nope' }]);
    // A tabular teacher (mlp) distills into an MLP student, not a fastText one.
    const mismatched = await call(api, 'POST', '/v1/fine_tuning/jobs', {
      key: keys.sam,
      json: jobBody('iris', { distillation: { student: { fasttext: {} } } }),
    });
    expect(mismatched.status).toBe(400);
    expect(mismatched.body.error.param).toBe('distillation.student');
    // An AdamW β of 1 would never forget: refused at the edge, naming it.
    const beta = await call(api, 'POST', '/v1/fine_tuning/jobs', {
      key: keys.sam,
      json: jobBody('iris', {
        training: { ...training, config: { ...training.config, optimizer: { kind: 'adamw', beta2: 1 } } },
      }),
    });
    expect(beta.status).toBe(400);
    expect(beta.body.error.errors).toEqual([
      { path: 'body.training.config.optimizer.beta2', message: 'must be in [0, 1), got 1' },
    ]);
    expect((await call(api, 'POST', '/v1/fine_tuning/jobs', { key: keys.viewer, json: jobBody('iris') })).status).toBe(
      403,
    );
  });
});

describe('schedules', () => {
  it('create, list, pause, unpause, trigger (a job on the newest dataset version), delete', async () => {
    const published = await call(api, 'POST', '/v1/datasets/iris/versions', {
      key: keys.sam,
      json: { version: '2026-11-28', training_file: files.train, validation_file: files.eval },
    });
    expect(published.status).toBe(201);
    const body = {
      ...jobBody('iris-nightly'),
      // A schedule's model is the registry model each run's candidate becomes a version of.
      model: 'iris-nightly',
      name: 'nightly',
      every: '24h',
      paused: true,
      dataset: 'iris',
      licence: 'CC-BY-4.0',
      source: 'test',
    };
    delete (body as Record<string, unknown>).suffix;
    delete (body as Record<string, unknown>).training_file;
    delete (body as Record<string, unknown>).validation_file;
    expect((await call(api, 'POST', '/v1/schedules', { key: keys.sam, json: body })).status).toBe(201);
    expect((await call(api, 'POST', '/v1/schedules', { key: keys.sam, json: body })).status).toBe(409);
    // A firing while the previous run still trains or awaits sign-off is skipped, never run beside it.
    const created = await (await temporalClient()).schedule.getHandle(`${tenant}--nightly`).describe();
    expect(created.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);

    const listed = async (key = keys.viewer) => (await call(api, 'GET', '/v1/schedules', { key })).body.data;
    expect(await listed()).toEqual([
      expect.objectContaining({ name: 'nightly', paused: true, when: { every: '24h' } }),
    ]);
    expect(await listed(keys.other)).toEqual([]);
    expect((await call(api, 'POST', '/v1/schedules/nightly/unpause', { key: keys.sam, json: {} })).status).toBe(202);
    expect((await listed())[0].paused).toBe(false);
    expect(
      (await call(api, 'POST', '/v1/schedules/nightly/pause', { key: keys.sam, json: { note: 'holiday' } })).status,
    ).toBe(202);
    expect((await listed())[0].paused).toBe(true);
    expect((await call(api, 'POST', '/v1/schedules/nightly/trigger', { key: keys.other })).status).toBe(404);

    expect((await call(api, 'POST', '/v1/schedules/nightly/trigger', { key: keys.sam })).status).toBe(202);
    const jobId = `${tenant}--nightly-2026-11-28`;
    const job = await until(
      () => getJob(jobId),
      (r) => r.status === 200 && r.body.ratchet.status !== 'validating',
    );
    expect(job.body).toMatchObject({
      model: 'mlp',
      training_file: 'dataset:iris@2026-11-28',
      metadata: null,
      ratchet: { model: 'iris-nightly' },
    });
    await call(api, 'POST', `/v1/fine_tuning/jobs/${jobId}/cancel`, { key: keys.sam });

    expect((await call(api, 'DELETE', '/v1/schedules/nightly', { key: keys.other })).status).toBe(404);
    expect((await call(api, 'DELETE', '/v1/schedules/nightly', { key: keys.sam })).status).toBe(200);
    expect((await call(api, 'DELETE', '/v1/schedules/nightly', { key: keys.sam })).status).toBe(404);
    await untilState(jobId, ['cancelled', 'gate_failed', 'awaiting_approval']);
  });

  it('400 for a schedule with both or neither of cron and every, or a cron the server cannot parse', async () => {
    const base = {
      name: 'bad',
      model: 'm',
      dataset: 'iris',
      licence: 'MIT',
      source: 's',
      training,
      policy: { approvalTimeout: '1h' },
      intended_use: 'x',
    };
    const neither = await call(api, 'POST', '/v1/schedules', { key: keys.sam, json: base });
    expect(neither.status).toBe(400);
    expect(neither.body.error.errors[0].path).toBe('body.cron');
    const unparsable = await call(api, 'POST', '/v1/schedules', {
      key: keys.sam,
      json: { ...base, cron: 'every full moon' },
    });
    expect(unparsable.status).toBe(400);
    expect(unparsable.body.error.errors[0].path).toBe('body.cron');
  });
});

describe('with the worker gone', () => {
  // A status query needs a worker, also for a closed job (it replays the history); a describe needs the server only.
  it('a job reads from Temporal alone, at once: a deployed one, and a new one as queued', async () => {
    stopWorker();
    await worker;
    const started = Date.now();
    const deployed = await getJob(deployedId);
    expect(deployed.status).toBe(200);
    expect(deployed.body).toMatchObject({ status: 'succeeded', ratchet: { status: 'deployed' } });
    const id = await createJob(jobBody('iris-queued'));
    const queued = await getJob(id);
    expect(queued.status).toBe(200);
    expect(queued.body).toMatchObject({ status: 'queued', ratchet: { status: 'validating', transitions: [] } });
    // A query would have waited 5 s (QUERY_TIMEOUT_MS) for a worker, then answered 503.
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
