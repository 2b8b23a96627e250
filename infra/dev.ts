// `ratchet dev` (`npm start`): the whole stack on one machine. Starts the Temporal dev server and the S3 server
// (unless TEMPORAL_ADDRESS / S3_ENDPOINT point elsewhere), the workers and the API, and stops all of them on
// Ctrl-C. A server that dies on its own is started again on its ports and data (./supervisor.ts), a few times; any
// other part that dies, or a server that keeps dying, is reported and brings the rest down.
// `--cluster`: Temporal as a cluster on PostgreSQL (infra/cluster/) in place of the dev server, and the API and the
// workers as processes of their own (infra/dev-cluster.ts), each restarted like a server when it dies.
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { describeError } from '../api/readiness.ts';
import { serveApi } from './api.ts';
import { startTemporalClusterStack } from './cluster/start.ts';
import { loadConfigOrReport, type Config } from './config.ts';
import { clusterWorkers, startClusterProcesses } from './dev-cluster.ts';
import { PORT_ATTEMPTS, freePort, onFreePorts } from './ports.ts';
import type { ManagedProcess } from './process.ts';
import { ensure, ensureCluster, temporalCli, versityGateway } from './provision.ts';
import { createS3Client, ensureBucket } from './s3-client.ts';
import { startS3Server } from './s3-server.ts';
import { supervise } from './supervisor.ts';
import { temporalConnectionOptions } from './temporal-connection.ts';
import { startTemporalDevServer } from './temporal-server.ts';
import { startApiTracing, startWorkerTracing } from './tracing.ts';
import { createWorkers } from './worker.ts';

type Cleanup = () => Promise<void>;

/** RATCHET_DEV_RESTARTS restarts of one server within this window, and the stack stops instead. */
const RESTART_WINDOW_MS = 10 * 60_000;

/** Rethrows with what was being reached: SDK errors alone ("Could not load credentials") do not say. */
const explain =
  (what: string) =>
  (error: unknown): never => {
    throw new Error(`${what}: ${describeError(error)}`);
  };

export async function run(args: string[]): Promise<number> {
  const cluster = args.length === 1 && args[0] === '--cluster';
  if (args.length > 0 && !cluster) {
    console.error('usage: ratchet dev [--cluster]   (configured by the environment; see docs/OPERATIONS.md)');
    return 2;
  }
  const config = loadConfigOrReport('dev');
  if (!config) return 2;
  if (cluster && config.temporal.address) {
    console.error('dev: --cluster starts a Temporal cluster of its own; unset TEMPORAL_ADDRESS to use it');
    return 2;
  }

  const stopping = new AbortController();
  let exitCode = 0;
  const fail = (message: string) => {
    if (stopping.signal.aborted) return;
    console.error(`dev: ${message}`);
    exitCode = 1;
    stopping.abort();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping.signal.aborted) {
      // The process's exit hook (infra/process.ts) kills the server processes.
      console.error(`dev: ${signal} again, exiting without waiting`);
      process.exit(130);
    }
    console.log(`dev: ${signal} received, stopping`);
    stopping.abort();
  };
  // SIGHUP too: a closed terminal must not orphan the servers, which run in their own process groups.
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, onSignal);

  // Undone in reverse order, so each part stops before what it depends on.
  const cleanups: Cleanup[] = [];
  try {
    const summary = await startStack(config, cluster, stopping.signal, cleanups, fail);
    if (!stopping.signal.aborted) {
      console.log(summary);
      await new Promise((resolve) => stopping.signal.addEventListener('abort', resolve, { once: true }));
    }
  } catch (error) {
    fail((error as Error).message);
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: Error) => console.error(`dev: while stopping: ${error.message}`));
    }
    for (const signal of signals) process.off(signal, onSignal);
    console.log('dev: stopped');
  }
  return exitCode;
}

