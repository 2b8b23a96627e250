// GET job status under load: the whole stack on loopback (Temporal dev server, S3 server, workers and the API in
// this process, as `ratchet dev` runs them), one Iris job left awaiting approval, then `wrk` against
// GET /v1/fine_tuning/jobs/{id}. Each request authenticates its key (cached) and reads the job: one describe of
// its workflow (Temporal; the status the workflow published in its memo), kept for RATCHET_JOB_STATUS_MAX_AGE_MS
// (500 ms by default). The per-key rate limit is raised out of the way: it is what is measured otherwise. Run it
// with bench/api-wrk.sh.
import { Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { createApp } from '../api/app.ts';
import { startApiServer } from '../api/server.ts';
import { grpcTemporal } from '../api/temporal/grpc.ts';
import { createWorkers } from '../infra/worker.ts';
import { apiRequest, irisJob } from './iris-job.ts';
import { startLocalStack } from './local-stack.ts';
import { jobRouteStatuses, wrk } from './wrk.ts';

const [threads = '2', connections = '16', duration = '20s'] = process.argv.slice(2);
const say = (line: string) => console.error(`bench: ${line}`);
const adminKey = 'bench-bootstrap-admin-key-0123456789abcdef';

Runtime.install({ shutdownSignals: [] });
const stack = await startLocalStack('wrk', say);
const { s3 } = stack;

const workerConnection = await NativeConnection.connect({ address: stack.temporalAddress });
const workers = await createWorkers({
  connection: workerConnection,
  namespace: 'default',
  taskQueues: ['cpu', 'gpu'],
  s3,
  bucket: 'ratchet',
});
const running = workers.map((worker) => worker.run());
const client = await Connection.connect({ address: stack.temporalAddress });
const app = createApp({
  temporal: grpcTemporal(client, 'default'),
  s3,
  bucket: 'ratchet',
  options: { bootstrapAdminKey: adminKey, rateLimit: { perSecond: 1e9, burst: 1e9 } },
});
const api = await startApiServer(app, 0);

const request = apiRequest(api.url);

try {
  const { key, id } = await irisJob(request, adminKey);
  const url = `${api.url}/v1/fine_tuning/jobs/${id}`;
  const run = wrk(url, { threads, connections, duration, key });
  say(`job ${id} awaits approval; wrk -t${threads} -c${connections} -d${duration} --latency ${url}`);
  process.stdout.write((await run).report);
  console.log(JSON.stringify({ 'GET job status, by status': await jobRouteStatuses(api.url) }));
} finally {
  await api.close();
  for (const worker of workers) worker.shutdown();
  await Promise.allSettled(running);
  await workerConnection.close();
  await stack.stop();
  // The client is not closed: its retry timers for calls abandoned when wrk stopped would throw on a closed
  // channel. The process ends here instead.
  process.exit();
}
