// The API describing itself: the OpenAPI document, a page that renders it (served from here, no CDN), and the
// Prometheus metrics.
import { z } from 'zod';
import type { HttpMetrics } from '../http/metrics.ts';
import { resource } from '../http/endpoint.ts';
import { router, type BodyLimits } from '../http/router.ts';
import { DOCS_PAGE } from './docs-page.ts';

const api = resource('operations');

const openapi = api.get('/openapi.json', {
  summary: 'This document',
  role: null,
  responses: { 200: { description: 'OpenAPI 3.1', schema: z.record(z.string(), z.unknown()) } },
});

const docs = api.get('/docs', {
  summary: 'The API reference as a web page',
  role: null,
  responses: { 200: { description: 'HTML', contentType: 'text/html' } },
});

const metrics = api.get('/metrics', {
  summary: 'Request counts and latency by route and status (Prometheus text format)',
  role: null,
  responses: { 200: { description: 'Prometheus exposition format 0.0.4', contentType: 'text/plain' } },
});

export const docsEndpoints = [openapi, docs, metrics];

export function docsRoutes(deps: { document: () => object; metrics: HttpMetrics; limits: BodyLimits }) {
  const { app, mount } = router(deps.limits);
  mount(openapi, (c) => c.json(deps.document()));
  mount(docs, (c) =>
    c.html(DOCS_PAGE, 200, {
      // The page's script and style are inline and it fetches only /openapi.json.
      'Content-Security-Policy':
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
    }),
  );
  mount(metrics, (c) =>
    c.body(deps.metrics.render(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }),
  );
  return app;
}
