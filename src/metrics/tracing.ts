import { context, propagation, trace } from '@opentelemetry/api';
import { VERSION } from '../version.js';
import { setTracer } from './spans.js';

/**
 * OpenTelemetry tracing, off by default: main.ts imports this module only when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set. Spans go over OTLP/HTTP (JSON) to `<endpoint>/v1/traces`
 * (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given), batched. Spans: `webhook` → `job <kind>` (its
 * parent travels in the queued job) → `gitlab.<operation>` and `learner.<method>` (the decisions).
 */
export interface Tracing {
  /** flushes what is batched and stops exporting */
  shutdown(): Promise<void>;
}

export async function startTracing(o: {
  endpoint: string;
  tracesEndpoint?: string | null;
  serviceName?: string | null;
}): Promise<Tracing> {
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
  const url = o.tracesEndpoint || `${o.endpoint.replace(/\/+$/, '')}/v1/traces`;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      'service.name': o.serviceName || 'pipeline-learner',
      'service.version': VERSION,
    }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 1000 })],
  });
  // the global context manager (AsyncLocalStorage) and W3C propagator: spans nest across awaits
  provider.register();
  setTracer(provider.getTracer('pipeline-learner', VERSION));
  return {
    async shutdown() {
      setTracer(null);
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
