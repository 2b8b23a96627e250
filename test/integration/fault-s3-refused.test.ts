// The workers' way to S3 refused for 30 s mid-training, as when the S3 server is down or restarting: a TCP proxy in
// front of the real S3 server stops listening (its open connections dropped) and listens again on the same port.
// Unlike a hung server (fault-s3.test.ts), every request fails at once, so the training's attempts fail one after
// another; the job must wait the outage out and finish with the model bytes of an uninterrupted run. Training's old
// retry policy (five attempts, 1 s doubling: 15 s in all) failed the job.
import { once } from 'node:events';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { objectKey, parseObjectKey } from '../../core/object-store.ts';
import { createS3Client } from '../../infra/s3-client.ts';
import { rejectUpdate } from '../../workflows/job-types.ts';
import { stack } from '../helpers/stack.ts';
import {
  approver,
  jobInput,
  putIris,
  queuesFor,
  startJob,
  startJobWorkers,
  store,
  training,
  uniqueModel,
  waitForState,
} from './job-harness.ts';
import { storedCheckpoints, uninterruptedModel } from './worker-process.ts';

const OUTAGE_MS = 30_000;
/** The whole retry window of training's old policy (1 + 2 + 4 + 8 s between five attempts). */
const OLD_RETRY_WINDOW_MS = 15_000;
const spec = { ...training, config: { ...training.config, maxSteps: 2000, checkpointEvery: 100 } };
const queues = queuesFor('fault-s3-refused');

/** A TCP proxy to `target` that can stop listening (refusing connections, dropping open ones) and start again. */
function proxyTo(target: URL) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {}); // a dropped peer
  };
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    async up() {
      server = net.createServer((client) => {
        const upstream = net.connect(Number(target.port), target.hostname);
        track(client);
        track(upstream);
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
      port = (server.address() as net.AddressInfo).port;
    },
    async down() {
      const closed = new Promise((resolve) => server!.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

describe("the workers' S3 refusing connections for 30 s mid-training", () => {
  it('the job waits it out and exports the bytes of an uninterrupted run', { timeout: 180_000 }, async () => {
    const info = stack();
    const proxy = proxyTo(new URL(info.s3Endpoint));
    await proxy.up();
    const s3 = createS3Client({
      endpoint: proxy.url,
      region: info.region,
      forcePathStyle: true,
      credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
    });
    const reference = uninterruptedModel(spec);
    const dataset = await putIris(`datasets/fault-s3-refused-${randomUUID()}`);
    const workers = await startJobWorkers(queues.prefix, ['cpu', 'gpu'], undefined, s3);
    const log = (line: string) => console.log(`fault-s3-refused: ${line}`);
    try {
      const input = jobInput(uniqueModel('iris-s3-refused'), dataset, { training: spec });
      const handle = await startJob('fault-s3-refused', input, queues);
      // Cut once training has stored a checkpoint (read past the proxy, from the server itself).
      const checkpoints = objectKey('jobs', handle.workflowId, 'checkpoints');
      while ((await storedCheckpoints(checkpoints)).length === 0) await new Promise((r) => setTimeout(r, 20));
      await proxy.down();
      const cutAt = Date.now();
      log(`S3 refused from checkpoint ${Math.max(...(await storedCheckpoints(checkpoints)))}`);
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      await proxy.up();
      const backAt = Date.now();
      log(`S3 back after ${backAt - cutAt} ms`);

      const status = await waitForState(handle, 'awaiting_approval');
      log(`awaiting approval ${Date.now() - backAt} ms after S3 came back`);
      const trained = status.training!;
      // The train activity's started event, of the attempt that finished: which attempt, and when it started.
      const events = (await handle.fetchHistory()).events!;
      const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'train')!;
      const last = events.find(
        (e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId) === Number(scheduled.eventId),
      )!;
      const attempt = last.activityTaskStartedEventAttributes!.attempt!;
      const startedAt = Number(last.eventTime!.seconds) * 1000 + Math.floor((last.eventTime!.nanos ?? 0) / 1e6);
      log(
        `training finished on attempt ${attempt}, started ${startedAt - cutAt} ms after the cut, resumed from step ${trained.resumedFromStep}`,
      );
      // The outage was felt, and outlasted what the old retry policy would have waited.
      expect(attempt).toBeGreaterThan(1);
      expect(startedAt - cutAt).toBeGreaterThan(OLD_RETRY_WINDOW_MS);
      expect(trained.steps).toBe(spec.config.maxSteps);
      expect(trained.resumedFromStep).toBeGreaterThan(0);
      const bytes = (await store().get(parseObjectKey(trained.modelKey))).bytes;
      expect(Buffer.from(bytes).equals(await reference)).toBe(true);
      await handle.executeUpdate(rejectUpdate, { args: [{ identity: approver, reason: 'fault test: training only' }] });
      expect(await handle.result()).toMatchObject({ state: 'rejected' });
    } finally {
      await workers.stop();
      await proxy.down().catch(() => {});
      s3.destroy();
    }
  });
});
