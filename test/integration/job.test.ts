// fineTuneJob end to end on the real Temporal and S3 servers, training Iris on ONNX Runtime: every final state a
// job can reach, with the ledger entries that record how it got there.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FineTuneJobInput } from '../../workflows/job-types.ts';
import { approveUpdate, jobStatusQuery, rejectUpdate } from '../../workflows/job-types.ts';
import { fineTuneJob } from '../../workflows/fine-tune-job.ts';
import { temporalClient } from '../helpers/stack.ts';
import {
  DEPLOYED_JOB_ACTIONS,
  approver,
  jobInput,
  ledger,
  ledgerActions,
  put,
  putIris,
  queuesFor,
  startJob,
  startJobWorkers,
  recordHistory,
  registry,
  submitter,
  training,
  uniqueModel,
  waitForState,
  withJobWorkers,
  cancelAndExpectCancelled,
} from './job-harness.ts';

const queues = queuesFor('job');
const prefix = `datasets/job-test-${randomUUID()}`;

const start = (name: string, input: FineTuneJobInput, on: { cpu: string; gpu: string } = queues) =>
  startJob(name, input, on);

// The expiry test waits out the policy's shortest approval timeout (1 minute). Its job starts before the other
// tests, on workers of its own, so the wait overlaps them.
const expiryQueues = queuesFor('job-expire');
let expiryWorkers: { stop: () => Promise<void> };
let expiring: Promise<WorkflowHandle<typeof fineTuneJob>>;

beforeAll(async () => {
  expiryWorkers = await startJobWorkers(expiryQueues.prefix);
  expiring = putIris(`${prefix}/expire`).then((dataset) =>
    start(
      'expire',
      jobInput(uniqueModel('iris-expire'), dataset, {
        policy: { minAccuracy: 0.8, allowedLicences: ['CC-BY-4.0'], approvalTimeout: '1m' },
      }),
      expiryQueues,
    ),
  );
});

afterAll(() => expiryWorkers.stop());

