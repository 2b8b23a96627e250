// The API describing itself: the OpenAPI document, a page that renders it (served from here, no CDN), and the
// Prometheus metrics.
import { z } from 'zod';
import { pipelineMetrics } from '../../core/metrics/pipeline.ts';
import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from '../../core/metrics/registry.ts';
import type { HttpMetrics } from '../http/metrics.ts';
import type { GaugeSource } from '../temporal/services.ts';
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
  summary: 'Requests, jobs by state, queue backlogs and pipeline metrics (Prometheus text format)',
  role: null,
  responses: { 200: { description: 'Prometheus exposition format 0.0.4', contentType: 'text/plain' } },
});

export const docsEndpoints = [openapi, docs, metrics];

export type MetricsSources = {
  http: HttpMetrics;
  /** Read from Temporal per scrape; absent on the edge. */
  gauges?: GaugeSource;
};

export function docsRoutes(deps: { document: () => object; metrics: MetricsSources; limits: BodyLimits }) {
  const { app, mount } = router(deps.limits);
  mount(openapi, (c) => c.json(deps.document()));
  mount(docs, (c) =>
    c.html(DOCS_PAGE, 200, {
      // The page's script and style are inline and it fetches only /openapi.json.
      'Content-Security-Policy':
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
    }),
  );
  mount(metrics, async (c) => {
    // The pipeline's own figures are this process's: its workers' when they run here (`ratchet dev`), none in an
    // API-only process (a `ratchet worker` serves its own, core/metrics/pipeline.ts says why).
    const local = [...deps.metrics.http.metrics, ...pipelineMetrics.metrics];
    // Temporal down must not take the request counts with it: the gauges are left out and the reason noted.
    const temporal = await Promise.resolve(deps.metrics.gauges?.() ?? []).then(
      (gauges) => renderMetrics(gauges),
      (error: Error) => `# Temporal gauges unavailable: ${error.message.replace(/\n/g, ' ')}\n`,
    );
    return c.body(renderMetrics(local) + temporal, 200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE });
  });
  return app;
}
