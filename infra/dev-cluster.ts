// The processes `ratchet dev --cluster` runs besides the servers: Ratchet's API and its workers, each a `ratchet`
// child process of its own (as they would run on separate machines), pointed at the cluster and the S3 server.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chartNodeOptions } from './cluster/chart-node-options.ts';
import type { Config, TaskQueueName } from './config.ts';
import { freePort, onFreePorts } from './ports.ts';
import { startRestartable, type Restartable } from './process.ts';

const ratchet = fileURLToPath(new URL('../bin/ratchet.mjs', import.meta.url));

/** Two training workers, so a job's training can move to the other when one dies; one for workflows and the rest. */
export const clusterWorkers: TaskQueueName[] = ['gpu', 'gpu', 'cpu'];

export async function startClusterProcesses(options: {
  config: Config;
  temporalAddress: string;
  s3Endpoint: string;
  /** Called for each process as soon as it has started, so that a later failure still stops it. */
  started: (child: Restartable) => void;
  stop: AbortSignal;
}): Promise<{ apiUrl: string }> {
  const { config, temporalAddress, s3Endpoint, started, stop } = options;
  const logs = path.join(config.dataDir, 'logs');
  const { credentials } = config.s3;
  // Secrets go to the children through their environment, never their command lines (visible in `ps`).
  const env: Record<string, string> = {
    RATCHET_DATA_DIR: config.dataDir,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: config.temporal.namespace,
    S3_ENDPOINT: s3Endpoint,
    S3_BUCKET: config.s3.bucket,
    S3_REGION: config.s3.region,
    ...(credentials
      ? { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey }
      : {}),
  };
  const counts = new Map<string, number>();
  for (const queue of clusterWorkers) {
    if (stop.aborted) return { apiUrl: '' };
    const name = `worker-${queue}-${(counts.get(queue) ?? 0) + 1}`;
    counts.set(queue, (counts.get(queue) ?? 0) + 1);
    started(
      await startRestartable({
        name,
        command: process.execPath,
        args: [ratchet, 'worker'],
        // The Node flags the Helm chart gives this queue's workers (a small young generation), after any of the user's.
        env: { ...env, RATCHET_TASK_QUEUES: queue, NODE_OPTIONS: nodeOptions(queue) },
        logFile: path.join(logs, `${name}.log`),
        // Printed once its workers are created: the connection made and (for cpu) the workflows bundled.
        readyLine: /^worker: polling /m,
        readyTimeoutMs: 120_000,
      }),
    );
  }
  if (stop.aborted) return { apiUrl: '' };
  const { ports: port, started: api } = await onFreePorts(
    () => (config.apiPort === 0 ? freePort() : Promise.resolve(config.apiPort)),
    (port) =>
      startRestartable({
        name: 'api',
        command: process.execPath,
        args: [ratchet, 'api'],
        env: { ...env, RATCHET_API_PORT: String(port) },
        logFile: path.join(logs, 'api.log'),
        port,
      }),
    config.apiPort === 0 ? undefined : 1,
  );
  started(api);
  return { apiUrl: `http://${config.apiHost}:${port}` };
}

function nodeOptions(queue: TaskQueueName): string {
  return [process.env.NODE_OPTIONS, chartNodeOptions(queue)].filter(Boolean).join(' ');
}
