// Validation end to end on the real stack: JSONL put in S3 -> validateDatasetWorkflow on Temporal ->
// the validation activity streams the objects -> report in S3, read back and queried.
import { createHash, randomUUID } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, defaultPayloadConverter, RetryState } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.ts';
import type { ValidationReport } from '../../governance/dataset/validate.ts';
import {
  validateDatasetWorkflow,
  validationStatusQuery,
  type ValidationStatus,
} from '../../workflows/validate-dataset.ts';
import { s3Client, stack, temporalClient, uniqueTaskQueue, withWorker } from '../helpers/stack.ts';
import type { ValidateDatasetInput, ValidateDatasetResult } from '../../core/jobs/stages.ts';

const prefix = `datasets/validation-test-${randomUUID()}`;

async function put(name: string, body: string): Promise<string> {
  const key = `${prefix}/${name}`;
  await s3Client().send(new PutObjectCommand({ Bucket: stack().bucket, Key: key, Body: body }));
  return key;
}

async function getReport(key: string): Promise<ValidationReport> {
  const out = await s3Client().send(new GetObjectCommand({ Bucket: stack().bucket, Key: key }));
  return JSON.parse(await out.Body!.transformToString()) as ValidationReport;
}

const jsonl = (records: unknown[]) => records.map((r) => JSON.stringify(r) + '\n').join('');
const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
/** Texts that stay distinct after normalisation, so a clean file has no near duplicates. */
const messages = (n: number, offset: number) =>
  Array.from({ length: n }, (_, i) => ({
    text: `message ${words[(i + offset) % 8]} ${words[Math.floor((i + offset) / 8) % 8]} ${words[Math.floor((i + offset) / 64) % 8]} about the build`,
    label: i % 2 === 0 ? 'ham' : 'spam',
  }));

type Outcome = { result?: ValidateDatasetResult; error?: unknown; status: ValidationStatus; workflowId: string };

/** Starts the workflow on a fresh task queue with its own worker and waits for its outcome. */
async function runValidation(input: ValidateDatasetInput): Promise<Outcome> {
  const taskQueue = uniqueTaskQueue('validation');
  const activities = createActivities({ s3: s3Client(), bucket: stack().bucket });
  return withWorker({ taskQueue, activities }, async () => {
    const client = await temporalClient();
    const handle = await client.workflow.start(validateDatasetWorkflow, {
      taskQueue,
      workflowId: `validate-${randomUUID()}`,
      args: [input],
    });
    const outcome = await handle.result().then(
      (result): Pick<Outcome, 'result' | 'error'> => ({ result }),
      (error: unknown) => ({ error }),
    );
    const status = await handle.query(validationStatusQuery);
    return { ...outcome, status, workflowId: handle.workflowId };
  });
}

