// Temporal workers: the dev stack runs them in-process; `ratchet worker` runs them alone, for a cluster where
// N worker machines share one Temporal and one S3.
import { fileURLToPath } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Worker,
  type WorkerOptions,
  type WorkflowBundle,
} from '@temporalio/worker';
import { createActivities } from '../activities/index.ts';
import { loadConfigOrReport, type Config, type TaskQueueName } from './config.ts';
import { createS3Client } from './s3-client.ts';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export type WorkerDeps = {
  connection: NativeConnection;
  namespace: string;
  taskQueues: TaskQueueName[];
  s3: S3Client;
  bucket: string;
};

// One training at a time per worker: a step already uses every core (or the whole GPU), so a second one only
// halves the speed of both and doubles the memory.
const queueOptions: Record<TaskQueueName, Partial<WorkerOptions>> = {
  cpu: {},
  gpu: { maxConcurrentActivityTaskExecutions: 1 },
};

/** Webpack's build of workflows/index.ts for the workflow sandbox; its per-module chatter is left out. */
export function bundleWorkflows(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
}

/** One worker per task queue, sharing one workflow bundle (bundling takes seconds). */
export async function createWorkers({ connection, namespace, taskQueues, s3, bucket }: WorkerDeps): Promise<Worker[]> {
  const workflowBundle = await bundleWorkflows();
  const activities = createActivities({ s3, bucket });
  return Promise.all(
    taskQueues.map((taskQueue) =>
      Worker.create({ connection, namespace, taskQueue, workflowBundle, activities, ...queueOptions[taskQueue] }),
    ),
  );
}

/** Where `ratchet worker` connects when nothing is configured: the servers of a `ratchet dev` on this machine. */
export function workerTargets(config: Config): { temporalAddress: string; s3Endpoint: string } {
  return {
    temporalAddress: config.temporal.address ?? `127.0.0.1:${config.temporal.localPorts.grpc}`,
    s3Endpoint: config.s3.endpoint ?? `http://127.0.0.1:${config.s3.localPort}`,
  };
}

export async function run(args: string[]): Promise<number> {
  if (args.length > 0) {
    console.error('usage: ratchet worker   (configured by the environment; see docs/OPERATIONS.md)');
    return 2;
  }
  const config = loadConfigOrReport('worker');
  if (!config) return 2;
  const { temporalAddress, s3Endpoint } = workerTargets(config);
  const { namespace, taskQueues } = config.temporal;
  // Temporal's runtime shuts the workers down on SIGINT/SIGTERM; run() then resolves and the process exits.
  const connection = await NativeConnection.connect({ address: temporalAddress });
  try {
    const s3 = createS3Client({ ...config.s3, endpoint: s3Endpoint });
    const workers = await createWorkers({ connection, namespace, taskQueues, s3, bucket: config.s3.bucket });
    console.log(`worker: polling ${taskQueues.join(', ')} on ${temporalAddress} (namespace ${namespace})`);
    await Promise.all(workers.map((worker) => worker.run()));
    return 0;
  } finally {
    await connection.close();
  }
}
