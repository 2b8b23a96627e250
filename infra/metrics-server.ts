// A worker's own /metrics (RATCHET_METRICS_PORT): the pipeline metrics this process observed
// (core/metrics/pipeline.ts says why workers serve their own rather than the API deriving them).
import { pipelineMetrics } from '../core/metrics/pipeline.ts';
import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from '../core/metrics/registry.ts';
import { startApiServer, type ApiServer } from '../api/server.ts';

export function startMetricsServer(port: number, host: string): Promise<ApiServer> {
  return startApiServer(
    {
      fetch: (request) =>
        new URL(request.url).pathname === '/metrics' && request.method === 'GET'
          ? new Response(renderMetrics(pipelineMetrics.metrics), {
              headers: { 'content-type': PROMETHEUS_CONTENT_TYPE },
            })
          : new Response('not found: this port serves GET /metrics only\n', { status: 404 }),
    },
    port,
    host,
  );
}
