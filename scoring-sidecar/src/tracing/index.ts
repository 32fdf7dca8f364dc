// tracing/: OpenTelemetry traces of the request path, off by default. Product code uses only
// @opentelemetry/api (`trace.getTracer`), whose tracer is a no-op until a provider is registered here: with
// tracing off, a span costs one no-op object. `startTracing` registers the SDK's provider when
// OTEL_EXPORTER_OTLP_ENDPOINT is set (spans exported over OTLP/HTTP in batches) or when an exporter is given
// (tests: the SDK's InMemorySpanExporter).
import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

export interface Tracing {
  /** Flushes pending spans and unregisters the provider. */
  shutdown(): Promise<void>;
}

export function startTracing(
  env: Record<string, string | undefined>,
  o: { exporter?: SpanExporter; serviceName?: string } = {},
): Tracing | null {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!o.exporter && !endpoint) return null;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': env.OTEL_SERVICE_NAME?.trim() || o.serviceName || 'leadrank-sidecar',
      'leadrank.region': env.REGION ?? '',
    }),
    spanProcessors: [
      o.exporter
        ? new SimpleSpanProcessor(o.exporter)
        : // The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces) and OTEL_EXPORTER_OTLP_HEADERS itself.
          new BatchSpanProcessor(new OTLPTraceExporter()),
    ],
  });
  trace.setGlobalTracerProvider(provider);
  return {
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
    },
  };
}
