// What the console and CLI tests share: the API over real HTTP with an in-process worker running the real
// `fineTuneJob` on a task queue of its own, a fresh tenant with a submitter and a distinct approver, and Iris
// uploaded as the training and evaluation files.
import { afterAll, beforeAll } from 'vitest';
import { createActivities } from '../../activities/index.ts';
import { s3Client, stack, uniqueTaskQueue, withWorker } from '../helpers/stack.ts';
import { call, freshTenant, keyFor, startApi, upload, type Api, type Reply } from './api-harness.ts';
import { irisSplit, training } from './job-harness.ts';

export type IrisStack = {
  api: Api;
  tenant: string;
  /** samApproving: the submitter's user with the approver role, for separation of duties. */
  keys: { submitter: string; samApproving: string; approver: string; viewer: string; admin: string };
  files: { train: string; eval: string };
};

/**
 * Starts everything in a beforeAll and stops the worker in an afterAll; read the result after beforeAll ran.
 * `worker.maxHeartbeatThrottleInterval`: for tests that watch a training's progress move (see withWorker).
 */
export function useIrisStack(
  name: string,
  worker: Pick<Parameters<typeof withWorker>[0], 'maxHeartbeatThrottleInterval'> = {},
): IrisStack {
  const queue = uniqueTaskQueue(name);
  const result = { keys: {}, files: {} } as IrisStack;
  let release!: () => void;
  let running: Promise<unknown> | undefined;

  beforeAll(async () => {
    result.api = await startApi({ taskQueues: { jobs: queue, training: queue } });
    const released = new Promise<void>((resolve) => (release = resolve));
    running = withWorker(
      {
        ...worker,
        taskQueue: queue,
        activities: createActivities({ s3: s3Client(), bucket: stack().bucket, ep: 'cpu' }),
      },
      () => released,
    );
    Object.assign(result, await irisTenant(result.api, name));
  });

  afterAll(async () => {
    release?.();
    await running;
  });

  return result;
}

/**
 * A fresh tenant on `api` with its users' keys (made by the bootstrap admin) and Iris uploaded by the submitter,
 * split 4:1 into the training and evaluation files.
 */
export async function irisTenant(api: Api, name: string): Promise<Omit<IrisStack, 'api'>> {
  const tenant = freshTenant(name);
  const keys = {
    submitter: await keyFor(api, tenant, 'sam', ['submitter']),
    samApproving: await keyFor(api, tenant, 'sam', ['approver']),
    approver: await keyFor(api, tenant, 'ada', ['approver']),
    viewer: await keyFor(api, tenant, 'vic', ['viewer']),
    admin: await keyFor(api, tenant, 'root', ['admin']),
  };
  const { train, eval: evalText } = irisSplit();
  const files = {
    train: (await upload(api, keys.submitter, train)).body.id,
    eval: (await upload(api, keys.submitter, evalText)).body.id,
  };
  return { tenant, keys, files };
}

/** A job on Iris whose candidate becomes a version of the registry model `model` (OpenAI's `suffix`). */
export const irisJobBody = (stack: IrisStack, model: string) => ({
  model: 'mlp',
  suffix: model,
  training_file: stack.files.train,
  validation_file: stack.files.eval,
  training,
  policy: { minAccuracy: 0.8, allowedLicences: ['CC-BY-4.0'], approvalTimeout: '10m' },
  intended_use: 'Iris species from four flower measurements (test fixture)',
});

const FINAL = ['deployed', 'dataset_rejected', 'gate_failed', 'rejected', 'expired', 'cancelled', 'failed'];

/** Polls the job until its precise (Ratchet) state is one of `states`. */
export async function untilStatus(stack: IrisStack, id: string, states: string[], timeoutMs = 60_000): Promise<Reply> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await call(stack.api, 'GET', `/v1/fine_tuning/jobs/${id}`, { key: stack.keys.viewer });
    const state = reply.status === 200 ? reply.body.ratchet.status : undefined;
    if (states.includes(state)) return reply;
    if (FINAL.includes(state))
      throw new Error(`job ${id} ended ${state}, not ${states}: ${JSON.stringify(reply.body.error)}`);
    if (Date.now() > deadline)
      throw new Error(`job ${id} never reached ${states}: ${reply.status} ${reply.text.slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** Starts a job as the submitter (irisJobBody with `overrides`) and waits for it to await approval. */
export async function jobAwaitingApproval(
  stack: IrisStack,
  model: string,
  overrides: Record<string, unknown> = {},
): Promise<string> {
  const reply = await call(stack.api, 'POST', '/v1/fine_tuning/jobs', {
    key: stack.keys.submitter,
    json: { ...irisJobBody(stack, model), ...overrides },
  });
  if (reply.status !== 201) throw new Error(`create failed: ${reply.status} ${reply.text}`);
  await untilStatus(stack, reply.body.id, ['awaiting_approval']);
  return reply.body.id;
}
