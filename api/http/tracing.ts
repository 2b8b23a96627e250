// A server span per request when tracing is on (infra/tracing.ts), active while the route runs, so what the route
// starts in Temporal (the client interceptor) becomes its child and a job's trace begins at the request. A caller's
// W3C `traceparent` header, if sent, makes the span its child. Only the OpenTelemetry API is imported here: without
// a tracer nothing of this runs, and the edge entry (api/edge.ts) never passes one.
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type TextMapGetter,
  type Tracer,
} from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';

const fromHeaders: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

export function traceRequests(tracer: Tracer): MiddlewareHandler {
  return async (c, next) => {
    const parent = propagation.extract(context.active(), c.req.raw.headers, fromHeaders);
    const method = c.req.method;
    const span = tracer.startSpan(
      method,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': c.req.path } },
      parent,
    );
    try {
      await context.with(trace.setSpan(parent, span), next);
      span.setAttribute('http.response.status_code', c.res.status);
      if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    } finally {
      // Named by the route pattern, known once routing ran: span names must stay few (the path is an attribute).
      span.setAttribute('http.route', c.req.routePath);
      span.updateName(`${method} ${c.req.routePath}`);
      span.end();
    }
  };
}
