// What the fineTuneJob tests share: Iris in S3, a job's input, workers for the job's two task queues, the ledger
// and the registry as the tests read them back, and recording a finished run's history for the replay test.
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { expect } from 'vitest';
import proto from '@temporalio/proto';
import { NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import { Ledger } from '../../core/ledger/ledger.ts';
import { ObjectStore } from '../../core/object-store.ts';
import { Registry } from '../../core/registry/registry.ts';
import { trainingSchema } from '../../core/jobs/spec.ts';
import { FINAL_STATES, mayFollow } from '../../core/jobs/states.ts';
import { irisJsonl, irisTraining } from '../helpers/iris.ts';
import type { TaskQueueName } from '../../infra/config.ts';
import type { WorkerTracing } from '../../infra/tracing.ts';
import { bundleWorkflows, createWorkers } from '../../infra/worker.ts';
import { jobStatusQuery, type FineTuneJobInput, type JobStatus } from '../../workflows/job-types.ts';
import { s3Client, stack, temporalClient, uniqueTaskQueue } from '../helpers/stack.ts';
import { fineTuneJob } from '../../workflows/fine-tune-job.ts';

// A CommonJS package: Node's ESM loader sees only its default export.
const { temporal } = proto;

export const store = () => new ObjectStore(s3Client(), stack().bucket);
export const ledger = () => new Ledger(store());
export const registry = () => new Registry(store());

export async function put(key: string, body: string): Promise<string> {
  await s3Client().send(new PutObjectCommand({ Bucket: stack().bucket, Key: key, Body: body }));
  return key;
}

/** Iris split 4:1 by row position, so each class is in both files. */
export function irisSplit(): { train: string; eval: string } {
  const lines = irisJsonl().trimEnd().split('\n');
  const pick = (evalRows: boolean) => lines.filter((_, i) => (i % 5 === 4) === evalRows).join('\n') + '\n';
  return { train: pick(false), eval: pick(true) };
}

/** Iris's training file (irisSplit) with `delta` added to feature `feature` of every row: data that drifted. */
export function irisShiftedTrain(feature: number, delta: number): string {
  const rows = irisSplit().train.trimEnd().split('\n');
  const shifted = rows.map((line) => {
    const record = JSON.parse(line) as { features: number[]; label: string };
    record.features[feature] = Math.round((record.features[feature] + delta) * 10) / 10;
    return JSON.stringify(record);
  });
  return shifted.join('\n') + '\n';
}

/** Puts Iris under `<prefix>/train.jsonl` and `eval.jsonl`. */
export async function putIris(prefix: string): Promise<{ trainKey: string; evalKey: string }> {
  const { train, eval: evalText } = irisSplit();
  return { trainKey: await put(`${prefix}/train.jsonl`, train), evalKey: await put(`${prefix}/eval.jsonl`, evalText) };
}

export const submitter = { userId: 'sam-submitter', roles: ['submitter'] };
export const approver = { userId: 'ada-approver', roles: ['approver'] };

export const training = trainingSchema.parse(irisTraining);

/** A job on Iris with the given overrides; each test names its own model, so their registries never meet. */
export function jobInput(
  model: string,
  dataset: { trainKey: string; evalKey: string },
  overrides: Partial<FineTuneJobInput> = {},
): FineTuneJobInput {
  return {
    model,
    submitter,
    dataset: { ...dataset, manifest: { name: 'iris', licence: 'CC-BY-4.0' } },
    training,
    policy: { minAccuracy: 0.8, allowedLicences: ['CC-BY-4.0'], approvalTimeout: '10m' },
    intendedUse: 'Iris species from four flower measurements (test fixture)',
    limitations: ['150 flowers from one collection'],
    ...overrides,
  };
}

// The benches check the same list (bench/load.ts), so it lives with the Iris fixture.
export { DEPLOYED_JOB_ACTIONS } from '../helpers/iris.ts';

export const uniqueModel = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;

let connection: Promise<NativeConnection> | undefined;
let bundle: Promise<WorkflowBundle> | undefined;

/** A prefix for a test file's own `cpu` and `gpu` queues, so no other file's workers take its tasks. */
export const queuesFor = (name: string) => {
  const prefix = `${uniqueTaskQueue(name)}-`;
  return { prefix, cpu: `${prefix}cpu`, gpu: `${prefix}gpu` };
};

/**
 * Starts the production workers (infra/worker.ts) for `taskQueues` under `prefix`; `stop` shuts them down.
 * `tracing`: as `ratchet worker` wires it, with a workflow bundle of their own that has the tracing interceptors.
 * `s3`: the client the activities use, when not the stack's own (a test that cuts their way to S3).
 */
export async function startJobWorkers(
  prefix: string,
  taskQueues: TaskQueueName[] = ['cpu', 'gpu'],
  tracing?: WorkerTracing,
  s3: S3Client = s3Client(),
): Promise<{ stop: () => Promise<void> }> {
  const { temporalAddress, namespace, bucket } = stack();
  connection ??= NativeConnection.connect({ address: temporalAddress });
  if (!tracing) bundle ??= bundleWorkflows();
  const workers = await createWorkers({
    connection: await connection,
    namespace,
    taskQueues,
    queuePrefix: prefix,
    s3,
    bucket,
    workflowBundle: tracing ? undefined : bundle,
    tracing,
  });
  const running = Promise.all(workers.map((worker) => worker.run()));
  return {
    stop: async () => {
      for (const worker of workers) worker.shutdown();
      await running;
    },
  };
}

/** The production workers for `taskQueues` under `prefix`, running while `fn` runs. */
export async function withJobWorkers<T>(
  prefix: string,
  fn: () => Promise<T>,
  taskQueues?: TaskQueueName[],
): Promise<T> {
  const workers = await startJobWorkers(prefix, taskQueues);
  try {
    return await fn();
  } finally {
    await workers.stop();
  }
}

/** Starts `fineTuneJob` on `queues.cpu` (training on `queues.gpu`) with a fresh workflow id beginning `name`. */
export async function startJob(
  name: string,
  input: FineTuneJobInput,
  queues: { cpu: string; gpu: string },
): Promise<WorkflowHandle<typeof fineTuneJob>> {
  return (await temporalClient()).workflow.start(fineTuneJob, {
    taskQueue: queues.cpu,
    workflowId: `${name}-${randomUUID()}`,
    args: [{ ...input, trainingTaskQueue: queues.gpu }],
  });
}

/** The actions the ledger holds about `jobId`, in order. */
export async function ledgerActions(jobId: string, scope = 'default'): Promise<string[]> {
  return (await ledger().list(scope, { subject: jobId })).map((e) => e.action);
}

/**
 * With RATCHET_RECORD_HISTORIES=1, writes the finished run's history to test/fixtures/histories/<name>.json,
 * which test/integration/replay.test.ts replays against the current workflow code.
 */
export async function recordHistory(name: string, handle: WorkflowHandle): Promise<void> {
  if (process.env.RATCHET_RECORD_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  const dir = new URL('../fixtures/histories/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  // The protobuf message's own JSON form: @temporalio/common's historyToJSON breaks on the nested protobufjs
  // version installed here. replay.test.ts reads it back with History.fromObject.
  const json = temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history), {
    longs: String,
    enums: String,
    bytes: String,
  });
  writeFileSync(new URL(`${name}.json`, dir), JSON.stringify(json, null, 1) + '\n');
}

/** Polls the status query until the job is in `state`; fails if it ends in another or moves as the workflow may not. */
export async function waitForState(handle: WorkflowHandle, state: JobStatus['state']): Promise<JobStatus> {
  for (;;) {
    const status = await handle.query(jobStatusQuery);
    const steps = status.transitions.map((t) => t.state);
    steps.slice(1).forEach((to, i) => expect(mayFollow(steps[i], to), `${steps[i]} -> ${to}`).toBe(true));
    if (status.state === state) return status;
    if (FINAL_STATES.includes(status.state)) {
      throw new Error(`job ended ${status.state} while waiting for ${state}${status.error ? `: ${status.error}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Cancels the job and checks that its workflow ended cancelled (a failure whose cause is the cancellation). */
export async function cancelAndExpectCancelled(handle: WorkflowHandle): Promise<void> {
  await handle.cancel();
  const error = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
}

/** The lineage fields a version registered by hand (not by a job) records. */
export const manualLineage = {
  created: '2026-11-28T06:00:00Z',
  datasets: { train: 'a'.repeat(64) },
  hyperparameters: {},
  seed: 1,
  code_version: 'test',
  submitter: 'sam',
};
