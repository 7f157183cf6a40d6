/**
 * @module
 * OpenTelemetry traces for the origin: a server span per /v1 request that continues the edge's W3C
 * `traceparent` (worker/src/trace-context.ts), and child spans for the model load, each generation and
 * each scoring, exported over OTLP/HTTP (JSON) to the standard `OTEL_*` endpoint (Grafana Cloud's
 * OTLP gateway in production). Without an endpoint nothing is loaded or registered: every span call
 * goes to @opentelemetry/api's no-op tracer. Span attributes are counts, ids and labels — never a
 * prompt, a generated text or key material.
 */
import {
  type Attributes,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from '@opentelemetry/api'
import { parseKeyPairsIntoRecord, W3CTraceContextPropagator } from '@opentelemetry/core'
import type { Context, MiddlewareHandler } from 'hono'

/** Instrumentation scope of every origin span. */
export const TRACER_NAME = 'wmlab-origin'
/** `service.name` when OTEL_SERVICE_NAME is unset. */
export const DEFAULT_SERVICE_NAME = 'wmlab-origin'

type Env = Record<string, string | undefined>

/** Where spans go, from the environment. */
export interface TracingConfig {
  /** The OTLP/HTTP traces URL (…/v1/traces). */
  url: string
  /** Export request headers, e.g. `Authorization: Basic base64(instanceId:token)`. */
  headers: Record<string, string>
  serviceName: string
}

/**
 * Reads the standard variables: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is) or
 * OTEL_EXPORTER_OTLP_ENDPOINT (+ `/v1/traces`), OTEL_EXPORTER_OTLP_HEADERS and
 * OTEL_EXPORTER_OTLP_TRACES_HEADERS (`k=v,k2=v2`, values URL-encoded), OTEL_SERVICE_NAME, and
 * OTEL_SDK_DISABLED=true. `null` (tracing off) without an endpoint; throws naming a malformed one.
 *
 * @example
 * readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp-gateway-prod-eu-west-2.grafana.net/otlp' })
 * // { url: 'https://otlp-gateway-prod-eu-west-2.grafana.net/otlp/v1/traces', headers: {}, serviceName: 'wmlab-origin' }
 */
export function readTracingConfig(env: Env): TracingConfig | null {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return null
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()
  const general = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()
  const name = specific ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT'
  const url = specific || (general ? `${general.replace(/\/+$/, '')}/v1/traces` : '')
  if (!url) return null
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    throw new Error(`${name} must be an http(s) URL, got "${specific || general}"`)
  return {
    url,
    headers: {
      ...parseKeyPairsIntoRecord(env.OTEL_EXPORTER_OTLP_HEADERS),
      ...parseKeyPairsIntoRecord(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
    },
    serviceName: env.OTEL_SERVICE_NAME?.trim() || DEFAULT_SERVICE_NAME,
  }
}

/** The origin's tracing pipeline, as started; shut it down before the process exits. */
export interface OriginTracing {
  readonly enabled: boolean
  /** Exports every ended span now. */
  forceFlush(): Promise<void>
  /** Exports what is left, stops exporting and unregisters the globals. */
  shutdown(): Promise<void>
}

const DISABLED: OriginTracing = {
  enabled: false,
  forceFlush: async () => undefined,
  shutdown: async () => undefined,
}

/**
 * Starts tracing when the environment names an endpoint: an OTLP/HTTP JSON exporter behind a batch
 * processor, registered as the global tracer provider with an AsyncLocalStorage context manager (so
 * spans started inside a request's handler become its children). Otherwise returns a disabled
 * pipeline and loads none of the SDK.
 *
 * @example
 * const tracing = await startOriginTracing(process.env)
 * process.on('SIGTERM', () => void tracing.shutdown().finally(() => process.exit(0)))
 */
export async function startOriginTracing(env: Env): Promise<OriginTracing> {
  const config = readTracingConfig(env)
  if (!config) return DISABLED
  // Loaded only here: an origin without an endpoint never pays for the SDK.
  const [{ AsyncLocalStorageContextManager }, { OTLPTraceExporter }, resources, sdk] = await Promise.all([
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace'),
  ])
  const exporter = new OTLPTraceExporter({ url: config.url, headers: config.headers })
  const provider = new sdk.TracerProvider({
    resource: resources
      .defaultResource()
      .merge(resources.resourceFromAttributes({ 'service.name': config.serviceName })),
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter })],
  })
  const contextManager = new AsyncLocalStorageContextManager().enable()
  if (!context.setGlobalContextManager(contextManager) || !trace.setGlobalTracerProvider(provider)) {
    context.disable()
    throw new Error('an OpenTelemetry SDK is already registered in this process')
  }
  return {
    enabled: true,
    forceFlush: () => provider.forceFlush(),
    async shutdown() {
      try {
        await provider.shutdown()
      } finally {
        trace.disable()
        context.disable()
      }
    },
  }
}

