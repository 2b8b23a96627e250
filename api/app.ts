// The HTTP API as a Hono app, built from its dependencies so tests and the server wire it the same way.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Tracer } from '@opentelemetry/api';
import { Hono } from 'hono';
import { Ledger } from '../core/ledger/ledger.ts';
import { InvalidObjectKey, ObjectNotFound, ObjectStore } from '../core/object-store.ts';
import { Registry } from '../core/registry/registry.ts';
import { WebhookStore } from '../core/webhooks/store.ts';
import { KeyStore } from './auth/keys.ts';
import { consoleRoutes } from './console/routes.ts';
import { authenticate } from './http/authenticate.ts';
import { storageUnavailable } from './http/storage-unavailable.ts';
import type { ApiEnv } from './http/endpoint.ts';
import { HttpMetrics } from './http/metrics.ts';
import { traceRequests } from './http/tracing.ts';
import { DEFAULT_RATE_LIMIT, rateLimit, type RateLimit } from './http/rate-limit.ts';
import type { BodyLimits } from './http/router.ts';
import { openApiDocument } from './openapi.ts';
import { HttpProblem, problem } from './problem.ts';
import { s3Check } from './readiness.ts';
import { AuditTrail } from './routes/audit-trail.ts';
import { auditEndpoints, auditRoutes } from './routes/audit.ts';
import { datasetEndpoints, datasetRoutes } from './routes/datasets.ts';
import { docsEndpoints, docsRoutes } from './routes/docs.ts';
import { fileEndpoints, fileRoutes } from './routes/files.ts';
import { healthEndpoints, healthRoutes } from './routes/health.ts';
import { jobEndpoints, jobRoutes } from './routes/jobs.ts';
import { keyEndpoints, keyRoutes } from './routes/keys.ts';
import { modelEndpoints, modelRoutes } from './routes/models.ts';
import { reproductionEndpoints, reproductionRoutes } from './routes/reproductions.ts';
import { scheduleEndpoints, scheduleRoutes } from './routes/schedules.ts';
import { webhookEndpoints, webhookRoutes } from './routes/webhooks.ts';
import { isFailure } from './temporal/port.ts';
import type { TaskQueues } from './temporal/jobs.ts';
import type { TemporalServices } from './temporal/services.ts';

export type ApiOptions = {
  /** RATCHET_BOOTSTRAP_ADMIN_KEY: stored as tenant `default`'s admin key on first use, unless one is stored. */
  bootstrapAdminKey?: string;
  rateLimit: RateLimit;
  limits: BodyLimits;
  taskQueues: TaskQueues;
};

export const defaultApiOptions: ApiOptions = {
  rateLimit: DEFAULT_RATE_LIMIT,
  limits: { maxJsonBytes: 1024 * 1024, maxUploadBytes: 32 * 1024 * 1024 },
  taskQueues: { jobs: 'cpu', training: 'gpu' },
};

export type AppDeps = {
  temporal: TemporalServices;
  s3: S3Client;
  bucket: string;
  options?: Partial<ApiOptions>;
  /** A span per request, the parent of what the request starts in Temporal (infra/tracing.ts); none without. */
  tracer?: Tracer;
};

export const allEndpoints = [
  ...healthEndpoints,
  ...docsEndpoints,
  ...keyEndpoints,
  ...fileEndpoints,
  ...datasetEndpoints,
  ...jobEndpoints,
  ...modelEndpoints,
  ...reproductionEndpoints,
  ...scheduleEndpoints,
  ...auditEndpoints,
  ...webhookEndpoints,
];

export function createApp(deps: AppDeps): Hono<ApiEnv> {
  const options = { ...defaultApiOptions, ...deps.options };
  const { limits } = options;
  const store = new ObjectStore(deps.s3, deps.bucket);
  const { temporal } = deps;
  const ledger = new Ledger(store);
  const audit = new AuditTrail(temporal.ledger);
  const metrics = new HttpMetrics();
  let document: object | undefined;

  const app = new Hono<ApiEnv>();
  if (deps.tracer) app.use(traceRequests(deps.tracer));
  app.use(metrics.middleware());
  app.route('/', healthRoutes({ temporal: temporal.ready, s3: s3Check(deps.s3, deps.bucket) }, limits));
  app.route(
    '/',
    docsRoutes({
      document: () => (document ??= openApiDocument(allEndpoints, { title: 'Ratchet API', version: '1' })),
      metrics: { http: metrics, gauges: temporal.gauges },
      limits,
    }),
  );

  app.route('/', consoleRoutes());

  // One key store, so a revocation through this process takes effect at once (its cache is shared).
  const keys = new KeyStore(store, options.bootstrapAdminKey);
  app.use('/v1/*', authenticate(keys), rateLimit(options.rateLimit));
  app.route('/', keyRoutes({ keys, audit, limits }));
  app.route('/', fileRoutes({ store, ledger, s3: deps.s3, bucket: deps.bucket, audit, limits }));
  app.route('/', datasetRoutes({ store, audit, limits }));
  app.route('/', jobRoutes({ jobs: temporal.jobs, store, ledger, audit, limits }));
  app.route(
    '/',
    modelRoutes({ registry: new Registry(store), store, s3: deps.s3, bucket: deps.bucket, audit, limits }),
  );
  if (temporal.reproductions) {
    const reproductions = temporal.reproductions;
    app.route('/', reproductionRoutes({ reproductions, registry: new Registry(store), store, audit, limits }));
  }
  if (temporal.schedules) app.route('/', scheduleRoutes({ schedules: temporal.schedules, audit, store, limits }));
  app.route('/', auditRoutes({ ledger, limits }));
  app.route('/', webhookRoutes({ webhooks: new WebhookStore(store), audit, limits }));

  app.notFound((c) => problem(c, 404, { title: 'Not found', detail: `no route for ${c.req.method} ${c.req.path}` }));
  app.onError((error, c) => {
    if (error instanceof HttpProblem) return problem(c, error.status, error.body, error.headers);
    if (isFailure(error, 'unavailable')) {
      const detail = `Temporal did not answer in time; try again shortly (${error.message})`;
      return problem(c, 503, { title: 'Temporal unavailable', detail }, { 'Retry-After': '5' });
    }
    // Safety nets: names are checked at the edge, so these mean a check is missing, not a server fault.
    if (error instanceof InvalidObjectKey) return problem(c, 400, { title: 'Invalid name', detail: error.message });
    if (error instanceof ObjectNotFound) return problem(c, 404, { title: 'Not found', detail: 'no such object' });
    // The object store did not answer in time (infra/s3-client.ts): a retry later may succeed, nothing is broken here.
    if (storageUnavailable(error)) {
      console.error(`api: ${c.req.method} ${c.req.path}: object store unavailable: ${error.name}: ${error.message}`);
      const detail = 'the object store did not answer; try again shortly';
      return problem(c, 503, { title: 'Storage unavailable', detail }, { 'Retry-After': '5' });
    }
    // The message only: a stack or request dump could hold a key.
    console.error(`api: ${c.req.method} ${c.req.path} failed: ${error.name}: ${error.message}`);
    return problem(c, 500, { title: 'Internal error' });
  });
  return app;
}
