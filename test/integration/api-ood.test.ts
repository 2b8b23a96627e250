// A job with an out-of-distribution file, through the API on the real Temporal and S3 servers with ORT training
// Iris: the OOD file is validated with the others, each model's OOD AUROC (max softmax) is measured against it,
// the policy's `minOodAuroc` judges it, and the card shows it. A bad `ood_file` is refused like the other files.
import { describe, expect, it } from 'vitest';
import { parseObjectKey } from '../../core/object-store.ts';
import { temporalClient } from '../helpers/stack.ts';
import { call, freshTenant, keyFor, upload } from './api-harness.ts';
import { irisJobBody, untilStatus, useIrisStack } from './iris-job.ts';
import { irisSplit, recordHistory, store } from './job-harness.ts';

const stack = useIrisStack('api-ood');

type Row = { features: number[]; label?: string };
const jsonl = (records: Row[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';
const evalRecords = (): Row[] =>
  irisSplit()
    .eval.trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Row);

/**
 * Unlabelled rows far from any flower (each eval row's measurements times ten, plus 40), and one eval row as it
 * is: that row's max softmax ties with its in-distribution twin, so the AUROC is below 1 whatever the weights.
 */
function oodText(): string {
  const far = evalRecords().map(({ features }) => ({ features: features.map((x) => 10 * x + 40) }));
  return jsonl([...far, { features: evalRecords()[0].features }]);
}

async function createJob(body: object): Promise<string> {
  const reply = await call(stack.api, 'POST', '/v1/fine_tuning/jobs', { key: stack.keys.submitter, json: body });
  if (reply.status !== 201) throw new Error(`create failed: ${reply.status} ${reply.text}`);
  return reply.body.id;
}

const jobBody = (model: string, ood_file: string, policy: object) => {
  const body = irisJobBody(stack, model);
  return { ...body, ood_file, policy: { ...body.policy, ...policy } };
};

describe('a job with an OOD file', () => {
  it('measures the OOD AUROC of candidate and production, gates on minOodAuroc and shows it on the card', async () => {
    const ood = (await upload(stack.api, stack.keys.submitter, oodText())).body.id;

    // First job: a minimum of 0 passes whatever was measured; the approved candidate becomes production.
    const first = await createJob(jobBody('iris-ood', ood, { minOodAuroc: 0 }));
    const waiting = (await untilStatus(stack, first, ['awaiting_approval'])).body;
    const firstOodAuroc = waiting.ratchet.evaluation.candidate.metrics.ood_auroc;
    expect(firstOodAuroc).toBeGreaterThanOrEqual(0);
    expect(firstOodAuroc).toBeLessThan(1);
    expect(waiting.ratchet.gate.rules.find((r: { rule: string }) => r.rule === 'min_ood_auroc')).toMatchObject({
      passed: true,
      actual: firstOodAuroc,
      threshold: 0,
    });
    const approved = await call(stack.api, 'POST', `/v1/fine_tuning/jobs/${first}/approve`, {
      key: stack.keys.approver,
      json: { reason: 'OOD AUROC measured' },
    });
    expect(approved.status).toBe(200);
    await untilStatus(stack, first, ['deployed']);

    // Second job: a minimum of 1 cannot be met (the tied row), so the gate fails on it.
    const second = await createJob(jobBody('iris-ood', ood, { minOodAuroc: 1 }));
    const failed = (await untilStatus(stack, second, ['gate_failed'])).body;
    const { candidate, production } = failed.ratchet.evaluation;
    expect(candidate.metrics.ood_auroc).toBeLessThan(1);
    // The production model is the first job's candidate, scored on the same files with the same code.
    expect(production).toMatchObject({ version: 1, evaluation: { metrics: { ood_auroc: firstOodAuroc } } });
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'gate_failed' } });
    expect(failed.error.message).toMatch(/OOD AUROC 0\.\d{4} < 1/);
    expect(failed.ratchet.report.rules.find((r: { rule: string }) => r.rule === 'min_ood_auroc')).toMatchObject({
      passed: false,
      actual: candidate.metrics.ood_auroc,
      threshold: 1,
      message: expect.stringMatching(/^OOD AUROC 0\.\d{4} < 1$/),
    });

    const card = await store().get(parseObjectKey(`jobs/${second}/card.md`));
    const markdown = Buffer.from(card.bytes).toString('utf8');
    expect(markdown).toMatch(/\| OOD AUROC \(max softmax\) \| 0\.\d{4} \| 0\.\d{4} \|/);
    expect(markdown).toContain('| min_ood_auroc | **FAIL** |');

    const validation = await store().getJson<{ files: Record<string, { records: number }> }>(
      parseObjectKey(`reports/${second}/validation.json`),
    );
    expect(validation.files.ood.records).toBe(evalRecords().length + 1);

    await recordHistory('ood-gate-failed', (await temporalClient()).workflow.getHandle(second));
  });

  it('ends dataset_rejected with the OOD file named in the findings when its records have the wrong shape', async () => {
    const text = jsonl([{ features: [1, 2, 3] }, ...evalRecords().slice(1, 3)]) + '{"label": "setosa"}\n';
    const ood = (await upload(stack.api, stack.keys.submitter, text)).body.id;
    const id = await createJob(jobBody('iris-ood-bad', ood, {}));
    const job = (await untilStatus(stack, id, ['dataset_rejected'])).body;
    expect(job.error).toMatchObject({ code: 'invalid_training_file' });
    const oodFindings = job.ratchet.report.findings.filter((f: { file: string }) => f.file === 'ood');
    expect(oodFindings.map((f: { code: string }) => f.code).sort()).toEqual([
      'feature_length_mismatch',
      'missing_input',
    ]);
    expect(oodFindings.find((f: { code: string }) => f.code === 'feature_length_mismatch').examples).toEqual([1]);
  });

  it('400 names ood_file when it is not an uploaded file of the caller’s tenant', async () => {
    const stranger = await keyFor(stack.api, freshTenant('api-ood-other'), 'eve', ['submitter']);
    const theirs = (await upload(stack.api, stranger, oodText())).body.id;
    for (const id of ['file-nope', theirs]) {
      const reply = await call(stack.api, 'POST', '/v1/fine_tuning/jobs', {
        key: stack.keys.submitter,
        json: jobBody('iris-ood', id, {}),
      });
      expect(reply.status).toBe(400);
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
      expect(reply.body.error).toMatchObject({ type: 'invalid_request_error', param: 'ood_file' });
      expect(reply.body.error.errors).toEqual([{ path: 'body.ood_file', message: `no file ${id}` }]);
    }
    const tooLong = await call(stack.api, 'POST', '/v1/fine_tuning/jobs', {
      key: stack.keys.submitter,
      json: jobBody('iris-ood', 'f'.repeat(65), {}),
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.errors.map((e: { path: string }) => e.path)).toEqual(['body.ood_file']);
  });
});
