// OpenTelemetry tracing, on only when an OTLP endpoint is configured (infra/config.ts): one trace per job, from the
// API request that starts it through the workflow to each activity attempt. The SDK and Temporal's interceptors
// are imported here, lazily, so a process with tracing off never loads them.
//
// What carries the trace: the API's request span (api/http/tracing.ts) is active while the route starts the
// workflow; the Temporal client's interceptor wraps the start in a span and puts its context in the workflow's
// headers; the workflow interceptors (bundled into the workflow code) open the workflow's span and one per
// scheduled activity, passing the context on in the activity's headers; the activity interceptor opens the span
// of each attempt on the worker. Workflow spans leave the sandbox through a sink, which the SDK calls only
// outside replay, so a replayed workflow exports nothing twice. The HTTP-API transport (api/temporal/http.ts) has no
// interceptor; it puts the same header on the workflows it starts itself (updates and queries go untraced there).
import { createRequire } from 'node:module';
import type { Tracer } from '@opentelemetry/api';
import type { ClientInterceptors } from '@temporalio/client';
import type { ActivityInterceptorsFactory, WorkerOptions } from '@temporalio/worker';

export type ApiTracing = {
  /** Opens the request spans (api/http/tracing.ts). */
  tracer: Tracer;
  /** For the API's Temporal client: starts, signals, updates and queries carry the trace on. */
  clientInterceptors: ClientInterceptors;
  /** Exports what is buffered now (spans leave in batches, every few seconds). */
  flush(): Promise<void>;
  /** Exports what is still buffered, then stops. */
  shutdown(): Promise<void>;
};

export type WorkerTracing = {
  activityInterceptors: ActivityInterceptorsFactory;
  /** The sink that takes the workflow sandbox's spans out to the exporter. */
  sinks: NonNullable<WorkerOptions['sinks']>;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
};

/** The workflow interceptors module, to be bundled with the workflow code (infra/worker.ts: bundleWorkflows). */
export const workflowTracingModule = () =>
  createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/** The service names spans carry, so a backend tells the API from the workers. */
export const SERVICE_NAMES = { api: 'ratchet-api', worker: 'ratchet-worker' } as const;

let contextRegistered = false;

/**
 * A tracer provider for `service` that batches spans to `url` (OTLP over HTTP, JSON). The first call also makes
 * the process's context async-aware (AsyncLocalStorage) and W3C trace context its propagator, which both the
 * request spans and the Temporal interceptors use; a process that runs the API and the workers (`ratchet dev`)
 * has one provider each, so their spans name their own service.
 */
async function provider(url: string, service: string) {
  const [{ BatchSpanProcessor }, { NodeTracerProvider }, { OTLPTraceExporter }, { Resource }] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const resource = Resource.default().merge(new Resource({ 'service.name': service }));
  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url }));
  const tracerProvider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  if (!contextRegistered) {
    // Sets the global context manager and propagator; the global tracer provider too, which nothing here uses:
    // each part takes its tracer from its own provider.
    tracerProvider.register();
    contextRegistered = true;
  }
  return {
    resource,
    processor,
    tracer: tracerProvider.getTracer(service),
    flush: () => tracerProvider.forceFlush(),
    shutdown: () => tracerProvider.shutdown(),
  };
}

export async function startApiTracing(url: string): Promise<ApiTracing> {
  const [{ tracer, flush, shutdown }, { OpenTelemetryWorkflowClientInterceptor }] = await Promise.all([
    provider(url, SERVICE_NAMES.api),
    import('@temporalio/interceptors-opentelemetry/lib/client/index.js'),
  ]);
  return {
    tracer,
    clientInterceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor({ tracer })] },
    flush,
    shutdown,
  };
}

export async function startWorkerTracing(url: string): Promise<WorkerTracing> {
  const [{ tracer, resource, processor, flush, shutdown }, otel] = await Promise.all([
    provider(url, SERVICE_NAMES.worker),
    import('@temporalio/interceptors-opentelemetry/lib/worker/index.js'),
  ]);
  return {
    activityInterceptors: (context) => ({
      inbound: new otel.OpenTelemetryActivityInboundInterceptor(context, { tracer }),
      outbound: new otel.OpenTelemetryActivityOutboundInterceptor(context),
    }),
    sinks: { exporter: otel.makeWorkflowExporter(processor, resource) },
    flush,
    shutdown,
  };
}
