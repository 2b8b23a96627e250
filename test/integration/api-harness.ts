// What the API tests share: the app over real HTTP on a free port against the harness's Temporal and S3, keys
// for fresh tenants made through the API itself, and a fetch helper that parses what comes back.
import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { createApp, type ApiOptions } from '../../api/app.ts';
import type { EdgeEnv } from '../../api/edge.ts';
import { grpcTemporal } from '../../api/temporal/grpc.ts';
import { startApiServer, type ApiServer } from '../../api/server.ts';
import type { Role } from '../../api/auth/principal.ts';
import type { ApiTracing } from '../../infra/tracing.ts';
import { s3Client, stack, temporalClient } from '../helpers/stack.ts';

/**
 * One bootstrap key for every API test file: the bucket is shared, and the first file to use it stores it
 * (first-run bootstrap); the others then present the same key.
 */
export const BOOTSTRAP_ADMIN_KEY = 'ratchet-test-bootstrap-admin-key-0123456789';

export type Api = ApiServer & { admin: string };

const servers: ApiServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.close();
});

/** `tracing`: request spans and the Temporal client's tracing interceptor, as `ratchet dev` wires them. */
export async function startApi(options: Partial<ApiOptions> = {}, tracing?: ApiTracing): Promise<Api> {
  const client = await temporalClient();
  const app = createApp({
    temporal: grpcTemporal(client.connection, stack().namespace, {
      queues: options.taskQueues,
      interceptors: tracing?.clientInterceptors,
    }),
    s3: s3Client(),
    bucket: stack().bucket,
    options: { bootstrapAdminKey: BOOTSTRAP_ADMIN_KEY, ...options },
    tracer: tracing?.tracer,
  });
  const server = await startApiServer(app, 0);
  servers.push(server);
  return { ...server, admin: BOOTSTRAP_ADMIN_KEY };
}

/** The edge entry's bindings (api/edge.ts) for the test stack: Temporal's HTTP API, S3, the bootstrap key. */
export function edgeEnv(): EdgeEnv {
  const info = stack();
  return {
    TEMPORAL_HTTP_URL: `http://127.0.0.1:${info.temporalHttpPort}`,
    TEMPORAL_NAMESPACE: info.namespace,
    S3_ENDPOINT: info.s3Endpoint,
    S3_BUCKET: info.bucket,
    S3_REGION: info.region,
    AWS_ACCESS_KEY_ID: info.accessKeyId,
    AWS_SECRET_ACCESS_KEY: info.secretAccessKey,
    RATCHET_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP_ADMIN_KEY,
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- replies are JSON of many shapes, which the tests assert on
export type Reply = { status: number; headers: Headers; body: any; text: string };

export async function call(
  api: { url: string },
  method: string,
  path: string,
  options: { key?: string; json?: unknown; body?: BodyInit; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers,
    body: options.json !== undefined ? JSON.stringify(options.json) : options.body,
  });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  const body = /^application\/(problem\+)?json/.test(type) && text ? JSON.parse(text) : text;
  return { status: response.status, headers: response.headers, body, text };
}

/**
 * A job's event stream (GET .../events/stream) read to its end: its `data:` events, parsed; the actions its
 * message events name (their message less ` by <user>`); whether it closed with `event: end`.
 */
export function readEventStream(text: string) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- events of several types, which the tests assert on
  const events: any[] = text
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => JSON.parse(block.slice('data: '.length).split('\n')[0]));
  const messages = events.filter((event) => event.type === 'message').map((event) => event.message.split(' by ')[0]);
  return { events, messages, ended: /^event: end\n/.test(text.trimEnd().split('\n\n').at(-1) ?? '') };
}

/** A tenant no other test or run uses. */
export const freshTenant = (name: string) => `${name}-${randomBytes(4).toString('hex')}`;

/** A key for `user` in `tenant`, made by the bootstrap admin through POST /v1/keys. */
export async function keyFor(api: Api, tenant: string, user: string, roles: Role[]): Promise<string> {
  const reply = await call(api, 'POST', '/v1/keys', { key: api.admin, json: { user, roles, tenant } });
  if (reply.status !== 201) throw new Error(`creating a key failed: ${reply.status} ${reply.text}`);
  return reply.body.key;
}

/** Uploads `text` as a multipart fine-tune file, with Ratchet's licence and source as extra form fields. */
export async function upload(
  api: Api,
  key: string,
  text: string,
  fields: Record<string, string> = { licence: 'CC-BY-4.0', source: 'test' },
): Promise<Reply> {
  const form = new FormData();
  form.set('file', new Blob([text], { type: 'application/jsonl' }), 'data.jsonl');
  form.set('purpose', 'fine-tune');
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  return call(api, 'POST', '/v1/files', { key, body: form });
}
