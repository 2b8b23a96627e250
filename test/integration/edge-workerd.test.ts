// The edge entry (api/edge.ts) in a real edge runtime: bundled by esbuild and served by workerd (infra/workerd.ts),
// its bindings the test stack's Temporal HTTP API and S3 server. Every request below goes through workerd's HTTP
// port; from inside workerd the app reaches Temporal and S3 with fetch alone. The jobs it starts go to the
// prefixed task queues (RATCHET_QUEUE_PREFIX) where the production workers (infra/worker.ts) run `fineTuneJob`.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tail } from '../../infra/process.ts';
import { startEdge, type EdgeServer } from '../../infra/workerd.ts';
import { BOOTSTRAP_ADMIN_KEY, call, edgeEnv, readEventStream } from './api-harness.ts';
import { irisJobBody, irisTenant, untilStatus, type IrisStack } from './iris-job.ts';
import { DEPLOYED_JOB_ACTIONS, queuesFor, startJobWorkers } from './job-harness.ts';

const queues = queuesFor('edge-workerd');
const stack = {} as IrisStack;
let edge: EdgeServer | undefined;
let workers: { stop: () => Promise<void> } | undefined;

beforeAll(async () => {
  edge = await startEdge({ bindings: { ...edgeEnv(), RATCHET_QUEUE_PREFIX: queues.prefix } });
  workers = await startJobWorkers(queues.prefix);
  stack.api = { url: edge.url, close: edge.stop, admin: BOOTSTRAP_ADMIN_KEY };
  try {
    Object.assign(stack, await irisTenant(stack.api, 'edge-workerd'));
  } catch (error) {
    console.error(`workerd log:\n${tail(edge.process.logFile, 40)}`);
    throw error;
  }
});

// What the worker logged (console.error of a failed route, workerd's own errors), while it is still on disk.
afterEach(({ task }) => {
  if (edge && task.result?.state === 'fail') console.error(`workerd log:\n${tail(edge.process.logFile, 40)}`);
});

afterAll(async () => {
  await workers?.stop();
  await edge?.stop();
});

describe('edge entry in workerd', () => {
  it('is ready: Temporal and S3 answer from inside workerd', async () => {
    expect((await call(stack.api, 'GET', '/healthz')).status).toBe(200);
    const ready = await call(stack.api, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ temporal: 'ok', s3: 'ok' });
  });

  it('stores uploads in S3 and lists them to the tenant', async () => {
    const listed = await call(stack.api, 'GET', '/v1/files', { key: stack.keys.viewer });
    expect(listed.status).toBe(200);
    const ids = listed.body.data.map((file: { id: string }) => file.id);
    expect(ids).toEqual(expect.arrayContaining([stack.files.train, stack.files.eval]));
    const content = await call(stack.api, 'GET', `/v1/files/${stack.files.eval}/content`, { key: stack.keys.viewer });
    expect(content.status).toBe(200);
    expect(content.text.trimEnd().split('\n')).toHaveLength(30);
  });

  it('creates a job, reads it, lists it, streams its events; it is trained, approved and deployed', async () => {
    const created = await call(stack.api, 'POST', '/v1/fine_tuning/jobs', {
      key: stack.keys.submitter,
      json: irisJobBody(stack, 'iris-edge'),
      headers: { 'Idempotency-Key': `workerd-${stack.tenant}` },
    });
    expect(created.status).toBe(201);
    const id: string = created.body.id;
    expect(id.startsWith(`${stack.tenant}--job-`)).toBe(true);
    expect(created.body).toMatchObject({ object: 'fine_tuning.job', model: 'mlp', training_file: stack.files.train });

    const read = await call(stack.api, 'GET', `/v1/fine_tuning/jobs/${id}`, { key: stack.keys.viewer });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id, ratchet: { model: 'iris-edge', submitter: 'sam' } });

    const waiting = (await untilStatus(stack, id, ['awaiting_approval'])).body;
    expect(waiting).toMatchObject({ id, status: 'running', finished_at: null, ratchet: { decision: null } });
    expect(waiting.ratchet.metrics).not.toBeNull();
    expect(waiting.ratchet.transitions.map((t: { state: string }) => t.state)).toEqual(
      expect.arrayContaining(['validating', 'training', 'evaluating', 'awaiting_approval']),
    );

    const listed = await call(stack.api, 'GET', '/v1/fine_tuning/jobs?status=awaiting_approval', {
      key: stack.keys.viewer,
    });
    expect(listed.status).toBe(200);
    expect(listed.body.data).toEqual([
      expect.objectContaining({ id, ratchet: expect.objectContaining({ model: 'iris-edge' }) }),
    ]);

    // Server-sent events through workerd: opened before the approval, read to the end the closed job gives it.
    const streamed = fetch(`${stack.api.url}/v1/fine_tuning/jobs/${id}/events/stream`, {
      headers: { authorization: `Bearer ${stack.keys.viewer}` },
    }).then((response) => response.text());

    const approved = await call(stack.api, 'POST', `/v1/fine_tuning/jobs/${id}/approve`, {
      key: stack.keys.approver,
      json: { reason: 'meets the policy' },
    });
    expect(approved.status).toBe(200);
    expect(approved.body.ratchet.decision).toMatchObject({ action: 'approve', by: 'ada' });

    const deployed = (await untilStatus(stack, id, ['deployed'])).body;
    expect(deployed.ratchet.deployed).toMatchObject({ version: 1 });
    const { messages, ended } = readEventStream(await streamed);
    expect(messages).toEqual(DEPLOYED_JOB_ACTIONS);
    expect(ended).toBe(true);

    expect(deployed.fine_tuned_model).toBe('iris-edge:1');
    const model = await call(stack.api, 'GET', '/v1/models/iris-edge:1', { key: stack.keys.viewer });
    expect(model.status).toBe(200);
    expect(model.body).toMatchObject({ id: 'iris-edge:1' });
    const card = await call(stack.api, 'GET', '/v1/models/iris-edge/versions/1/card', { key: stack.keys.viewer });
    expect(card.status).toBe(200);
    expect(card.text).toContain('iris-edge');
  });
});
