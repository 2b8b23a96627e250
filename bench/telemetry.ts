// What traces and metrics cost: whether a process with tracing off loads the OpenTelemetry SDK at all; the time
// the API adds per request with tracing on (a request span exported over OTLP to a local receiver) against off,
// measured side by side on GET /healthz in-process (no network, so the middleware's share is not drowned); and the
// time one /metrics scrape spends reading the Temporal gauges (14 visibility counts + 6 task queue descriptions)
// from a local dev server.
//   npx tsx bench/telemetry.ts [requests per round]
import { createRequire } from 'node:module';
import { Client, Connection } from '@temporalio/client';
import { createApp } from '../api/app.ts';
import { grpcGauges } from '../api/temporal/grpc-gauges.ts';
import { grpcTemporal } from '../api/temporal/grpc.ts';
import { startApiTracing } from '../infra/tracing.ts';
import '../infra/worker.ts';
import { startOtlpReceiver } from '../test/helpers/otlp-receiver.ts';
import { startLocalStack } from './local-stack.ts';

const requests = Number(process.argv[2] ?? 20_000);
const say = (line: string) => console.error(`bench: ${line}`);
const sdkModules = () =>
  Object.keys(createRequire(import.meta.url).cache).filter((path) => /@opentelemetry[\\/]sdk-trace/.test(path));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const stack = await startLocalStack('telemetry', say);
const connection = await Connection.connect({ address: stack.temporalAddress });
try {
  const deps = { s3: stack.s3, bucket: stack.bucket };
  const off = createApp({ ...deps, temporal: grpcTemporal(connection, 'default') });
  await off.request('/healthz');
  console.log(`tracing off: OpenTelemetry SDK modules loaded: ${sdkModules().length}`);

  const receiver = await startOtlpReceiver();
  const tracing = await startApiTracing(receiver.url);
  const on = createApp({
    ...deps,
    temporal: grpcTemporal(connection, 'default', { interceptors: tracing.clientInterceptors }),
    tracer: tracing.tracer,
  });
  console.log(`tracing on:  OpenTelemetry SDK modules loaded: ${sdkModules().length}`);

  const perRequest = async (app: typeof off) => {
    const start = performance.now();
    for (let i = 0; i < requests; i++) await app.request('/healthz');
    return ((performance.now() - start) * 1000) / requests;
  };
  await perRequest(off);
  await perRequest(on); // warm-up
  const rounds = { off: [] as number[], on: [] as number[] };
  for (let round = 0; round < 5; round++) {
    rounds.off.push(await perRequest(off));
    rounds.on.push(await perRequest(on));
  }
  await tracing.flush();
  const [offUs, onUs] = [median(rounds.off), median(rounds.on)];
  console.log(
    `GET /healthz in-process, ${requests} requests x 5 rounds, median: off ${offUs.toFixed(1)} µs, ` +
      `on ${onUs.toFixed(1)} µs (+${(onUs - offUs).toFixed(1)} µs per request); spans received ${receiver.spans.length}`,
  );
  await tracing.shutdown();
  await receiver.close();

  // A fresh source each time: the gauges' 5 s cache would answer the second scrape otherwise.
  const client = new Client({ connection, namespace: 'default' });
  const queues = { jobs: 'cpu', training: 'gpu' };
  const scrapes: number[] = [];
  for (let i = 0; i < 21; i++) {
    const start = performance.now();
    await grpcGauges(client, queues)();
    if (i > 0) scrapes.push(performance.now() - start);
  }
  console.log(`Temporal gauges per scrape (20 reads), median of 20: ${median(scrapes).toFixed(1)} ms`);
} finally {
  await connection.close();
  await stack.stop();
}
