// Drift end to end on the real Temporal and S3 servers: a first Iris job goes to production; a second trains on Iris
// with one feature (petal length, column 2) moved by 2 cm. Its evaluation, its model card and its ledger entry must
// name that feature as the one that moved, with a significant two-sample test, and carry the churn against
// production; the first job, with nothing in production, has no drift section.
import { randomUUID } from 'node:crypto';
import { type WorkflowHandle } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { parseObjectKey } from '../../core/object-store.ts';
import { approveUpdate, jobStatusQuery, rejectUpdate, type FineTuneJobInput } from '../../workflows/job-types.ts';
import { fineTuneJob } from '../../workflows/fine-tune-job.ts';
import {
  approver,
  irisShiftedTrain,
  jobInput,
  ledger,
  put,
  putIris,
  queuesFor,
  recordHistory,
  startJob,
  store,
  uniqueModel,
  waitForState,
  withJobWorkers,
} from './job-harness.ts';

const queues = queuesFor('drift');
const prefix = `datasets/drift-test-${randomUUID()}`;

const start = (name: string, input: FineTuneJobInput) => startJob(name, input, queues);

/** Waits until the job is past the gate, whichever way the gate went. */
async function gated(handle: WorkflowHandle<typeof fineTuneJob>) {
  for (;;) {
    const status = await handle.query(jobStatusQuery);
    if (status.state === 'awaiting_approval' || status.state === 'gate_failed') return status;
    if (['failed', 'dataset_rejected', 'cancelled'].includes(status.state)) {
      throw new Error(`job ended ${status.state}: ${status.error}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('drift of the training data from production', () => {
  it('names the shifted feature in the evaluation, the card and the ledger, with the churn', async () => {
    await withJobWorkers(queues.prefix, async () => {
      const dataset = await putIris(`${prefix}/v1`);
      const model = uniqueModel('iris-drift');
      const first = await start('drift-first', jobInput(model, dataset));
      const firstStatus = await waitForState(first, 'awaiting_approval');
      expect(firstStatus.evaluation!.drift).toBeUndefined();
      await first.executeUpdate(approveUpdate, { args: [{ identity: approver, reason: 'first version' }] });
      expect(await first.result()).toMatchObject({ state: 'deployed', deployed: { version: 1 } });

      const trainKey = await put(`${prefix}/v2/train.jsonl`, irisShiftedTrain(2, 2));
      const second = await start('drift-second', jobInput(model, { ...dataset, trainKey }));
      const status = await gated(second);
      const drift = status.evaluation!.drift!;
      expect(drift).toMatchObject({
        measured: true,
        kind: 'features',
        rows: { reference: 120, current: 120, shared: 0 },
        production: { version: 1, train_key: dataset.trainKey, train_sha256: firstStatus.training!.datasets.train },
      });
      if (!drift.measured || drift.kind !== 'features') throw new Error('expected a feature drift report');
      const [top, next] = drift.features.features;
      expect(top).toMatchObject({ feature: 2, level: 'major' });
      expect(top.current_mean - top.reference_mean).toBeCloseTo(2, 5);
      expect(next.psi).toBeLessThan(0.1);
      // No row of the shifted file is in production's: the test compares all 120 with production's 120.
      expect(drift.two_sample).toMatchObject({ rows: { reference: 120, current: 120 } });
      if ('skipped' in drift.two_sample) throw new Error(drift.two_sample.skipped);
      expect(drift.two_sample.auc).toBeGreaterThan(0.8);
      expect(drift.two_sample.p_value).toBeLessThan(1e-6);

      const card = Buffer.from((await store().get(parseObjectKey(status.gate!.cardKeys.markdown))).bytes).toString();
      expect(card).toContain("### Drift from production's training data (version 1)");
      expect(card).toMatch(/\| 2 \| \d+\.\d{4} \| major \| /);
      const cardJson = await store().getJson<{ data: { drift?: unknown } }>(parseObjectKey(status.gate!.cardKeys.json));
      expect(cardJson.data.drift).toEqual(drift);

      const entries = await ledger().list('default', { subject: second.workflowId });
      const evaluated = entries.find((e) => e.action === 'model.evaluated')!.details;
      const { churn, uncertainty } = status.evaluation!.comparison!;
      expect(evaluated).toMatchObject({
        production: { version: 1 },
        churn: { changed_share: churn.changed_share, fixed: churn.fixed, broken: churn.broken },
        accuracy_difference: { ...uncertainty.bootstrap.accuracy.difference, confidence: 0.95 },
        mcnemar_p: uncertainty.mcnemar.p_value,
        drift: { measured: true, kind: 'features', top_feature: 2, max_psi: top.psi },
      });
      const firstEvaluated = (await ledger().list('default', { subject: first.workflowId })).find(
        (e) => e.action === 'model.evaluated',
      )!.details;
      expect(firstEvaluated).not.toHaveProperty('churn');
      expect(firstEvaluated).not.toHaveProperty('drift');

      if (status.state === 'awaiting_approval') {
        await second.executeUpdate(rejectUpdate, { args: [{ identity: approver, reason: 'trained on moved data' }] });
      }
      await second.result();
      await recordHistory('drift-compared', second);
    });
  });
});
