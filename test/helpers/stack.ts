// What an integration test needs to talk to the servers started by test/setup/global-setup.ts.
// Clients and the workflow bundle are made once per test file and closed after its last test.
import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions, type WorkflowBundle } from '@temporalio/worker';
import { afterAll, inject } from 'vitest';
import { createS3Client } from '../../infra/s3-client.ts';
import { bundleWorkflows } from '../../infra/worker.ts';

export type StackInfo = {
  temporalAddress: string;
  /** The dev server's HTTP API (grpc-gateway), for clients that speak only fetch. */
  temporalHttpPort: number;
  namespace: string;
  s3Endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
};

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

/** The variables that point a `ratchet` child process (api, worker) at this stack's Temporal and S3. */
export function stackEnv(): NodeJS.ProcessEnv {
  const { temporalAddress, namespace, s3Endpoint, bucket, accessKeyId, secretAccessKey, region } = stack();
  return {
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: namespace,
    S3_ENDPOINT: s3Endpoint,
    S3_BUCKET: bucket,
    S3_REGION: region,
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
  };
}

export function stack(): StackInfo {
  const info = inject('stack');
  if (!info) {
    throw new Error("no test stack: these helpers work in the vitest project 'integration' (test/integration/**) only");
  }
  return info;
}

let s3: S3Client | undefined;
let client: Promise<Client> | undefined;
let workerConnection: Promise<NativeConnection> | undefined;
let bundle: Promise<WorkflowBundle> | undefined;

export function s3Client(): S3Client {
  const { s3Endpoint, region, accessKeyId, secretAccessKey } = stack();
  s3 ??= createS3Client({
    endpoint: s3Endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
  return s3;
}

export function temporalClient(): Promise<Client> {
  const { temporalAddress, namespace } = stack();
  client ??= Connection.connect({ address: temporalAddress }).then(
    (connection) => new Client({ connection, namespace }),
  );
  return client;
}

/**
 * Runs an in-process worker for workflows/index.ts and `activities` while `fn` runs, then shuts it down.
 * `maxHeartbeatThrottleInterval`: how often the server's copy of a training's progress may change (the SDK's default
 * is 80 % of the heartbeat timeout; the deployed training worker sends one every second, infra/worker.ts).
 */
export async function withWorker<T>(
  options: { taskQueue: string; activities: object } & Pick<WorkerOptions, 'maxHeartbeatThrottleInterval'>,
  fn: () => Promise<T>,
): Promise<T> {
  const { temporalAddress, namespace } = stack();
  workerConnection ??= NativeConnection.connect({ address: temporalAddress });
  bundle ??= bundleWorkflows();
  // Spread, not named: an option present as undefined replaces the SDK's default and Worker.create throws.
  const { taskQueue, activities, ...tuning } = options;
  const worker = await Worker.create({
    connection: await workerConnection,
    namespace,
    taskQueue,
    activities,
    ...tuning,
    workflowBundle: await bundle,
  });
  return worker.runUntil(fn);
}

/** A task queue no other test file or earlier run polls, so workers never pick up each other's tasks. */
export function uniqueTaskQueue(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

afterAll(async () => {
  s3?.destroy();
  await (await client)?.connection.close();
  await (await workerConnection)?.close();
});
