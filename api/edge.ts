// The API on a fetch-only runtime (an edge worker's `export default { fetch }`; Node, Deno and Bun serve it too):
// the same Hono app, with Temporal reached over its HTTP API and S3 over fetch. Nothing here opens a socket itself,
// and nothing it imports loads @temporalio/client or @grpc/grpc-js (the gRPC adapter is api/temporal/grpc.ts).
import { S3Client } from '@aws-sdk/client-s3';
import { FetchHttpHandler } from '@smithy/fetch-http-handler';
import type { Hono } from 'hono';
import { z } from 'zod';
import { createApp, defaultApiOptions, type ApiOptions } from './app.ts';
import type { ApiEnv } from './http/endpoint.ts';
import { errorBody } from './problem.ts';
import { httpTemporal } from './temporal/http.ts';

const text = z.string().trim().min(1, 'must not be empty');
const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

/** The runtime's environment (an edge worker's bindings, or process.env). Names as infra/config.ts reads them. */
const edgeEnv = z.object({
  /** The origin of Temporal's HTTP API, e.g. https://temporal.example.com (the dev server's --http-port). */
  TEMPORAL_HTTP_URL: httpUrl.transform((url) => url.replace(/\/+$/, '')),
  TEMPORAL_NAMESPACE: text.default('default'),
  /** Put before the task queues' names `cpu` and `gpu`, as `ratchet worker --queue-prefix` polls them. */
  RATCHET_QUEUE_PREFIX: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"')
    .default(''),
  S3_ENDPOINT: httpUrl.optional(),
  S3_BUCKET: text.default('ratchet'),
  S3_REGION: text.default('us-east-1'),
  AWS_ACCESS_KEY_ID: text,
  AWS_SECRET_ACCESS_KEY: text,
  RATCHET_BOOTSTRAP_ADMIN_KEY: text.optional(),
});

export type EdgeEnv = z.input<typeof edgeEnv>;

export class EdgeConfigError extends Error {
  override name = 'EdgeConfigError';
}

/** The app for `env`; `options` as createApp takes them (task queues given there replace the prefixed ones). */
export function createEdgeApp(env: Record<string, unknown>, options: Partial<ApiOptions> = {}): Hono<ApiEnv> {
  const parsed = edgeEnv.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new EdgeConfigError(`invalid edge configuration: ${problems.join('; ')}`);
  }
  const config = parsed.data;
  const s3 = new S3Client({
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: config.AWS_ACCESS_KEY_ID, secretAccessKey: config.AWS_SECRET_ACCESS_KEY },
    requestHandler: new FetchHttpHandler(),
  });
  const api = { ...options, bootstrapAdminKey: options.bootstrapAdminKey ?? config.RATCHET_BOOTSTRAP_ADMIN_KEY };
  const temporal = { url: config.TEMPORAL_HTTP_URL, namespace: config.TEMPORAL_NAMESPACE };
  const prefix = config.RATCHET_QUEUE_PREFIX;
  const { jobs, training } = defaultApiOptions.taskQueues;
  const queues = api.taskQueues ?? { jobs: prefix + jobs, training: prefix + training };
  return createApp({
    temporal: httpTemporal(temporal, queues),
    s3,
    bucket: config.S3_BUCKET,
    options: api,
  });
}

/**
 * The fetch handler: builds the app on the first request from the bindings that request comes with (on Node,
 * without any, from process.env).
 */
export function edgeHandler(options: Partial<ApiOptions> = {}) {
  let app: Hono<ApiEnv> | undefined;
  return {
    fetch(request: Request, env?: Record<string, unknown>): Response | Promise<Response> {
      try {
        app ??= createEdgeApp(env ?? globalThis.process?.env ?? {}, options);
      } catch (error) {
        if (!(error instanceof EdgeConfigError)) throw error;
        console.error(`edge: ${error.message}`);
        return Response.json(errorBody(500, { title: 'Server misconfigured', detail: error.message }), { status: 500 });
      }
      return app.fetch(request);
    },
  };
}

export default edgeHandler();
