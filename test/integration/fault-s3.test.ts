// The S3 server made unreachable for 30 s while a job trains, under `ratchet dev` as a user runs it: the gateway is
// stopped with SIGSTOP (its connections stay open and nothing answers, as with a hung server or a dropped network;
// its data stays) and resumed with SIGCONT. The job completes with the model bytes of an uninterrupted run of the
// same spec, the ledger verifies with every entry the job should have, and the API answers an S3-backed read during
// the outage with a 503 within its deadline rather than hanging or failing with a 500.
import { describe, expect, it } from 'vitest';
import { trainJobOf } from '../../core/jobs/engine-job.ts';
import { sha256 } from '../../engine/export/inference.ts';
import { runTrainJob } from '../../engine/train/job.ts';
import { kill, processesBelow, startDev } from '../helpers/dev-stack.ts';
import { call, type Api } from './api-harness.ts';
import { irisJobBody, irisTenant, untilStatus, type IrisStack } from './iris-job.ts';
import { DEPLOYED_JOB_ACTIONS, irisSplit, training } from './job-harness.ts';

const adminKey = 'fault-s3-test-admin-key-0123456789abcdef';
const OUTAGE_MS = 30_000;
/** The API's answer to an S3-backed read may take this long while S3 is out (docs/OPERATIONS.md). */
const DEADLINE_MS = 10_000;

/** A few seconds of Iris steps, so S3 stops while the model trains; a checkpoint every 1,000 steps. */
const outageTraining = { ...training, config: { ...training.config, maxSteps: 20_000, checkpointEvery: 1_000 } };

/** The same spec trained start to finish in this process: the model's sha256. */
async function uninterruptedSha256(): Promise<string> {
  const { train, eval: evalText } = irisSplit();
  const job = trainJobOf(outageTraining, { train: 'train.jsonl', eval: 'eval.jsonl' });
  const reference = await runTrainJob(job, { train, eval: evalText }, { ep: 'cpu' });
  return sha256(reference.model!);
}

describe('the S3 server unreachable for 30 s mid-job under ratchet dev', () => {
  it('the job completes with nothing lost; S3-backed reads answer 503 meanwhile', { timeout: 180_000 }, async () => {
    const dev = await startDev(undefined, { RATCHET_BOOTSTRAP_ADMIN_KEY: adminKey });
    const api = { url: dev.apiUrl, admin: adminKey } as Api;
    const stack: IrisStack = { api, ...(await irisTenant(api, 'fault-s3')) };
    const log = (line: string) => console.log(`fault-s3: ${new Date().toISOString()} ${line}`);
    const fileRead = () => call(api, 'GET', `/v1/files/${stack.files.train}`, { key: stack.keys.viewer });
    expect((await fileRead()).status).toBe(200);

    const created = await call(api, 'POST', '/v1/fine_tuning/jobs', {
      key: stack.keys.submitter,
      json: { ...irisJobBody(stack, 'iris-s3-outage'), training: outageTraining },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await untilStatus(stack, id, ['training'], 60_000);

    // Every gateway process below the stack: one the supervisor is replacing may still be there beside the new one.
    const gateways = processesBelow(dev.child.pid!).filter((p) => p.name.startsWith('versitygw'));
    expect(gateways.length, dev.output()).toBeGreaterThan(0);
    for (const gateway of gateways) kill(gateway.pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    // Resumed on time whatever the reads below do, so a hanging read cannot stretch the outage.
    const resumed = new Promise<void>((resolve) =>
      setTimeout(() => {
        for (const gateway of gateways) kill(gateway.pid, 'SIGCONT');
        resolve();
      }, OUTAGE_MS),
    );
    log(`S3 stopped (SIGSTOP pid ${gateways.map((g) => g.pid).join(', ')}) while ${id} trains`);

    // During the outage: a 503 within the deadline, not a hang and not a 500.
    const asked = Date.now();
    const during = await fileRead();
    const tookMs = Date.now() - asked;
    log(`file read during the outage: ${during.status} after ${tookMs} ms: ${during.text.slice(0, 200)}`);
    expect(Date.now() - stoppedAt, 'the read outlasted the outage').toBeLessThan(OUTAGE_MS);
    expect(during.status).toBe(503);
    expect(tookMs).toBeLessThan(DEADLINE_MS);
    await resumed;
    const resumedAt = Date.now();
    log(`S3 resumed after ${resumedAt - stoppedAt} ms`);

    // Time to recover: the first S3-backed read that succeeds, and the job's next stage.
    while ((await fileRead()).status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    log(`recovered: first file read 200 ${Date.now() - resumedAt} ms after S3 resumed`);
    await untilStatus(stack, id, ['awaiting_approval'], 120_000);
    log(`recovered: job awaiting approval ${Date.now() - resumedAt} ms after S3 resumed`);
    const approved = await call(api, 'POST', `/v1/fine_tuning/jobs/${id}/approve`, {
      key: stack.keys.approver,
      json: { reason: 'survived an S3 outage' },
    });
    expect(approved.status).toBe(200);
    await untilStatus(stack, id, ['deployed'], 60_000);

    // Nothing lost: every entry the job should have, once and in order, on a chain that verifies.
    const entries = await call(api, 'GET', `/v1/audit/entries?subject=${id}&limit=100`, { key: stack.keys.viewer });
    expect(entries.status).toBe(200);
    const actions = entries.body.data.map((e: { action: string }) => e.action);
    expect(actions).toEqual(DEPLOYED_JOB_ACTIONS);
    const verified = await call(api, 'GET', '/v1/audit/verify', { key: stack.keys.viewer });
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ ok: true });
    const trained = entries.body.data.find((e: { action: string }) => e.action === 'model.trained');
    expect(trained.details.steps).toBe(outageTraining.config.maxSteps);
    expect(trained.outputs.model).toBe(await uninterruptedSha256());

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
  });
});
