// policy.mislabels 'drop' end to end on the real Temporal and S3 servers: a training file of Gaussian blobs with 10 %
// of its labels flipped at known rows goes through the pipeline; the validator flags the rows (mostly the flipped
// ones), the job trains on the file without them (the cleaned object in S3, whose sha256 the ledger and the
// registry's lineage record), the report and the ledger name the dropped lines, and the job deploys.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blobs, flipLabels } from '../../bench/mislabels-data.ts';
import { sha256 } from '../../engine/export/inference.ts';
import { flagScores } from '../../engine/metrics/label-issues.ts';
import { parseObjectKey } from '../../core/object-store.ts';
import type { ValidationReport } from '../../governance/dataset/validate.ts';
import { approveUpdate } from '../../workflows/job-types.ts';
import {
  approver,
  jobInput,
  ledger,
  put,
  queuesFor,
  recordHistory,
  registry,
  startJob,
  store,
  uniqueModel,
  waitForState,
  withJobWorkers,
} from './job-harness.ts';

const queues = queuesFor('mislabels-drop');
const prefix = `datasets/mislabels-drop-${randomUUID()}`;
const jsonl = (records: object[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe("policy.mislabels 'drop'", () => {
  it('trains on the training file less the flagged rows, names them in the report and the ledger, and deploys', async () => {
    const { records, flipped } = flipLabels(blobs(300, 41), 0.1, 42);
    const trainText = jsonl(records);
    const dataset = {
      trainKey: await put(`${prefix}/train.jsonl`, trainText),
      evalKey: await put(`${prefix}/eval.jsonl`, jsonl(blobs(90, 43))),
    };
    const model = uniqueModel('blobs-drop');
    const input = jobInput(model, dataset, { intendedUse: 'three Gaussian blobs (test fixture)' });
    input.dataset.validationPolicy = { mislabels: { action: 'drop', reportRows: 1000 } };

    await withJobWorkers(queues.prefix, async () => {
      const handle = await startJob('mislabels-drop', input, queues);
      const status = await waitForState(handle, 'awaiting_approval');
      const validation = status.validation!;
      const dropped = validation.droppedLines!;
      expect(validation).toMatchObject({ passed: true, droppedRows: dropped.length });
      expect(dropped.length).toBeGreaterThan(0);

      // The rows dropped are the ones flipped, mostly: the validator's precision and recall on them.
      const scores = flagScores(
        dropped.map((line) => line - 1),
        flipped,
      );
      expect(scores.precision).toBeGreaterThanOrEqual(0.8);
      expect(scores.recall).toBeGreaterThanOrEqual(0.6);

      // The report lists every flagged row, says they were dropped, and its drop list is the one the job used.
      const report = await store().getJson<ValidationReport>(parseObjectKey(validation.reportKey));
      const finding = report.findings.find((f) => f.code === 'likely_mislabel')!;
      expect(finding.message).toMatch(/dropped from training/);
      expect(finding.rows!.map((r) => r.line).sort((a, b) => a - b)).toEqual(dropped);
      expect(report.drop!.train).toEqual(dropped);

      // The cleaned file is the training file less exactly those lines, and it is what the model was trained on.
      const cleaned = (await store().get(parseObjectKey(validation.cleanedTrainKey!))).bytes;
      const kept = trainText
        .trimEnd()
        .split('\n')
        .filter((_, i) => !dropped.includes(i + 1));
      expect(Buffer.from(cleaned).toString()).toBe(kept.join('\n') + '\n');
      expect(status.training!.datasets.train).toBe(sha256(cleaned));

      const entries = await ledger().list('default', { subject: handle.workflowId });
      expect(entries.find((e) => e.action === 'dataset.validated')!.details).toMatchObject({
        dropped: { trainKey: validation.cleanedTrainKey, lines: dropped },
      });
      expect(entries.find((e) => e.action === 'model.trained')!.inputs).toMatchObject({ train: sha256(cleaned) });

      await handle.executeUpdate(approveUpdate, { args: [{ identity: approver, reason: 'clean rows only' }] });
      expect(await handle.result()).toMatchObject({ state: 'deployed', deployed: { version: 1 } });
      const { record } = await registry().getVersion(model, 1);
      expect(record.datasets).toMatchObject({ train: sha256(cleaned) });
      expect(record.dataset_keys).toMatchObject({ train: validation.cleanedTrainKey });
      await recordHistory('mislabels-dropped', handle);
    });
  });
});
