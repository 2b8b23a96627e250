// Request counts and latency by route pattern and status, in Prometheus' text format. Labels are route patterns
// (`/v1/files/:fileId`), never raw paths, so the series stay few whatever clients send.
import type { MiddlewareHandler } from 'hono';

// Seconds; a request on loopback takes milliseconds, a stream of events minutes.
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Series = { method: string; route: string; status: number; count: number; sum: number; buckets: number[] };

export class HttpMetrics {
  private readonly series = new Map<string, Series>();

  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const start = performance.now();
      await next();
      this.observe(c.req.method, c.req.routePath, c.res.status, (performance.now() - start) / 1000);
    };
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    const id = `${method} ${route} ${status}`;
    let series = this.series.get(id);
    if (!series) {
      series = { method, route, status, count: 0, sum: 0, buckets: BUCKETS.map(() => 0) };
      this.series.set(id, series);
    }
    series.count++;
    series.sum += seconds;
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) series.buckets[i]++;
    });
  }

  render(): string {
    const lines = [
      '# HELP ratchet_http_requests_total HTTP requests answered, by method, route pattern and status.',
      '# TYPE ratchet_http_requests_total counter',
    ];
    const all = [...this.series.values()];
    for (const s of all) lines.push(`ratchet_http_requests_total{${labels(s)}} ${s.count}`);
    lines.push(
      '# HELP ratchet_http_request_duration_seconds Time to answer, by method, route pattern and status.',
      '# TYPE ratchet_http_request_duration_seconds histogram',
    );
    for (const s of all) {
      BUCKETS.forEach((le, i) =>
        lines.push(`ratchet_http_request_duration_seconds_bucket{${labels(s)},le="${le}"} ${s.buckets[i]}`),
      );
      lines.push(`ratchet_http_request_duration_seconds_bucket{${labels(s)},le="+Inf"} ${s.count}`);
      lines.push(`ratchet_http_request_duration_seconds_sum{${labels(s)}} ${s.sum}`);
      lines.push(`ratchet_http_request_duration_seconds_count{${labels(s)}} ${s.count}`);
    }
    return lines.join('\n') + '\n';
  }
}

const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (s: Series) => `method="${escape(s.method)}",route="${escape(s.route)}",status="${s.status}"`;
