// The HTTP API as a Hono app, built from its dependencies so tests and the server wire it the same way.
import type { S3Client } from '@aws-sdk/client-s3';
import type { ConnectionLike } from '@temporalio/client';
import { Hono } from 'hono';
import { problem } from './problem.ts';
import { s3Check, temporalCheck } from './readiness.ts';
import { healthRoutes } from './routes/health.ts';

export type AppDeps = {
  temporal: ConnectionLike;
  namespace: string;
  s3: S3Client;
  bucket: string;
};

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.route(
    '/',
    healthRoutes({ temporal: temporalCheck(deps.temporal, deps.namespace), s3: s3Check(deps.s3, deps.bucket) }),
  );
  app.notFound((c) => problem(c, 404, { title: 'Not found', detail: `no route for ${c.req.method} ${c.req.path}` }));
  app.onError((error, c) => {
    console.error(`api: ${c.req.method} ${c.req.path} failed:`, error);
    return problem(c, 500, { title: 'Internal error' });
  });
  return app;
}
