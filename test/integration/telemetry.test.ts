// Traces and metrics of one real job: the API (with request spans and the Temporal client's tracing interceptor)
// and the production workers (with the workflow and activity interceptors) export to a local OTLP receiver; the
// job must arrive as one trace from the API request through the workflow to every stage's activity. /metrics must
// count the job by state while it waits and after it deployed, and show the stages the workers timed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.ts';
import { startApiServer } from '../../api/server.ts';
import { httpTemporal } from '../../api/temporal/http.ts';
import { startApiTracing, startWorkerTracing, type ApiTracing, type WorkerTracing } from '../../infra/tracing.ts';
import { startMetricsServer } from '../../infra/metrics-server.ts';
import { startOtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.ts';
import { s3Client, stack as testStack } from '../helpers/stack.ts';
import { BOOTSTRAP_ADMIN_KEY, call, startApi } from './api-harness.ts';
import { irisJobBody, irisTenant, jobAwaitingApproval, untilStatus, type IrisStack } from './iris-job.ts';
import { DEPLOYED_JOB_ACTIONS, queuesFor, startJobWorkers, training, uniqueModel } from './job-harness.ts';

const queues = queuesFor('telemetry');
const stack = {} as IrisStack;
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let tracing: { api: ApiTracing; worker: WorkerTracing };
let workers: { stop: () => Promise<void> };

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  tracing = { api: await startApiTracing(receiver.url), worker: await startWorkerTracing(receiver.url) };
  workers = await startJobWorkers(queues.prefix, ['cpu', 'gpu'], tracing.worker);
  stack.api = await startApi({ taskQueues: { jobs: queues.cpu, training: queues.gpu } }, tracing.api);
  Object.assign(stack, await irisTenant(stack.api, 'telemetry'));
});

afterAll(async () => {
  await workers?.stop();
  await tracing?.api.shutdown();
  await tracing?.worker.shutdown();
  await receiver?.close();
});

