// Spans through @opentelemetry/api. The API is a no-op until a TracerProvider is registered (tests do;
// in Workers the built-in tracing already records fetch, Durable Object and binding calls), so the
// instrumentation costs nothing when nobody listens. Attributes never carry texts or secrets.
import { type Attributes, type Span, SpanStatusCode, trace } from '@opentelemetry/api'

export const TRACER_NAME = 'lm-watermark-lab/edge'

/** Runs `fn` inside a span named `name`; a thrown error marks the span (its class name only). */
export async function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  // The tracer is looked up per call: a provider registered after module load still applies.
  const span = trace.getTracer(TRACER_NAME, '0.1.0').startSpan(name, { attributes })
  try {
    return await fn(span)
  } catch (e) {
    // Error messages can quote input; the class and code are enough to find the failure.
    const err = e as { name?: string; code?: string }
    span.setAttributes({ 'error.type': err.code ?? err.name ?? 'Error' })
    span.setStatus({ code: SpanStatusCode.ERROR, message: err.code ?? err.name ?? 'Error' })
    throw e
  } finally {
    span.end()
  }
}
