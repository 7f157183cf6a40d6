// Spans through @opentelemetry/api. The API is a no-op until a TracerProvider is registered
// (metrics/tracing.ts does when OTLP_TRACES_URL is set; tests do), so the instrumentation costs
// little when nobody listens. Attributes never carry texts or secrets.
import {
  type Attributes,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api'
import { formatTraceparent, parseTraceparent, type TraceContext } from '../trace-context.ts'

export const TRACER_NAME = 'lm-watermark-lab/edge'

// The tracer is looked up per call: a provider registered after module load still applies.
const tracer = () => trace.getTracer(TRACER_NAME, '0.1.0')

/** Marks `span` failed with the error's code or class: messages can quote input. */
function recordError(span: Span, e: unknown): void {
  const err = e as { name?: string; code?: string }
  const type = err.code ?? err.name ?? 'Error'
  span.setAttributes({ 'error.type': type })
  span.setStatus({ code: SpanStatusCode.ERROR, message: type })
}

/** Runs `fn` inside an active span named `name` (a child of the current one); a throw marks it. */
export function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return tracer().startActiveSpan(name, { attributes, kind }, async (span) => {
    try {
      return await fn(span)
    } catch (e) {
      recordError(span, e)
      throw e
    } finally {
      span.end()
    }
  })
}

/**
 * The `traceparent` to send downstream from inside the current span: the recording span's own ids
 * (so the origin's spans hang under an exported edge span), else `fallback` (the request's hop).
 */
export function currentTraceparent(fallback: string): string {
  const span = trace.getActiveSpan()
  if (!span?.isRecording()) return fallback
  const sc = span.spanContext()
  return formatTraceparent({ traceId: sc.traceId, parentId: sc.spanId, flags: sc.traceFlags })
}

/**
 * The request's server span, continuing the caller's trace (`incoming`, already parsed). `hop` is
 * the span id that stands for the edge in logs and downstream: the span's own when it records,
 * else the given fallback hop. `run` executes inside the span's context.
 */
export async function withServerSpan<T>(
  method: string,
  incoming: TraceContext | null,
  fallback: TraceContext,
  run: (hop: TraceContext, span: Span) => Promise<T>,
): Promise<T> {
  const parent = incoming
    ? trace.setSpanContext(ROOT_CONTEXT, {
        traceId: incoming.traceId,
        spanId: incoming.parentId,
        traceFlags: incoming.flags,
        isRemote: true,
      })
    : ROOT_CONTEXT
  const span = tracer().startSpan(method, { kind: SpanKind.SERVER }, parent)
  const sc = span.spanContext()
  const hop = span.isRecording()
    ? { traceId: sc.traceId, parentId: sc.spanId, flags: sc.traceFlags }
    : fallback
  try {
    return await context.with(trace.setSpan(parent, span), () => run(hop, span))
  } catch (e) {
    recordError(span, e)
    throw e
  } finally {
    span.end()
  }
}

export { parseTraceparent, SpanKind }
