// Webhooks over real HTTP with the real `fineTuneJob`: an admin registers a receiver (on 127.0.0.1, so with
// allow_private), a job runs to awaiting approval and to deployed, and the receiver verifies every event with the
// reference Standard Webhooks library, across a secret rotation. URLs to loopback and the cloud metadata address
// are refused without allow_private, and only an admin manages endpoints.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../core/ledger/ledger.ts';
import { ObjectStore } from '../../core/object-store.ts';
import { s3Client, stack } from '../helpers/stack.ts';
import { call } from './api-harness.ts';
import { jobAwaitingApproval, untilStatus, useIrisStack } from './iris-job.ts';

const iris = useIrisStack('webhooks');

type Received = { headers: IncomingHttpHeaders; body: string };

/** A local receiver that records each request; it answers `failFirst` requests 503, the rest 204. */
async function receiver(failFirst = 0) {
  const received: Received[] = [];
  let requests = 0;
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      requests += 1;
      if (requests <= failFirst) return void response.writeHead(503).end();
      received.push({ headers: request.headers, body });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/ratchet?token=abc`, received, server, attempts: () => requests };
}

let hooks: Awaited<ReturnType<typeof receiver>>;
let failedOnly: Awaited<ReturnType<typeof receiver>>;
beforeAll(async () => {
  hooks = await receiver(1);
  failedOnly = await receiver();
});
afterAll(() => {
  hooks.server.close();
  failedOnly.server.close();
});

const headersOf = ({ headers }: Received) => ({
  'webhook-id': String(headers['webhook-id']),
  'webhook-timestamp': String(headers['webhook-timestamp']),
  'webhook-signature': String(headers['webhook-signature']),
});

async function untilReceived(type: string, timeoutMs = 60_000): Promise<Received> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = hooks.received.find((r) => JSON.parse(r.body).type === type);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${type}; received ${hooks.received.map((r) => r.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('webhook endpoints', () => {
  const create = (json: unknown, key = iris.keys.admin) => call(iris.api, 'POST', '/v1/webhooks', { key, json });

  it('refuse loopback and the metadata service without allow_private, with a clear error', async () => {
    const loopback = await create({ url: 'http://127.0.0.1:8080/hook' });
    expect(loopback.status).toBe(400);
    expect(loopback.body.error).toMatchObject({
      type: 'invalid_request_error',
      param: 'url',
      message: 'body.url: webhook url resolves to 127.0.0.1, a loopback address; an admin may set allow_private',
    });
    const metadata = await create({ url: 'http://169.254.169.254/latest/meta-data/' });
    expect(metadata.status).toBe(400);
    expect(metadata.body.error.message).toMatch(
      /^body\.url: webhook url resolves to 169\.254\.169\.254, a link-local address .*; an admin may set allow_private$/,
    );
    const scheme = await create({ url: 'file:///etc/passwd' });
    expect(scheme.status).toBe(400);
    expect(scheme.body.error.message).toContain('must be http or https');
  });

  it('are managed by admins only', async () => {
    const bySubmitter = await create({ url: hooks.url, allow_private: true }, iris.keys.submitter);
    expect(bySubmitter.status).toBe(403);
    expect(bySubmitter.body.error.type).toBe('permission_error');
    expect((await call(iris.api, 'GET', '/v1/webhooks', { key: iris.keys.viewer })).status).toBe(403);
  });

  it('deliver signed job events that the reference verifier accepts, across a secret rotation', async () => {
    const created = await create({ url: hooks.url, description: 'serving', allow_private: true });
    expect(created.status).toBe(201);
    const { id, secret } = created.body;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.body).toMatchObject({ object: 'webhook_endpoint', allow_private: true, events: expect.any(Array) });
    const other = await create({ url: failedOnly.url, allow_private: true, events: ['fine_tuning.job.failed'] });
    expect(other.status).toBe(201);

    // Lists and gets never show a secret.
    const listed = await call(iris.api, 'GET', '/v1/webhooks', { key: iris.keys.admin });
    expect(listed.body.data.map((e: { id: string }) => e.id).sort()).toEqual([id, other.body.id].sort());
    expect(listed.text).not.toContain('whsec_');
    const got = await call(iris.api, 'GET', `/v1/webhooks/${id}`, { key: iris.keys.admin });
    expect(got.body).toMatchObject({ id, url: hooks.url });
    expect(got.text).not.toContain('whsec_');

    const job = await jobAwaitingApproval(iris, 'iris-webhooks');
    const waiting = await untilReceived('fine_tuning.job.awaiting_approval');
    const event = new Webhook(secret).verify(waiting.body, headersOf(waiting));
    expect(event).toMatchObject({
      id: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
      object: 'event',
      type: 'fine_tuning.job.awaiting_approval',
      created_at: expect.any(Number),
      data: { id: job, approval_deadline: expect.any(String) },
    });
    expect(waiting.headers['webhook-id']).toBe((event as { id: string }).id);
    // The receiver's first answer was a 503: the delivery was retried.
    expect(hooks.attempts()).toBeGreaterThanOrEqual(2);
    // A signature under another secret does not verify.
    expect(() =>
      new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(waiting.body, headersOf(waiting)),
    ).toThrow();

    const rotated = await call(iris.api, 'POST', `/v1/webhooks/${id}/rotate_secret`, {
      key: iris.keys.admin,
      json: { grace_period_seconds: 3600 },
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(secret);
    expect(rotated.body.previous_secret_expires_at).toBeGreaterThan(Date.now() / 1000);

    const approved = await call(iris.api, 'POST', `/v1/fine_tuning/jobs/${job}/approve`, {
      key: iris.keys.approver,
      json: { reason: 'accuracy is fine' },
    });
    expect(approved.status).toBe(200);
    await untilStatus(iris, job, ['deployed']);
    for (const type of ['fine_tuning.job.succeeded', 'fine_tuning.job.deployed']) {
      const sent = await untilReceived(type);
      // Signed with both secrets during the grace period: a receiver holding either verifies.
      expect(String(sent.headers['webhook-signature']).split(' ')).toHaveLength(2);
      for (const key of [secret, rotated.body.secret]) {
        expect(new Webhook(key).verify(sent.body, headersOf(sent))).toMatchObject({ type, data: { id: job } });
      }
    }
    const deployed = JSON.parse((await untilReceived('fine_tuning.job.deployed')).body);
    expect(deployed.data).toMatchObject({ fine_tuned_model: 'iris-webhooks:1', version: 1 });
    // The endpoint subscribed to failures only heard nothing.
    expect(failedOnly.received).toEqual([]);

    // Every delivery is in the ledger, without the URL's query or any secret: the job closes once they are.
    for (let tries = 0; ; tries++) {
      const reply = await call(iris.api, 'GET', `/v1/fine_tuning/jobs/${job}`, { key: iris.keys.viewer });
      if (reply.body.finished_at !== null) break;
      if (tries > 100) throw new Error(`job ${job} did not close: ${reply.text}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const ledger = new Ledger(new ObjectStore(s3Client(), stack().bucket));
    const deliveries = await ledger.list(iris.tenant, { subject: job, action: 'webhook.delivered' });
    expect(deliveries.map((e) => e.details.event).sort()).toEqual([
      'fine_tuning.job.awaiting_approval',
      'fine_tuning.job.deployed',
      'fine_tuning.job.succeeded',
    ]);
    expect(deliveries[0].details).toMatchObject({ endpoint: id, httpStatus: 204, url: hooks.url.replace(/\?.*$/, '') });
    const exported = await ledger.export(iris.tenant);
    expect(exported).toContain('webhook_endpoint.secret_rotated');
    expect(exported).not.toContain(secret.slice(6));
    expect(exported).not.toContain(rotated.body.secret.slice(6));

    const removed = await call(iris.api, 'DELETE', `/v1/webhooks/${id}`, { key: iris.keys.admin });
    expect(removed.body).toEqual({ id, object: 'webhook_endpoint', deleted: true });
    expect((await call(iris.api, 'GET', `/v1/webhooks/${id}`, { key: iris.keys.admin })).status).toBe(404);
  });
});