/** The value of the sample `name{labels}` in a Prometheus exposition, undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = match[2] ? match[2].split(',') : [];
    if (wanted.every((label) => have.includes(label)) && have.length === wanted.length) return Number(match[3]);
  }
  return undefined;
}

/** /metrics until `ready` holds of it (visibility counts lag the workflow by a moment, and are cached 5 s). */
async function metricsUntil(ready: (text: string) => boolean, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await call(stack.api, 'GET', '/metrics');
    expect(reply.status).toBe(200);
    if (ready(reply.text) || Date.now() > deadline) return reply.text;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The spans received once `complete` holds of them (spans leave in batches: each try flushes both providers). */
async function spansUntil(complete: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    await tracing.api.flush();
    await tracing.worker.flush();
    if (complete(receiver.spans) || Date.now() > deadline) return receiver.spans;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The spans of the trace that holds the span named `root`, once `complete` holds of them. */
async function traceOf(root: string, complete: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> {
  const trace = (all: ReceivedSpan[]) => {
    const start = all.filter((s) => s.name === root);
    expect(start.length).toBeLessThanOrEqual(1);
    return start.length ? all.filter((s) => s.traceId === start[0].traceId) : [];
  };
  return trace(await spansUntil((all) => complete(trace(all))));
}

const CREATE_SPAN = 'POST /v1/fine_tuning/jobs';

const STAGE_ACTIVITIES = ['validateDataset', 'train', 'evaluate', 'gateCandidate', 'deploy'];

describe('telemetry of one job', () => {
  it('is one trace from the API request through the workflow to each stage, and shows on /metrics', async () => {
    const id = await jobAwaitingApproval(stack, uniqueModel('telemetry'));

    const waiting = await metricsUntil(
      (text) => (sample(text, 'ratchet_jobs', { state: 'awaiting_approval' }) ?? 0) >= 1,
    );
    expect(sample(waiting, 'ratchet_jobs', { state: 'awaiting_approval' })).toBeGreaterThanOrEqual(1);
    for (const type of ['workflow', 'activity'])
      expect(sample(waiting, 'ratchet_task_queue_backlog', { task_queue: queues.gpu, type })).toBeGreaterThanOrEqual(0);

    const approved = await call(stack.api, 'POST', `/v1/fine_tuning/jobs/${id}/approve`, {
      key: stack.keys.approver,
      json: { reason: 'telemetry test' },
    });
    expect(approved.status, approved.text).toBe(200);
    await untilStatus(stack, id, ['deployed']);

    const request = CREATE_SPAN;
    const spans = await traceOf(request, (found) =>
      ['RunWorkflow:fineTuneJob', ...STAGE_ACTIVITIES.map((a) => `RunActivity:${a}`)].every((name) =>
        found.some((s) => s.name === name),
      ),
    );
    const one = (name: string) => {
      const named = spans.filter((s) => s.name === name);
      expect(
        named.map((s) => s.name),
        `spans of the trace: ${spans.map((s) => s.name)}`,
      ).toEqual([name]);
      return named[0];
    };
    const root = one(request);
    expect(root).toMatchObject({ service: 'ratchet-api', parentSpanId: '' });
    const start = one('StartWorkflow:fineTuneJob');
    expect(start).toMatchObject({ service: 'ratchet-api', parentSpanId: root.spanId });
    const workflow = one('RunWorkflow:fineTuneJob');
    expect(workflow).toMatchObject({ service: 'ratchet-worker', parentSpanId: start.spanId });
    for (const activity of STAGE_ACTIVITIES) {
      // Scheduled once by the workflow (its StartActivity span), run by a worker: once, or again after a retry.
      const scheduled = one(`StartActivity:${activity}`);
      expect(scheduled).toMatchObject({ service: 'ratchet-worker', parentSpanId: workflow.spanId });
      const attempts = spans.filter((s) => s.name === `RunActivity:${activity}`);
      expect(attempts.length, activity).toBeGreaterThanOrEqual(1);
      for (const attempt of attempts)
        expect(attempt).toMatchObject({ service: 'ratchet-worker', parentSpanId: scheduled.spanId });
    }

    const after = await metricsUntil((text) => (sample(text, 'ratchet_jobs', { state: 'deployed' }) ?? 0) >= 1);
    expect(sample(after, 'ratchet_jobs', { state: 'deployed' })).toBeGreaterThanOrEqual(1);
    for (const stage of ['validate', 'train', 'evaluate', 'gate', 'deploy'])
      expect(
        sample(after, 'ratchet_stage_duration_seconds_count', { stage, outcome: 'completed' }),
        stage,
      ).toBeGreaterThanOrEqual(1);
    const trainSeconds = sample(after, 'ratchet_stage_duration_seconds_sum', { stage: 'train', outcome: 'completed' });
    expect(trainSeconds).toBeGreaterThan(0);
    expect(sample(after, 'ratchet_training_steps_total')).toBeGreaterThanOrEqual(training.config.maxSteps!);
    // 150 steps took at most the whole training stage, so at least 150 / its seconds per second.
    expect(sample(after, 'ratchet_training_steps_per_second')).toBeGreaterThanOrEqual(
      (training.config.maxSteps! / trainSeconds!) * 0.99,
    );
    expect(sample(after, 'ratchet_ledger_append_duration_seconds_count')).toBeGreaterThanOrEqual(
      DEPLOYED_JOB_ACTIONS.length,
    );

    // A worker's own port serves the same pipeline figures (this process's), and nothing else.
    const server = await startMetricsServer(0, '127.0.0.1');
    try {
      const own = await (await fetch(`${server.url}/metrics`)).text();
      expect(sample(own, 'ratchet_stage_duration_seconds_count', { stage: 'train', outcome: 'completed' })).toBe(
        sample(after, 'ratchet_stage_duration_seconds_count', { stage: 'train', outcome: 'completed' }),
      );
      expect(own).not.toMatch(/ratchet_http_requests_total|ratchet_jobs/);
      expect((await fetch(`${server.url}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it("continues the request's trace when the job starts over Temporal's HTTP API (the edge's transport)", async () => {
    const { temporalHttpPort, namespace, bucket } = testStack();
    const taskQueues = { jobs: queues.cpu, training: queues.gpu };
    const app = createApp({
      temporal: httpTemporal({ url: `http://127.0.0.1:${temporalHttpPort}`, namespace }, taskQueues),
      s3: s3Client(),
      bucket,
      options: { bootstrapAdminKey: BOOTSTRAP_ADMIN_KEY, taskQueues },
      tracer: tracing.api.tracer,
    });
    const server = await startApiServer(app, 0);
    const earlier = new Set(receiver.spans.map((s) => s.spanId));
    try {
      const created = await call(server, 'POST', '/v1/fine_tuning/jobs', {
        key: stack.keys.submitter,
        json: irisJobBody(stack, uniqueModel('telemetry-http')),
      });
      expect(created.status, created.text).toBe(201);
      await untilStatus(stack, created.body.id, ['awaiting_approval']);
      const cancelled = await call(stack.api, 'POST', `/v1/fine_tuning/jobs/${created.body.id}/cancel`, {
        key: stack.keys.submitter,
      });
      expect(cancelled.status, cancelled.text).toBe(200);
    } finally {
      await server.close();
    }
    // No client interceptor on this transport: the workflow's span is the request span's child directly.
    const isRequest = (s: ReceivedSpan) => s.name === CREATE_SPAN && !earlier.has(s.spanId);
    const childOf = (all: ReceivedSpan[]) => {
      const request = all.find(isRequest);
      return all.find((s) => s.name === 'RunWorkflow:fineTuneJob' && request && s.parentSpanId === request.spanId);
    };
    const spans = await spansUntil((all) => childOf(all) !== undefined);
    const workflow = childOf(spans);
    expect(workflow, `new spans: ${spans.filter((s) => !earlier.has(s.spanId)).map((s) => s.name)}`).toBeDefined();
    expect(workflow!.traceId).toBe(spans.find(isRequest)!.traceId);
    expect(spans.filter((s) => s.traceId === workflow!.traceId).map((s) => s.name)).toContain(
      'RunActivity:validateDataset',
    );
  });
});
