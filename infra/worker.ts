// Temporal workers: the dev stack runs them in-process; `ratchet worker` runs them alone, for a cluster where
// N worker machines share one Temporal and one S3.
import { fileURLToPath } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import { activitiesByQueue, createActivities } from '../activities/index.ts';
import { activityMetrics } from '../activities/metrics.ts';
import type { TaskQueueName } from './config.ts';
import { startMetricsServer } from './metrics-server.ts';
import { createS3Client } from './s3-client.ts';
import { connectionSetupOrReport } from './temporal-connection.ts';
import { startWorkerTracing, workflowTracingModule, type WorkerTracing } from './tracing.ts';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export type WorkerDeps = {
  connection: NativeConnection;
  namespace: string;
  taskQueues: TaskQueueName[];
  s3: S3Client;
  bucket: string;
  /** Put before each queue name, for several deployments (or tests) sharing one namespace. Default none. */
  queuePrefix?: string;
  /**
   * A bundle already built (a test file builds one for all its workers); otherwise built here when needed. With
   * `tracing`, it must have been built with it (bundleWorkflows({ tracing: true })).
   */
  workflowBundle?: Promise<WorkflowBundle>;
  /** Spans for every workflow and activity (infra/tracing.ts); none without. */
  tracing?: WorkerTracing;
};

/**
 * What each queue's worker runs. `gpu`: training and distillation only (no workflows), one at a time: a step
 * already uses every core or the whole GPU, so a second one only halves the speed of both and doubles the memory;
 * `auto` takes CUDA
 * where the worker has it and reports the CPU fallback in the job's result otherwise. `cpu`: the workflows and
 * every other stage. On SIGINT/SIGTERM a worker stops polling and cancels its running activities at once: a
 * training stops within one step, stores a checkpoint and fails its attempt, which another worker resumes.
 * `ledger`: the tenants' ledger writers (workflow and activities), which every `cpu` worker serves too, since
 * the workflows there append to ledgers.
 */
function queueOptions(taskQueue: TaskQueueName, deps: WorkerDeps, workflowBundle: () => Promise<WorkflowBundle>) {
  const ledgerQueue = (deps.queuePrefix ?? '') + 'ledger';
  const { gpu, cpu, ledger } = activitiesByQueue(
    createActivities({ s3: deps.s3, bucket: deps.bucket, ep: 'auto', ledgerQueue }),
  );
  if (taskQueue === 'gpu') {
    // Heartbeats carry the newest checkpoint's key; sent at most every second (not the SDK's 80 % of the
    // heartbeat timeout), the server's copy stays close to what the worker has stored.
    return Promise.resolve({
      activities: gpu,
      maxConcurrentActivityTaskExecutions: 1,
      maxHeartbeatThrottleInterval: '1 second',
    });
  }
  const activities = taskQueue === 'ledger' ? ledger : cpu;
  return workflowBundle().then((bundle) => ({ activities, workflowBundle: bundle }));
}

/**
 * Webpack's build of workflows/index.ts for the workflow sandbox; its per-module chatter is left out. `tracing`
 * bundles the OpenTelemetry workflow interceptors: they add headers and spans, never commands, so a history
 * recorded with them off replays with them on and back (test/integration/replay.test.ts replays both ways).
 */
export function bundleWorkflows(options: { tracing?: boolean } = {}): Promise<WorkflowBundle> {
  return bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules: options.tracing ? [workflowTracingModule()] : [],
    logger: new DefaultLogger('WARN'),
  });
}

/** One worker per task queue; the workflow bundle (seconds to build) is made once, and only for `cpu` and `ledger`. */
export async function createWorkers(deps: WorkerDeps): Promise<Worker[]> {
  let bundle = deps.workflowBundle;
  const { connection, namespace, queuePrefix = '', tracing } = deps;
  const workflowBundle = () => (bundle ??= bundleWorkflows({ tracing: Boolean(tracing) }));
  return Promise.all(
    withLedger(deps.taskQueues).map(async (taskQueue) =>
      Worker.create({
        connection,
        namespace,
        taskQueue: queuePrefix + taskQueue,
        ...(await queueOptions(taskQueue, deps, workflowBundle)),
        interceptors: { activity: tracing ? [activityMetrics, tracing.activityInterceptors] : [activityMetrics] },
        ...(tracing && { sinks: tracing.sinks }),
      }),
    ),
  );
}

/** The queues to poll: `cpu` brings `ledger` along. */
export function withLedger(taskQueues: TaskQueueName[]): TaskQueueName[] {
  return taskQueues.includes('cpu') && !taskQueues.includes('ledger') ? [...taskQueues, 'ledger'] : taskQueues;
}

export async function run(args: string[]): Promise<number> {
  const queuePrefix = parseQueuePrefix(args);
  if (queuePrefix === undefined) {
    console.error(
      'usage: ratchet worker [--queue-prefix PREFIX]   (configured by the environment; see docs/OPERATIONS.md)',
    );
    return 2;
  }
  const setup = connectionSetupOrReport('worker');
  if (!setup) return 2;
  const { config, temporalAddress, s3Endpoint, options } = setup;
  const { namespace, taskQueues } = config.temporal;
  const { tracesUrl, metricsPort } = config.telemetry;
  const tracing = tracesUrl ? await startWorkerTracing(tracesUrl) : undefined;
  const metrics =
    metricsPort === undefined ? undefined : await startMetricsServer(metricsPort, config.telemetry.metricsHost);
  if (metrics) console.log(`worker: metrics at ${metrics.url}/metrics`);
  // Temporal's runtime shuts the workers down on SIGINT/SIGTERM; run() then resolves and the process exits.
  const connection = await NativeConnection.connect(options);
  try {
    const s3 = createS3Client({ ...config.s3, endpoint: s3Endpoint });
    const workers = await createWorkers({
      connection,
      namespace,
      taskQueues,
      queuePrefix,
      s3,
      bucket: config.s3.bucket,
      tracing,
    });
    const polled = withLedger(taskQueues)
      .map((name) => queuePrefix + name)
      .join(', ');
    console.log(`worker: polling ${polled} on ${temporalAddress} (namespace ${namespace})`);
    await Promise.all(workers.map((worker) => worker.run()));
    return 0;
  } finally {
    await connection.close();
    await metrics?.close();
    await tracing?.shutdown();
  }
}

/** '' without arguments, the prefix given by `--queue-prefix PREFIX`, undefined for anything else. */
function parseQueuePrefix(args: string[]): string | undefined {
  if (args.length === 0) return '';
  const [flag, value, ...rest] = args;
  return flag === '--queue-prefix' && value && /^[A-Za-z0-9._-]+$/.test(value) && rest.length === 0 ? value : undefined;
}