/** A local HTTP endpoint that records the JSON bodies POSTed to it. */
async function webhookReceiver() {
  const received: unknown[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push(JSON.parse(body));
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/ratchet`, received, server };
}

const run = <T>(fn: () => Promise<T>) => withJobWorkers(queues.prefix, fn);

describe('fineTuneJob', () => {
  it('validates, trains, evaluates, waits for another identity to approve, and deploys to production', async () => {
    await run(async () => {
      const dataset = await putIris(`${prefix}/happy`);
      const model = uniqueModel('iris-happy');
      const webhook = await webhookReceiver();
      const handle = await start('happy', jobInput(model, dataset, { webhookUrl: webhook.url }));

      const waiting = await waitForState(handle, 'awaiting_approval');
      expect(waiting.transitions.map((t) => t.state)).toEqual([
        'validating',
        'training',
        'evaluating',
        'gating',
        'awaiting_approval',
      ]);
      expect(waiting.validation).toMatchObject({ passed: true });
      expect(waiting.training).toMatchObject({ steps: training.config.maxSteps, ep: 'cpu', resumedFromStep: 0 });
      expect(waiting.evaluation!.candidate.metrics.accuracy).toBeGreaterThanOrEqual(0.8);
      expect(waiting.evaluation!.production).toBeUndefined();
      expect(waiting.gate!.gate.passed).toBe(true);

      const accepted = await handle.executeUpdate(approveUpdate, {
        args: [{ identity: approver, reason: 'accuracy above the bar on the held-out fifth' }],
      });
      expect(accepted.decision).toMatchObject({ action: 'approve', by: approver.userId });
      const result = await handle.result();
      expect(result).toMatchObject({ state: 'deployed', deployed: { version: 1 } });

      const aliases = await registry().getAliases(model);
      expect(aliases.production).toMatchObject({ version: 1, by: approver.userId, via: 'promote' });
      const version = await registry().getVersion(model, 1);
      expect(version.record).toMatchObject({
        job_id: handle.workflowId,
        submitter: submitter.userId,
        approver: approver.userId,
        datasets: waiting.training!.datasets,
      });
      expect(version.record.artifacts['model.onnx']).toBe(waiting.training!.modelSha256);
      const card = await registry().getCard(model, 1);
      expect(card.markdown).toContain(`Approver: ${approver.userId}`);

      expect(await ledgerActions(handle.workflowId)).toEqual([...DEPLOYED_JOB_ACTIONS, 'webhook.delivered']);
      expect(webhook.received).toEqual([{ type: 'model.deployed', job: handle.workflowId, model, version: 1 }]);
      webhook.server.close();
      const entries = await ledger().list('default', { subject: handle.workflowId });
      expect(entries.find((e) => e.action === 'job.approved')!.actor).toBe(approver.userId);
      expect(entries.find((e) => e.action === 'model.trained')!.outputs).toEqual({
        model: waiting.training!.modelSha256,
      });
      expect((await ledger().verify('default')).ok).toBe(true);

      const client = await temporalClient();
      const described = await client.workflow.getHandle(handle.workflowId).describe();
      expect(described.searchAttributes).toMatchObject({
        RatchetStatus: ['deployed'],
        RatchetModel: [model],
        RatchetSubmitter: [submitter.userId],
      });
      await recordHistory('happy-path', handle);

      // A second job on the same data is compared with version 1 on the same eval file.
      const second = await start('happy-second', jobInput(model, dataset));
      const secondWaiting = await waitForState(second, 'awaiting_approval');
      expect(secondWaiting.evaluation!.production).toMatchObject({ version: 1 });
      await second.executeUpdate(rejectUpdate, { args: [{ identity: approver, reason: 'no better than v1' }] });
      expect(await second.result()).toMatchObject({ state: 'rejected' });
    });
  });

  it('refuses self-approval and approvers without the role, then ends rejected with the reason', async () => {
    await run(async () => {
      const dataset = await putIris(`${prefix}/reject`);
      const handle = await start('reject', jobInput(uniqueModel('iris-reject'), dataset));
      await waitForState(handle, 'awaiting_approval');

      const refusal = (identity: { userId: string; roles: string[] }, reason = 'looks fine') =>
        handle.executeUpdate(approveUpdate, { args: [{ identity, reason }] }).then(
          () => 'accepted',
          (error: unknown) => {
            expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
            return ((error as WorkflowUpdateFailedError).cause as Error).message;
          },
        );
      expect(await refusal({ ...submitter, roles: ['submitter', 'approver'] })).toMatch(
        /sam-submitter submitted this job and cannot sign it off/,
      );
      expect(await refusal({ userId: 'viewer-vic', roles: ['viewer'] })).toMatch(/does not hold the approver role/);
      expect(await refusal(approver, '  ')).toMatch(/a reason is required/);
      expect((await handle.query(jobStatusQuery)).state).toBe('awaiting_approval');

      await handle.executeUpdate(rejectUpdate, { args: [{ identity: approver, reason: 'petal data is stale' }] });
      expect(await handle.result()).toMatchObject({
        state: 'rejected',
        decision: { action: 'reject', by: approver.userId, reason: 'petal data is stale' },
      });
      const entries = await ledger().list('default', { subject: handle.workflowId });
      expect(entries.map((e) => e.action)).toEqual([
        'job.submitted',
        'dataset.validated',
        'model.trained',
        'model.evaluated',
        'gate.passed',
        'job.rejected',
      ]);
      expect(entries.at(-1)).toMatchObject({ actor: approver.userId, details: { reason: 'petal data is stale' } });
      await recordHistory('rejected', handle);
    });
  });

  it('ends gate_failed, with the failed rule in the ledger and on the card, when the policy is not met', async () => {
    await run(async () => {
      const dataset = await putIris(`${prefix}/gate`);
      const handle = await start(
        'gate',
        jobInput(uniqueModel('iris-gate'), dataset, {
          policy: { minAccuracy: 1, maxEce: 0.0001, approvalTimeout: '10m', allowedLicences: ['MIT'] },
        }),
      );
      const result = await handle.result();
      expect(result.state).toBe('gate_failed');
      const failed = result.gate!.gate.rules.filter((r) => !r.passed).map((r) => r.rule);
      expect(failed).toContain('allowed_licences');
      expect(failed).toContain('max_ece');
      const entries = await ledger().list('default', { subject: handle.workflowId });
      expect(entries.map((e) => e.action).at(-1)).toBe('gate.failed');
      expect(entries.at(-1)!.details.failedRules).toEqual(failed);
      expect((await handle.describe()).searchAttributes).toMatchObject({ RatchetStatus: ['gate_failed'] });
      await recordHistory('gate-failed', handle);
    });
  });

  it('ends dataset_rejected before training when validation finds blocking problems', async () => {
    await run(async () => {
      const dataset = await putIris(`${prefix}/bad`);
      const trainKey = await put(`${prefix}/bad/broken.jsonl`, '{"features": [1, 2, 3, 4], "label": "a"}\nnot json\n');
      const handle = await start('dataset', jobInput(uniqueModel('iris-bad'), { ...dataset, trainKey }));
      expect(await handle.result()).toMatchObject({ state: 'dataset_rejected' });
      const status = await handle.query(jobStatusQuery);
      expect(status.training).toBeUndefined();
      expect(status.validation!.summary.blockingCodes).toContain('parse_error');
      expect(await ledgerActions(handle.workflowId)).toEqual(['job.submitted', 'dataset.rejected']);
      await recordHistory('dataset-rejected', handle);
    });
  });

  it('fails for good, naming the problem, on a missing dataset file or an invalid policy', async () => {
    await run(async () => {
      const dataset = await putIris(`${prefix}/input`);
      const failureOf = async (input: FineTuneJobInput) => {
        const handle = await start('bad-input', input);
        const error = await handle.result().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(WorkflowFailedError);
        const status = await handle.query(jobStatusQuery);
        expect(status.state).toBe('failed');
        expect((await ledgerActions(handle.workflowId)).at(-1)).toBe('job.failed');
        return status.error!;
      };
      const missing = `${prefix}/input/nowhere.jsonl`;
      expect(await failureOf(jobInput(uniqueModel('iris-missing'), { ...dataset, trainKey: missing }))).toContain(
        missing,
      );
      const badPolicy = jobInput(uniqueModel('iris-policy'), dataset, {
        policy: { minAccuracy: 1.5, approvalTimeout: '5 minutes' },
      });
      const message = await failureOf(badPolicy);
      expect(message).toContain('minAccuracy');
      expect(message).toContain('approvalTimeout');
    });
  });

  it('stops training within a chunk of updates when cancelled and records the last checkpoint', async () => {
    await run(async () => {
      const dataset = await putIris(`${prefix}/cancel`);
      const long = { ...training, config: { ...training.config, maxSteps: 200_000, checkpointEvery: 50 } };
      const handle = await start('cancel', jobInput(uniqueModel('iris-cancel'), dataset, { training: long }));
      await waitForState(handle, 'training');
      // Cancel once a checkpoint is in the heartbeat, i.e. mid-training.
      for (;;) {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        if (pending.some((a) => (a.heartbeatDetails?.payloads?.length ?? 0) > 0)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 500));
      await cancelAndExpectCancelled(handle);

      const status = await handle.query(jobStatusQuery);
      expect(status.state).toBe('cancelled');
      expect(status.partial!.step).toBeGreaterThan(0);
      expect(status.partial!.step).toBeLessThan(200_000);
      expect(status.partial!.checkpointKey).toMatch(new RegExp(`^jobs/${handle.workflowId}/checkpoints/step-\\d{8}$`));
      const entries = await ledger().list('default', { subject: handle.workflowId });
      expect(entries.map((e) => e.action)).toEqual(['job.submitted', 'dataset.validated', 'job.cancelled']);
      expect(entries.at(-1)!.details).toMatchObject({ stage: 'training', partial: status.partial });
      await recordHistory('cancelled', handle);
    });
  });

  it('ends expired when nobody signs off within the approval timeout', { timeout: 90_000 }, async () => {
    const handle = await expiring;
    expect(await handle.result()).toMatchObject({ state: 'expired' });
    expect((await ledgerActions(handle.workflowId)).at(-1)).toBe('job.expired');
    const late = await handle
      .executeUpdate(approveUpdate, { args: [{ identity: approver, reason: 'too late' }] })
      .catch((e: unknown) => e);
    expect(late).toBeInstanceOf(Error);
    await recordHistory('expired', handle);
  });
});
