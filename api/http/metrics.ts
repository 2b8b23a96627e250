// Request counts and latency by route pattern and status, in Prometheus' text format. Labels are route patterns
// (`/v1/files/:fileId`), never raw paths, so the series stay few whatever clients send.
import type { MiddlewareHandler } from 'hono';
import { Counter, Histogram, type Metric } from '../../core/metrics/registry.ts';

// Seconds; a request on loopback takes milliseconds, a stream of events minutes.
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class HttpMetrics {
  private readonly requests = new Counter(
    'ratchet_http_requests_total',
    'HTTP requests answered, by method, route pattern and status.',
  );
  private readonly duration = new Histogram(
    'ratchet_http_request_duration_seconds',
    'Time to answer, by method, route pattern and status.',
    BUCKETS,
  );

  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const start = performance.now();
      await next();
      this.observe(c.req.method, c.req.routePath, c.res.status, (performance.now() - start) / 1000);
    };
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  }

  get metrics(): Metric[] {
    return [this.requests, this.duration];
  }
}