/** The origin's tracer (the no-op one until startOriginTracing registers a provider). */
export const originTracer = (): Tracer => trace.getTracer(TRACER_NAME)

/**
 * Marks `span` as failed. Only the error's code or class goes in: messages can quote the input.
 */
export function recordSpanError(span: Span, err: unknown): void {
  const e = err as { code?: unknown; name?: unknown } | null
  const type = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'Error'
  span.setAttribute('error.type', type)
  span.setStatus({ code: SpanStatusCode.ERROR, message: type })
}

/**
 * Runs `fn` in an active span named `name` (a child of the request's span, if any); a throw marks it.
 *
 * @example
 * await withSpan('wmlab.score', { 'wmlab.model': model.id }, async (span) => { … })
 */
export function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return originTracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span)
    } catch (err) {
      recordSpanError(span, err)
      throw err
    } finally {
      span.end()
    }
  })
}

/** The model load (once per process): `wmlab.model_load`, a trace of its own. */
export function traceModelLoad<T>(modelId: string, device: string, load: () => Promise<T>): Promise<T> {
  return context.with(ROOT_CONTEXT, () =>
    withSpan('wmlab.model_load', { 'wmlab.model': modelId, 'wmlab.device': device }, load),
  )
}

const propagator = new W3CTraceContextPropagator()
const headerGetter: TextMapGetter<Headers> = {
  keys: (headers) => {
    const keys: string[] = []
    headers.forEach((_, key) => {
      keys.push(key)
    })
    return keys
  },
  get: (headers, key) => headers.get(key) ?? undefined,
}

/** Ends `span` when the body of a streamed response ends, fails or is cancelled by the client. */
function endWithBody(res: Response, span: Span): Response {
  const reader = res.body!.getReader()
  let open = true
  const end = () => {
    if (open) span.end()
    open = false
  }
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read()
        if (!done) return controller.enqueue(value)
        controller.close()
      } catch (err) {
        recordSpanError(span, err)
        controller.error(err)
      }
      end()
    },
    cancel(reason) {
      end()
      return reader.cancel(reason)
    },
  })
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers })
}

export interface TraceRequestsOptions {
  /**
   * The route pattern that answered (never the raw path), for the span name and `http.route`;
   * `unmatched` when none did.
   */
  route: (c: Context) => string
}

// HTTP semantic conventions: other methods are reported as `_OTHER`, keeping span names bounded.
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/**
 * A server span per request (`POST /v1/generate`, SpanKind.SERVER) that continues the caller's W3C
 * `traceparent` and is active while the handler runs; a streamed (SSE) response's span lasts until
 * its body ends, so the generation it carries stays inside it. 5xx answers mark the span as failed.
 *
 * @example
 * app.use('/v1/*', traceRequests({ route: routeOf }))
 */
export function traceRequests(options: TraceRequestsOptions): MiddlewareHandler {
  return async function traceRequest(c, next) {
    const parent = propagator.extract(ROOT_CONTEXT, c.req.raw.headers, headerGetter)
    const method = METHODS.has(c.req.method) ? c.req.method : '_OTHER'
    const attributes = { 'http.request.method': method }
    await originTracer().startActiveSpan(
      method,
      { kind: SpanKind.SERVER, attributes },
      parent,
      async (span) => {
        let streamed = false
        try {
          await next()
          const route = options.route(c)
          const status = c.res.status
          if (route !== 'unmatched') span.updateName(`${method} ${route}`).setAttribute('http.route', route)
          span.setAttribute('http.response.status_code', status)
          if (status >= 500) recordSpanError(span, c.error ?? { name: String(status) })
          streamed =
            c.res.headers.get('content-type')?.startsWith('text/event-stream') === true && !!c.res.body
          if (streamed) c.res = endWithBody(c.res, span)
        } finally {
          if (!streamed) span.end()
        }
      },
    )
  }
}