// Each step is skipped once a stop was asked for, so Ctrl-C during start-up waits for one step at most.
async function startStack(
  config: Config,
  cluster: boolean,
  stop: AbortSignal,
  cleanups: Cleanup[],
  fail: (message: string) => void,
): Promise<string> {
  // The stack, not Temporal's runtime, decides when workers stop.
  Runtime.install({ shutdownSignals: [] });
  const say = (line: string) => console.log(`dev: ${line}`);
  const { dataDir } = config;
  const { namespace, taskQueues, localPorts } = config.temporal;

  const policy = { max: config.devRestarts, windowMs: RESTART_WINDOW_MS };
  /** A server the stack started: restarted by `restart` when it dies, and stopped with the stack. */
  const supervised = (child: ManagedProcess, restart: () => Promise<ManagedProcess>) => {
    say(`${child.name} started (pid ${child.pid}), log ${child.logFile}`);
    const server = supervise(child, {
      restart,
      policy,
      stopping: stop,
      say: (line) => console.error(`dev: ${line}`),
      fail,
    });
    cleanups.push(() => server.stop());
  };

  // A port configured as 0 is picked here, and picked again when another process takes it first (ports.ts).
  const pick = (port: number) => (port === 0 ? freePort() : Promise.resolve(port));
  const attempts = (...ports: number[]) => (ports.includes(0) ? PORT_ATTEMPTS : 1);

  let temporalAddress = config.temporal.address;
  let temporalUiPort = localPorts.ui;
  if (cluster) {
    const binaries = await ensureCluster(say);
    if (stop.aborted) return '';
    const started = await startTemporalClusterStack({
      binaries,
      dir: path.join(dataDir, 'cluster'),
      namespace,
      say,
    });
    // PostgreSQL keeps the workflows, and the services keep their ports: a restarted one rejoins the others.
    for (const { process: child, restart } of started.servers) supervised(child, restart);
    temporalAddress = started.address;
  } else if (!temporalAddress) {
    const binary = await ensure(temporalCli, say);
    if (stop.aborted) return '';
    const dir = path.join(dataDir, 'temporal');
    const { ports, started } = await onFreePorts(
      async () => ({
        grpc: await pick(localPorts.grpc),
        http: await pick(localPorts.http),
        ui: await pick(localPorts.ui),
      }),
      (ports) => startTemporalDevServer({ binary, dir, namespace, ports }),
      attempts(localPorts.grpc, localPorts.http, localPorts.ui),
    );
    // Its SQLite file keeps the workflows: a restarted server carries on with them.
    supervised(started, () => startTemporalDevServer({ binary, dir, namespace, ports }));
    temporalAddress = `127.0.0.1:${ports.grpc}`;
    temporalUiPort = ports.ui;
  }
  if (stop.aborted) return '';

  let s3Endpoint = config.s3.endpoint;
  if (!s3Endpoint) {
    const binary = await ensure(versityGateway, say);
    if (stop.aborted) return '';
    const credentials = config.s3.credentials!;
    const startOn = (port: number) => startS3Server({ binary, dir: path.join(dataDir, 's3'), port, credentials });
    const { ports: port, started } = await onFreePorts(
      () => pick(config.s3.localPort),
      startOn,
      attempts(config.s3.localPort),
    );
    supervised(started, () => startOn(port));
    s3Endpoint = `http://127.0.0.1:${port}`;
  }
  if (stop.aborted) return '';

  const s3 = createS3Client({ ...config.s3, endpoint: s3Endpoint });
  cleanups.push(async () => s3.destroy());
  const created = await ensureBucket(s3, config.s3.bucket).catch(
    explain(`S3 at ${s3Endpoint}, bucket ${config.s3.bucket}`),
  );
  if (created) say(`created bucket ${config.s3.bucket}`);
  if (stop.aborted) return '';

  let apiUrl: string;
  if (cluster) {
    const started = await startClusterProcesses({
      config,
      temporalAddress,
      s3Endpoint,
      started: ({ process: child, restart }) => supervised(child, restart),
      stop,
    });
    apiUrl = started.apiUrl;
  } else {
    // The API's own S3 client: it gives up sooner than the workers' (infra/s3-client.ts).
    const apiS3 = createS3Client({ ...config.s3, endpoint: s3Endpoint }, 'api');
    cleanups.push(async () => apiS3.destroy());
    apiUrl = await startInProcess(config, temporalAddress, { workers: s3, api: apiS3 }, { cleanups, fail, say, stop });
  }
  if (stop.aborted) return '';

  const adminKey = config.bootstrapAdminKey
    ? 'RATCHET_BOOTSTRAP_ADMIN_KEY'
    : 'RATCHET_BOOTSTRAP_ADMIN_KEY not set (needed on the first start only: 32+ characters)';
  const temporalUi = cluster
    ? '(none: the cluster profile runs no UI; `temporal --address` works against the frontend)'
    : config.temporal.address
      ? '(external cluster: its own UI)'
      : `http://127.0.0.1:${temporalUiPort}`;
  const processes = cluster
    ? [
        `  Processes    postgres, temporal-history, -matching, -frontend, -worker; api; workers ${clusterWorkers.join(', ')}`,
        `  Logs         ${path.join(dataDir, 'cluster')} (servers), ${path.join(dataDir, 'logs')} (api, workers)`,
      ]
    : [];
  return [
    '',
    'Ratchet dev stack is up:',
    `  API          ${apiUrl}   (docs at /docs; GET /healthz, /readyz)`,
    `  Admin key    ${adminKey}`,
    `  Temporal     ${temporalAddress}   namespace ${namespace}, task queues ${taskQueues.join(', ')}`,
    `  Temporal UI  ${temporalUi}`,
    `  S3           ${s3Endpoint}   bucket ${config.s3.bucket}`,
    `  Data         ${dataDir}`,
    ...processes,
    'Press Ctrl-C to stop.',
    '',
  ].join('\n');
}

