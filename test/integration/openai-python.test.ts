// The official `openai` Python SDK from PyPI (test/integration/openai-python/requirements.txt, in a venv cached by
// the requirements' hash like the oracles') drives the same lifecycle as openai-sdk.test.ts against the real stack,
// with Ratchet-only fields (licence, source, policy, intended use, training) in `extra_body`.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.ts';
import { irisJsonl } from '../helpers/iris.ts';
import { s3Client, stack, uniqueTaskQueue, withWorker } from '../helpers/stack.ts';
import { venvPython } from '../oracle/python.ts';
import { freshTenant, keyFor, startApi, type Api } from './api-harness.ts';

const dir = path.join(import.meta.dirname, 'openai-python');
const queue = uniqueTaskQueue('openai-python');
const tenant = freshTenant('openai-py');
let api: Api;
let python: string;
let release: () => void;
let worker: Promise<unknown>;

beforeAll(async () => {
  // The first run builds the venv from PyPI (a few seconds: openai and its few dependencies).
  python = await venvPython('openai-sdk', path.join(dir, 'requirements.txt'), (line) =>
    console.log(`[python] ${line}`),
  );
  api = await startApi({ taskQueues: { jobs: queue, training: queue } });
  const released = new Promise<void>((resolve) => (release = resolve));
  worker = withWorker(
    { taskQueue: queue, activities: createActivities({ s3: s3Client(), bucket: stack().bucket, ep: 'cpu' }) },
    () => released,
  );
});

afterAll(async () => {
  release?.();
  await worker;
});

it(
  'drives a whole job through the Python SDK: upload, create, pages, events, checkpoints, approve, model, errors',
  {
    timeout: 240_000,
  },
  async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'ratchet-openai-py-')), 'iris.jsonl');
    writeFileSync(file, irisJsonl());
    const sam = await keyFor(api, tenant, 'sam', ['submitter']);
    const ada = await keyFor(api, tenant, 'ada', ['approver']);
    const { stdout } = await promisify(execFile)(
      python,
      [path.join(dir, 'lifecycle.py'), `${api.url}/v1`, sam, ada, file],
      { timeout: 230_000, maxBuffer: 16 << 20 },
    ).catch((error: { stderr?: string; message: string }) => {
      throw new Error(
        `lifecycle.py failed: ${(error.stderr || error.message).trim().split('\n').slice(-20).join('\n')}`,
      );
    });
    const seen = JSON.parse(stdout);

    expect(seen.sdk_version).toMatch(/^2\./);
    expect(seen.file).toEqual({
      object: 'file',
      purpose: 'fine-tune',
      status: 'processed',
      licence: 'CC-BY-4.0',
      source: 'Iris (test fixture)',
    });
    expect(seen.file_listed).toBe(true);
    expect(seen.created).toEqual({
      object: 'fine_tuning.job',
      status: 'queued',
      hyperparameters: { batch_size: 32, learning_rate_multiplier: 10, n_epochs: 'auto' },
    });
    // The extra_body policy is the one the gate applied.
    expect(seen.waiting).toEqual({ status: 'running', ratchet_status: 'awaiting_approval', policy_min_accuracy: 0.8 });
    // Auto-pagination one job a page, to the end; the metadata filter; the cancel.
    expect(seen.listed).toEqual(seen.expected_listed);
    expect(seen.filtered).toEqual([seen.expected_listed[0]]);
    expect(seen.cancel).toBe(true);
    expect(seen.cancelled).toBe('cancelled');
    expect(seen.events.metrics).toBeGreaterThan(1);
    expect(seen.events.first_metrics_data).toMatchObject({ step: expect.any(Number), train_loss: expect.any(Number) });
    expect(seen.events.oldest).toBe('job.submitted by sam');
    expect(seen.checkpoints).toEqual([140, 120, 100, 80, 60, 40, 20]);
    expect(seen.done).toEqual({ status: 'succeeded', fine_tuned_model: expect.stringMatching(/^mlp-[0-9a-z]+:1$/) });
    expect(seen.model).toEqual({ id: seen.done.fine_tuned_model, object: 'model', owned_by: tenant });
    expect(seen.errors.not_found).toMatchObject({ type: 'NotFoundError', message: expect.stringContaining('no job') });
    expect(seen.errors.wrong_key).toMatchObject({
      type: 'AuthenticationError',
      message: expect.stringContaining('the API key is not valid'),
    });
    expect(seen.errors.bad_body).toMatchObject({ type: 'BadRequestError', param: 'training_file' });
    expect(seen.errors.own_approval).toMatchObject({
      type: 'PermissionDeniedError',
      message: expect.stringContaining('this route needs the approver role'),
    });
  },
);
