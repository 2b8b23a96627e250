// The Temporal server SIGKILLed while a job trains, under `ratchet dev` as a user runs it: the stack restarts the
// server on its SQLite file, the job finishes with the model bytes of an uninterrupted run of the same job, a status
// read during the outage answers (200 or 503) instead of hanging, the live event stream opened before the kill
// carries every entry once and ends with `end` (or says it broke with an `error` event), and status after recovery
// is current. With RATCHET_TEST_TEMPORAL=cluster (CI's cluster run), the same under `ratchet dev --cluster`, its
// four Temporal services on PostgreSQL all killed at once.
import { describe, expect, it } from 'vitest';
import { kill, processesBelow, startDev, waitFor } from '../helpers/dev-stack.ts';
import type { Api } from './api-harness.ts';
import { call } from './api-harness.ts';
import { irisJobBody, irisTenant, untilStatus, type IrisStack } from './iris-job.ts';
import { training } from './job-harness.ts';

const adminKey = 'fault-temporal-test-admin-key-0123456789';
const cluster = process.env.RATCHET_TEST_TEMPORAL === 'cluster';

/** Long enough to be killed mid-way (about 10 s of Iris steps here); a checkpoint every 2,000 steps. */
const longTraining = { ...training, config: { ...training.config, maxSteps: 40_000, checkpointEvery: 2_000 } };

/** The `model.trained` ledger entry of a job: the model's sha256, steps and where training resumed from. */
async function trained(stack: IrisStack, id: string) {
  const reply = await call(stack.api, 'GET', `/v1/audit/entries?subject=${id}&action=model.trained`, {
    key: stack.keys.viewer,
  });
  expect(reply.status).toBe(200);
  const [entry] = reply.body.data;
  const details = entry.details as { steps: number; resumedFromStep: number };
  return { model: entry.outputs.model as string, ts: entry.ts as string, ...details };
}

/** Reads a server-sent event stream until it ends; the events' names and data. */
async function readEvents(response: Response): Promise<{ event: string; data: string }[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.includes('data:'))
    .map((block) => ({
      event: /^event: (.*)$/m.exec(block)?.[1] ?? 'message',
      data: /^data: (.*)$/m.exec(block)?.[1] ?? '',
    }));
}

describe('the Temporal server killed mid-training under ratchet dev', () => {
  it('restarts it; the job completes with the bytes of an uninterrupted run', { timeout: 600_000 }, async () => {
    const dev = await startDev(undefined, { RATCHET_BOOTSTRAP_ADMIN_KEY: adminKey }, cluster ? ['--cluster'] : []);
    const api = { url: dev.apiUrl, admin: adminKey } as Api;
    const stack: IrisStack = { api, ...(await irisTenant(api, 'fault')) };
    const create = async (model: string) => {
      const body = { ...irisJobBody(stack, model), training: longTraining };
      const reply = await call(api, 'POST', '/v1/fine_tuning/jobs', { key: stack.keys.submitter, json: body });
      expect(reply.status).toBe(201);
      return reply.body.id as string;
    };

    const log = (line: string) => console.log(`fault: ${new Date().toISOString()} ${line}`);
    const id = await create('iris-fault');
    log(`created ${id}`);
    await untilStatus(stack, id, ['training'], 120_000);
    const events = fetch(`${api.url}/v1/fine_tuning/jobs/${id}/events/stream`, {
      headers: { authorization: `Bearer ${stack.keys.viewer}` },
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // The dev server, or the cluster's four service processes (`server --service …`).
    const temporal = processesBelow(dev.child.pid!).filter(({ name }) => name === (cluster ? 'server' : 'temporal'));
    expect(temporal).toHaveLength(cluster ? 4 : 1);
    const killedAt = Date.now();
    for (const { pid } of temporal) kill(pid, 'SIGKILL');
    log('temporal killed');

    // During the outage: an answer, not a hang and not a 500.
    const asked = Date.now();
    const during = await call(api, 'GET', `/v1/fine_tuning/jobs/${id}`, { key: stack.keys.viewer });
    expect([200, 503]).toContain(during.status);
    expect(Date.now() - asked).toBeLessThan(10_000);
    log(`status during the outage: ${during.status} after ${Date.now() - asked} ms`);
    await waitFor(() => (dev.output().match(/dev: temporal\S* restarted/g) ?? []).length >= temporal.length, 120_000);
    log('temporal restarted');
    const done = await untilStatus(stack, id, ['awaiting_approval'], 300_000);
    expect(done.body.ratchet.transitions.map((t: { state: string }) => t.state)).toContain('training');
    const interrupted = await trained(stack, id);
    // The kill came before training ended.
    expect(Date.parse(interrupted.ts)).toBeGreaterThan(killedAt);
    log(`trained: ${interrupted.steps} steps, resumed from step ${interrupted.resumedFromStep}`);
    const approved = await call(api, 'POST', `/v1/fine_tuning/jobs/${id}/approve`, {
      key: stack.keys.approver,
      json: { reason: 'survived a Temporal restart' },
    });
    expect(approved.status).toBe(200);
    await untilStatus(stack, id, ['deployed'], 120_000);

    // The stream went on across the restart (or said it broke): each ledger entry once, in order.
    const streamed = await readEvents(await events);
    log(`stream ended with ${JSON.stringify(streamed.at(-1))}`);
    expect(['end', 'error']).toContain(streamed.at(-1)!.event);
    const seqs = streamed
      .filter((e) => e.event === 'message')
      .map((e) => JSON.parse(e.data) as { id: string })
      .filter((e) => /^ftevent-\d+$/.test(e.id))
      .map((e) => Number(e.id.slice('ftevent-'.length)));
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    if (streamed.at(-1)!.event === 'end') {
      const ledger = await call(api, 'GET', `/v1/audit/entries?subject=${id}&limit=100`, { key: stack.keys.viewer });
      expect(seqs).toEqual(ledger.body.data.map((e: { seq: number }) => e.seq));
    }

    const control = await create('iris-control');
    await untilStatus(stack, control, ['awaiting_approval'], 300_000);
    const uninterrupted = await trained(stack, control);
    expect(interrupted.model).toBe(uninterrupted.model);
    expect(interrupted.steps).toBe(uninterrupted.steps);

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
  });
});
