// Which failed S3 requests the API answers with 503 (api/http/storage-unavailable.ts), from real requests made by
// the API's S3 client (infra/s3-client.ts) to real sockets: a port nothing listens on, a server that accepts and
// never answers (a hung or stopped S3), a server that answers 500, and one that answers 403 (not an outage).
import net from 'node:net';
import http from 'node:http';
import { once } from 'node:events';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { storageUnavailable } from '../../api/http/storage-unavailable.ts';
import { createS3Client } from '../../infra/s3-client.ts';

const servers: net.Server[] = [];
afterAll(() => servers.forEach((server) => server.close()));

async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** The error the API's client gets reading an object from `port`, and how long it took. */
async function failureFrom(port: number) {
  const s3 = createS3Client(
    {
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test-secret' },
    },
    'api',
  );
  const started = Date.now();
  const error = await s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'k' })).then(
    () => undefined,
    (e: unknown) => e,
  );
  s3.destroy();
  return { error, ms: Date.now() - started };
}

const answering = (status: number) =>
  http.createServer((_, res) => {
    res.writeHead(status, { 'content-type': 'application/xml' });
    res.end(`<?xml version="1.0"?><Error><Code>${status === 403 ? 'AccessDenied' : 'InternalError'}</Code></Error>`);
  });

describe('storageUnavailable', () => {
  it('a refused connection is an outage', async () => {
    const closed = net.createServer();
    const port = await listen(closed);
    closed.close();
    expect(storageUnavailable((await failureFrom(port)).error)).toBe(true);
  });

  it(
    'a server that never answers is an outage, reported within the API client bound',
    { timeout: 30_000 },
    async () => {
      const silent = net.createServer(() => {}); // accepts and says nothing
      const { error, ms } = await failureFrom(await listen(silent));
      expect(storageUnavailable(error)).toBe(true);
      expect(ms).toBeLessThan(10_000);
    },
  );

  it("the server's 500 is an outage; its 403 is not", async () => {
    expect(storageUnavailable((await failureFrom(await listen(answering(500)))).error)).toBe(true);
    expect(storageUnavailable((await failureFrom(await listen(answering(403)))).error)).toBe(false);
  });
});