describe('validateDatasetWorkflow', () => {
  it('validates a clean dataset from S3 and stores the report under the workflow id', async () => {
    const train = jsonl(messages(60, 0));
    const trainKey = await put('clean-train.jsonl', train);
    const evalKey = await put('clean-eval.jsonl', jsonl(messages(20, 100)));

    const { result, error, status, workflowId } = await runValidation({
      trainKey,
      evalKey,
      manifest: { name: 'clean', licence: 'Apache-2.0' },
      policy: { allowedLicences: ['Apache-2.0', 'MIT'] },
    });
    expect(error).toBeUndefined();
    const passed = result!;
    expect(passed).toMatchObject({
      reportKey: `reports/${workflowId}/validation.json`,
      passed: true,
      summary: { blocking: 0, warnings: 0, records: { train: 60, eval: 20 } },
    });
    expect(status).toEqual({ state: 'passed', reportKey: passed.reportKey, summary: passed.summary });

    const report = await getReport(passed.reportKey);
    expect(report.passed).toBe(true);
    expect(report.files.train).toMatchObject({
      bytes: Buffer.byteLength(train),
      sha256: createHash('sha256').update(train).digest('hex'),
      records: 60,
      labels: { ham: 30, spam: 30 },
    });
  });

  it('fails for good, carrying the report key, when the report has blocking findings', async () => {
    const train = jsonl(messages(20, 0)) + 'this is not json\n' + '{"text": 7, "label": "ham"}\n';
    const trainKey = await put('broken-train.jsonl', train);
    const evalKey = await put('contaminated-eval.jsonl', jsonl(messages(4, 0)));

    const { result, error, status, workflowId } = await runValidation({ trainKey, evalKey });
    expect(result).toBeUndefined();
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const failure = (error as WorkflowFailedError).cause;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    const reportKey = `reports/${workflowId}/validation.json`;
    expect(failure).toMatchObject({ type: 'DatasetValidationFailed', nonRetryable: true });
    expect((failure as ApplicationFailure).message).toContain(reportKey);
    expect((failure as ApplicationFailure).details?.[0]).toMatchObject({ reportKey, passed: false });
    expect(status).toMatchObject({ state: 'failed', reportKey });

    const report = await getReport(reportKey);
    expect(report.passed).toBe(false);
    const found = report.findings.map((f) => [f.file, f.code, f.examples]);
    expect(found).toEqual(
      expect.arrayContaining([
        ['train', 'parse_error', [21]],
        ['train', 'wrong_type', [22]],
        ['eval', 'contamination', [1, 2, 3, 4]],
      ]),
    );
  });

  it('fails at once, without retries, when the dataset object does not exist', async () => {
    const { error, status } = await runValidation({ trainKey: `${prefix}/missing.jsonl` });
    const cause = (error as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ActivityFailure);
    expect((cause as ActivityFailure).retryState).toBe(RetryState.NON_RETRYABLE_FAILURE);
    const failure = (cause as ActivityFailure).cause as ApplicationFailure;
    expect(failure).toMatchObject({ type: 'ObjectNotFound', nonRetryable: true });
    expect(failure.message).toContain('missing.jsonl');
    expect(status).toMatchObject({ state: 'error' });
  });

  it('refuses a key that leaves the dataset namespace', async () => {
    const { error } = await runValidation({ trainKey: '../etc/passwd' });
    expect((error as WorkflowFailedError).cause?.cause).toMatchObject({ type: 'InvalidObjectKey' });
  });

  it('refuses a missing input with a clear, non-retryable failure', async () => {
    const { error } = await runValidation(null as never);
    const failure = (error as WorkflowFailedError).cause?.cause as ApplicationFailure;
    expect(failure).toMatchObject({ type: 'InvalidObjectKey', nonRetryable: true });
    expect(failure.message).toContain('trainKey');
  });
});

describe('validateDataset activity', () => {
  it('heartbeats the bytes it has read while it streams', async () => {
    // Many short records validate slowly enough (about a second) for a running activity to be observed.
    const words = ['ok', 'go', 'up', 'no', 'hi', 'yo', 'be', 'do'];
    const lines: string[] = [];
    for (let i = 0, size = 0; size < 6 * 1024 * 1024; i++) {
      const line = JSON.stringify({ text: `${words[i % 8]} ${words[(i >> 3) % 8]} ${i}`, label: i % 2 });
      lines.push(line);
      size += line.length + 1;
    }
    const body = lines.join('\n') + '\n';
    const trainKey = await put('heartbeat-train.jsonl', body);

    const taskQueue = uniqueTaskQueue('validation-heartbeat');
    const activities = createActivities({ s3: s3Client(), bucket: stack().bucket });
    const progress = await withWorker({ taskQueue, activities }, async () => {
      const client = await temporalClient();
      const handle = await client.workflow.start(validateDatasetWorkflow, {
        taskQueue,
        workflowId: `validate-heartbeat-${randomUUID()}`,
        args: [{ trainKey, manifest: { licence: 'MIT' } }],
      });
      let details: { bytesRead: number; totalBytes: number } | undefined;
      while (!details) {
        const { raw } = await handle.describe();
        const payloads = raw.pendingActivities?.[0]?.heartbeatDetails?.payloads;
        if (payloads?.length) details = defaultPayloadConverter.fromPayload(payloads[0]);
        else if (raw.workflowExecutionInfo?.closeTime)
          throw new Error('the workflow closed before any heartbeat was seen');
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await handle.result();
      return details;
    });
    expect(progress.totalBytes).toBe(Buffer.byteLength(body));
    expect(progress.bytesRead).toBeGreaterThan(0);
    expect(progress.bytesRead).toBeLessThanOrEqual(progress.totalBytes);
  });
});
