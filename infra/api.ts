// `ratchet api`: the HTTP API alone, for a cluster: any number of these behind a load balancer, the workers in
// their own processes (`ratchet worker`). It keeps no state of its own (everything is in Temporal and S3), so
// replicas come and go freely; what each one holds in memory is listed in docs/OPERATIONS.md ("Kubernetes").
import type { S3Client } from '@aws-sdk/client-s3';
import { Connection } from '@temporalio/client';
import { createApp } from '../api/app.ts';
import { startApiServer, type ApiServer } from '../api/server.ts';
import { grpcTemporal } from '../api/temporal/grpc.ts';
import { takesNoArguments, type Config } from './config.ts';
import { createS3Client } from './s3-client.ts';
import { connectionSetupOrReport } from './temporal-connection.ts';
import { startApiTracing, type ApiTracing } from './tracing.ts';

// Kubernetes sends SIGTERM and, after the pod's grace period, SIGKILL. Open event streams (SSE) would hold a
// graceful close for ever; past this the process exits and their clients reconnect to another replica.
const DRAIN_MS = 10_000;

/**
 * The API on `client` and `s3`, listening where the config says, its spans to `tracing` when tracing is on;
 * `ratchet dev` serves it the same way.
 */
export function serveApi(config: Config, client: Connection, s3: S3Client, tracing?: ApiTracing): Promise<ApiServer> {
  const app = createApp({
    temporal: grpcTemporal(client, config.temporal.namespace, {
      interceptors: tracing?.clientInterceptors,
      statusMaxAgeMs: config.jobStatusMaxAgeMs,
    }),
    s3,
    bucket: config.s3.bucket,
    tracer: tracing?.tracer,
    options: { bootstrapAdminKey: config.bootstrapAdminKey, rateLimit: config.apiRateLimit },
  });
  return startApiServer(app, config.apiPort, config.apiHost);
}

export async function run(args: string[]): Promise<number> {
  if (!takesNoArguments('api', args)) return 2;
  const setup = connectionSetupOrReport('api');
  if (!setup) return 2;
  const { config, temporalAddress, s3Endpoint, options } = setup;
  // Lazy: the process serves /healthz at once and /readyz says whether Temporal answers, instead of failing to
  // start while the cluster is briefly away.
  const client = Connection.lazy(options);
  const s3 = createS3Client({ ...config.s3, endpoint: s3Endpoint }, 'api');
  const { tracesUrl } = config.telemetry;
  const tracing = tracesUrl ? await startApiTracing(tracesUrl) : undefined;
  const server = await serveApi(config, client, s3, tracing);
  console.log(
    `api: listening on ${server.url}; Temporal ${temporalAddress} (namespace ${config.temporal.namespace}), S3 ${s3Endpoint}`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  console.log(`api: ${signal} received, stopping`);
  const drained = await Promise.race([
    server.close().then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), DRAIN_MS).unref()),
  ]);
  await client.close();
  // Sends the spans still batched.
  await tracing?.shutdown();
  s3.destroy();
  // Connections still open after the drain (event streams) would keep the process alive: it ends here instead.
  if (!drained) process.exit(0);
  return 0;
}
