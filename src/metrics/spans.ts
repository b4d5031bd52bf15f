import {
  type Attributes,
  type Context,
  context,
  propagation,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';

/**
 * Span helpers on the OpenTelemetry API alone (no SDK): without tracing started (tracing.ts, loaded
 * only when OTEL_EXPORTER_OTLP_ENDPOINT is set) every helper is a plain call with no span.
 */
let tracer: Tracer | null = null;

export function setTracer(t: Tracer | null): void {
  tracer = t;
}

export function tracingOn(): boolean {
  return tracer !== null;
}

/** Runs `fn` inside a span (child of `parent`, else of the active span); errors mark the span and go on. */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: () => Promise<T>,
  parent?: Context,
): Promise<T> {
  if (!tracer) return fn();
  return tracer.startActiveSpan(name, { attributes }, parent ?? context.active(), async (span) => {
    try {
      return await fn();
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).name });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Attributes on the active span (no-op without one). */
export function annotate(attributes: Attributes): void {
  if (tracer) trace.getActiveSpan()?.setAttributes(attributes);
}

/** The key a job payload carries its webhook's W3C traceparent under (jobs are queued in the database). */
export const TRACEPARENT_KEY = '_traceparent';

/** The job payload with the active span's traceparent, when tracing is on and the payload is an object. */
export function withTraceparent(payload: unknown): unknown {
  if (!tracer || !payload || typeof payload !== 'object' || Array.isArray(payload)) return payload;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? { ...payload, [TRACEPARENT_KEY]: carrier.traceparent } : payload;
}

/** The payload without the traceparent (handlers never see it), and the context it names. */
export function takeTraceparent(payload: unknown): { payload: unknown; parent: Context | undefined } {
  if (!payload || typeof payload !== 'object' || !(TRACEPARENT_KEY in payload)) return { payload, parent: undefined };
  const { [TRACEPARENT_KEY]: traceparent, ...rest } = payload as Record<string, unknown>;
  const parent =
    tracer && typeof traceparent === 'string' ? propagation.extract(context.active(), { traceparent }) : undefined;
  return { payload: rest, parent };
}

/**
 * Wraps the named methods of an object (an instance: its own properties shadow the prototype's) in
 * spans `<prefix>.<method>`, so every holder of the object is traced.
 */
export function traceMethods<T extends object>(target: T, prefix: string, methods: Array<keyof T & string>): void {
  for (const m of methods) {
    const original = target[m];
    if (typeof original !== 'function') continue;
    const bound = (original as (...a: unknown[]) => Promise<unknown>).bind(target);
    Object.defineProperty(target, m, {
      configurable: true,
      writable: true,
      value: (...args: unknown[]) => inSpan(`${prefix}.${m}`, {}, () => bound(...args)),
    });
  }
}