/** Tracing, the workers and the API in this process (the default profile). Returns the API's URL. */
async function startInProcess(
  config: Config,
  temporalAddress: string,
  s3: { workers: S3Client; api: S3Client },
  stack: { cleanups: Cleanup[]; fail: (message: string) => void; say: (line: string) => void; stop: AbortSignal },
): Promise<string> {
  const { cleanups, fail, say, stop } = stack;
  const { namespace, taskQueues } = config.temporal;
  // Spans leave in batches; shutting the providers down (after the API and workers, cleanups run in reverse)
  // sends what is left.
  const { tracesUrl } = config.telemetry;
  const tracing = tracesUrl
    ? { api: await startApiTracing(tracesUrl), worker: await startWorkerTracing(tracesUrl) }
    : undefined;
  if (tracing) {
    say(`tracing to ${tracesUrl}`);
    cleanups.push(async () => {
      await tracing.api.shutdown();
      await tracing.worker.shutdown();
    });
  }

  const connectionOptions = temporalConnectionOptions(temporalAddress, config.temporal.tls);
  const workerConnection = await NativeConnection.connect(connectionOptions).catch(
    explain(`Temporal at ${temporalAddress}`),
  );
  cleanups.push(() => workerConnection.close());
  const workers = await createWorkers({
    connection: workerConnection,
    namespace,
    taskQueues,
    s3: s3.workers,
    bucket: config.s3.bucket,
    tracing: tracing?.worker,
  });
  const running = workers.map((worker) =>
    worker.run().then(
      () => fail('a worker stopped unexpectedly'),
      (error: Error) => fail(`a worker failed: ${error.message}`),
    ),
  );
  cleanups.push(async () => {
    for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    await Promise.all(running);
  });
  if (stop.aborted) return '';

  const client = await Connection.connect(connectionOptions);
  cleanups.push(() => client.close());
  const api = await serveApi(config, client, s3.api, tracing?.api);
  cleanups.push(() => api.close());
  return api.url;
}
