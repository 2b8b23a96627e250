// vitest globalSetup for the `integration` project: one real Temporal dev server (with RATCHET_TEST_TEMPORAL=cluster,
// the Temporal cluster on PostgreSQL that `ratchet dev --cluster` runs) and one real S3 server (Versity Gateway) on
// free ports in a temp dir, and a worker for the unprefixed `ledger` queue (the tenants' ledger
// writers, which the API's appends go to), shared by every integration test file and torn down afterwards, also
// when tests fail. On Ctrl-C vitest exits at once without teardown; then the exit hooks here and in
// infra/process.ts kill the servers and remove the temp dir.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import type { ManagedProcess } from '../../infra/process.ts';
import { startLocalServers } from '../../infra/local-servers.ts';
import { ensureAll, ensureCluster } from '../../infra/provision.ts';
import { createS3Client, ensureBucket } from '../../infra/s3-client.ts';
import { createWorkers } from '../../infra/worker.ts';
import type { StackInfo } from '../helpers/stack.ts';

const say = (line: string) => console.log(`[stack] ${line}`);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const binaries = await ensureAll(say);
  const mode = process.env.RATCHET_TEST_TEMPORAL ?? 'dev';
  if (mode !== 'dev' && mode !== 'cluster')
    throw new Error(`RATCHET_TEST_TEMPORAL: expected dev or cluster, got ${mode}`);
  // Built only when asked for: the server takes minutes to build from cold.
  const cluster = mode === 'cluster' ? await ensureCluster(say) : undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ratchet-test-'));
  const removeDir = () => fs.rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);

  const started: Array<Pick<ManagedProcess, 'name' | 'pid' | 'stop'>> = [];
  const teardown = async () => {
    for (const server of started.reverse()) {
      await server.stop();
      say(`stopped ${server.name} (pid ${server.pid})`);
    }
    removeDir();
    process.off('exit', removeDir);
    say(`removed ${dir}`);
  };

  try {
    const info: StackInfo = {
      temporalAddress: '',
      temporalHttpPort: 0,
      namespace: 'default',
      s3Endpoint: '',
      bucket: 'ratchet-test',
      accessKeyId: 'ratchet-test',
      secretAccessKey: 'ratchet-test-secret',
      region: 'us-east-1',
    };

    // Free ports picked now and bound later, so picked again when another process was quicker (ports.ts).
    const credentials = { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey };
    const servers = await startLocalServers({ binaries, cluster, dir, namespace: info.namespace, credentials, say });
    const { temporal, s3: s3Server } = servers;
    started.push(...temporal.processes, s3Server);
    info.temporalAddress = temporal.address;
    info.temporalHttpPort = temporal.httpPort;
    const [first] = temporal.processes;
    if (!cluster) say(`temporal dev server up at ${info.temporalAddress} (pid ${first.pid}, log ${first.logFile})`);
    info.s3Endpoint = servers.s3Endpoint;
    say(`s3 server up at ${info.s3Endpoint} (pid ${s3Server.pid}, log ${s3Server.logFile})`);

    const s3 = createS3Client({ endpoint: info.s3Endpoint, region: info.region, forcePathStyle: true, credentials });
    await ensureBucket(s3, info.bucket);

    // Quiet: the worker's state changes, and the core's warnings of updates that overtake a workflow task.
    Runtime.install({
      logger: new DefaultLogger('WARN'),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
    });
    const connection = await NativeConnection.connect({ address: info.temporalAddress });
    const [ledgerWorker] = await createWorkers({
      connection,
      namespace: info.namespace,
      taskQueues: ['ledger'],
      s3,
      bucket: info.bucket,
    });
    const running = ledgerWorker.run();
    started.push({
      name: 'ledger worker',
      pid: process.pid,
      stop: async () => {
        ledgerWorker.shutdown();
        await running;
        await connection.close();
        s3.destroy();
      },
    });
    say('ledger worker polling queue ledger');

    project.provide('stack', info);
    return teardown;
  } catch (error) {
    await teardown();
    throw error;
  }
}
