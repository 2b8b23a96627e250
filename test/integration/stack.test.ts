// The harness's real servers, seen through the API's readiness probe, the S3 client and the Temporal client.
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Connection, type ConnectionLike } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { createApp, type AppDeps } from '../../api/app.ts';
import { grpcTemporal } from '../../api/temporal/grpc.ts';
import { freePort } from '../../infra/ports.ts';
import { createS3Client } from '../../infra/s3-client.ts';
import { searchAttributes } from '../../infra/temporal-server.ts';
import { s3Client, stack, temporalClient, uniqueTaskQueue, withWorker } from '../helpers/stack.ts';

async function harnessDeps(temporal: { connection?: ConnectionLike; namespace?: string } = {}): Promise<AppDeps> {
  const connection = temporal.connection ?? (await temporalClient()).connection;
  const namespace = temporal.namespace ?? stack().namespace;
  return { temporal: grpcTemporal(connection, namespace), s3: s3Client(), bucket: stack().bucket };
}

async function readyz(deps: AppDeps) {
  const response = await createApp(deps).request('/readyz');
  return { status: response.status, type: response.headers.get('content-type'), body: await response.json() };
}

describe('GET /readyz', () => {
  it('is 200 when Temporal and S3 answer', async () => {
    const { status, body } = await readyz(await harnessDeps());
    expect(status).toBe(200);
    expect(body).toEqual({ status: 'ready', checks: { temporal: 'ok', s3: 'ok' } });
  });

  it('is 503 naming S3 when nothing listens at the S3 endpoint', async () => {
    const { region, accessKeyId, secretAccessKey } = stack();
    const deadEndpoint = `http://127.0.0.1:${await freePort()}`;
    const s3 = createS3Client({
      endpoint: deadEndpoint,
      region,
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
    });
    const { status, type, body } = await readyz({ ...(await harnessDeps()), s3 });
    s3.destroy();
    expect(status).toBe(503);
    expect(type).toMatch(/^application\/json/);
    expect(body.error).toMatchObject({
      type: 'server_error',
      code: 'not_ready',
      message: 'unreachable: s3',
      checks: { temporal: 'ok' },
    });
    expect(body.error.checks.s3.error).toMatch(/ECONNREFUSED/);
  });

  it('is 503 naming S3 when the bucket does not exist', async () => {
    const { status, body } = await readyz({ ...(await harnessDeps()), bucket: 'no-such-bucket' });
    expect(status).toBe(503);
    expect(body.error.message).toBe('unreachable: s3');
    expect(body.error.checks.s3.error).toMatch(/404/);
  });

  it('is 503 naming Temporal when nothing listens at the Temporal address', async () => {
    const temporal = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    const { status, type, body } = await readyz(await harnessDeps({ connection: temporal }));
    await temporal.close();
    expect(status).toBe(503);
    expect(type).toMatch(/^application\/json/);
    expect(body.error).toMatchObject({ message: 'unreachable: temporal', checks: { s3: 'ok' } });
    // A Connection.lazy never connected, so the probe's deadline is what ends the wait.
    expect(body.error.checks.temporal.error).toMatch(/DEADLINE_EXCEEDED/);
  });

  it('is 503 naming Temporal when the namespace does not exist', async () => {
    const { status, body } = await readyz(await harnessDeps({ namespace: 'no-such-namespace' }));
    expect(status).toBe(503);
    expect(body.error.checks.temporal.error).toMatch(/no-such-namespace/);
  });
});

describe('the harness servers', () => {
  it('store and return an object', async () => {
    const s3 = s3Client();
    const key = `stack-test/${crypto.randomUUID()}.jsonl`;
    const text = '{"text":"héllo","label":"ham"}\n';
    await s3.send(new PutObjectCommand({ Bucket: stack().bucket, Key: key, Body: text }));
    const got = await s3.send(new GetObjectCommand({ Bucket: stack().bucket, Key: key }));
    expect(await got.Body!.transformToString()).toBe(text);
  });

  it("register the pipeline's search attributes, usable in a workflow list query", async () => {
    const client = await temporalClient();
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({
      namespace: stack().namespace,
    });
    for (const name of Object.keys(searchAttributes)) expect(Object.keys(customAttributes ?? {})).toContain(name);

    const listed = [];
    for await (const workflow of client.workflow.list({ query: `RatchetStatus = 'no-such-status'` }))
      listed.push(workflow);
    expect(listed).toEqual([]);
  });

  it('run an in-process worker that polls its task queue', async () => {
    const client = await temporalClient();
    const taskQueue = uniqueTaskQueue('stack-test');
    const pollers = await withWorker({ taskQueue, activities: {} }, async () => {
      for (;;) {
        const { pollers } = await client.workflowService.describeTaskQueue({
          namespace: stack().namespace,
          taskQueue: { name: taskQueue },
        });
        if (pollers?.length) return pollers;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });
    expect(pollers.length).toBeGreaterThan(0);
  });
});
