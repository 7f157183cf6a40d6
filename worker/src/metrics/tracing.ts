/**
 * @module
 * Edge spans over OTLP/HTTP (JSON) to Grafana Cloud Tempo, from inside Workers. Workers' built-in
 * tracing ([observability.traces]) records the platform's own calls (fetch, bindings); the spans of
 * this app (request, detection, cache, database, origin) go through @opentelemetry/api to the
 * OpenTelemetry SDK registered here. Workers have no background timers between requests, so ended
 * spans wait in memory and each request's `ctx.waitUntil` sends them in one POST (`flush`).
 * Context flows through AsyncLocalStorage (compatibility flag `nodejs_als`).
 *
 * Without OTLP_TRACES_URL nothing is registered and every span call is @opentelemetry/api's no-op.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { type Context, type ContextManager, context, ROOT_CONTEXT, trace } from '@opentelemetry/api'
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  ParentBasedSampler,
  type ReadableSpan,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace'
import { basicAuth } from './exposition.ts'

export interface EdgeTracingConfig {
  /** OTLP/HTTP traces URL, e.g. https://otlp-gateway-prod-eu-west-2.grafana.net/otlp/v1/traces */
  url: string
  headers: Record<string, string>
  /** Share of new traces recorded (a caller's sampled flag is followed either way). */
  sampleRate: number
  serviceName: string
}

interface TracingEnv {
  OTLP_TRACES_URL?: unknown
  OTLP_TRACES_SAMPLE_RATE?: unknown
  GRAFANA_INSTANCE_ID?: unknown
  GRAFANA_TOKEN?: unknown
}

/**
 * Reads OTLP_TRACES_URL, OTLP_TRACES_SAMPLE_RATE (default 0.1, like [observability.traces]) and the
 * Grafana Cloud credentials the metrics push uses. `null` without a URL; throws naming a bad value.
 */
export function edgeTracingConfig(env: TracingEnv): EdgeTracingConfig | null {
  const url = typeof env.OTLP_TRACES_URL === 'string' ? env.OTLP_TRACES_URL.trim() : ''
  if (!url) return null
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    throw new Error('OTLP_TRACES_URL must be an http(s) URL')
  const rate = env.OTLP_TRACES_SAMPLE_RATE === undefined ? 0.1 : Number(env.OTLP_TRACES_SAMPLE_RATE)
  if (!(rate >= 0 && rate <= 1))
    throw new Error(`OTLP_TRACES_SAMPLE_RATE must be a number in [0, 1], got ${env.OTLP_TRACES_SAMPLE_RATE}`)
  const id = typeof env.GRAFANA_INSTANCE_ID === 'string' ? env.GRAFANA_INSTANCE_ID : ''
  const token = typeof env.GRAFANA_TOKEN === 'string' ? env.GRAFANA_TOKEN : ''
  return {
    url,
    headers: id && token ? { authorization: basicAuth(id, token) } : {},
    sampleRate: rate,
    serviceName: 'wmlab-edge',
  }
}

/** @opentelemetry/api's context, carried across awaits by AsyncLocalStorage. */
class AsyncLocalStorageContext implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>()
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(ctx, () => fn.apply(thisArg, args))
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target
    const fn = target as unknown as (...args: unknown[]) => unknown
    return ((...args: unknown[]) => this.with(ctx, () => fn(...args))) as T
  }
  enable(): this {
    return this
  }
  disable(): this {
    return this
  }
}

/** Spans sent at most per POST; more wait for the next flush. */
const EXPORT_BATCH = 512
/** Ended spans kept at most while the endpoint is slow or down; beyond it new ones are dropped. */
const MAX_PENDING = 4096

/** Keeps ended spans until `forceFlush` (a request's waitUntil) exports them. */
class PendingSpans implements SpanProcessor {
  private spans: ReadableSpan[] = []
  dropped = 0
  constructor(private readonly send: (spans: ReadableSpan[]) => Promise<void>) {}
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    if (this.spans.length >= MAX_PENDING) this.dropped++
    else this.spans.push(span)
  }
  private exporting: Promise<void> = Promise.resolve()
  /** Resolves once every span ended so far has been sent (or kept after a failed send). */
  forceFlush(): Promise<void> {
    // Chained: a flush that finds the spans already taken by an earlier one still waits for its send.
    this.exporting = this.exporting.then(() => this.drain())
    return this.exporting
  }
  private async drain(): Promise<void> {
    while (this.spans.length > 0) {
      const batch = this.spans.splice(0, EXPORT_BATCH)
      try {
        await this.send(batch)
      } catch (e) {
        // Kept for the next flush if there is room; only the status goes to the log, never headers.
        this.spans.unshift(...batch.slice(0, MAX_PENDING - this.spans.length))
        console.error(
          JSON.stringify({ level: 'warn', msg: 'trace export failed', error: (e as Error).message }),
        )
        return
      }
    }
  }
  shutdown(): Promise<void> {
    return this.forceFlush()
  }
}

export interface EdgeTracing {
  /** Sends every ended span (call from each request's waitUntil). */
  flush(): Promise<void>
  /** Flushes and unregisters the globals (tests). */
  shutdown(): Promise<void>
}

/**
 * Registers the SDK for this isolate. `fetchImpl` is the platform fetch (tests pass their own).
 *
 * @example
 * const tracing = startEdgeTracing(config)   // once per isolate
 * ctx.waitUntil(tracing.flush())              // after each request
 */
export function startEdgeTracing(
  config: EdgeTracingConfig,
  // Looked up per call, so a test's spy on globalThis.fetch applies.
  fetchImpl: typeof fetch = (input, init) => fetch(input, init),
): EdgeTracing {
  const send = async (spans: ReadableSpan[]) => {
    const body = JsonTraceSerializer.serializeRequest(spans)
    if (!body) return
    const res = await fetchImpl(config.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...config.headers },
      body: body as Uint8Array<ArrayBuffer>,
    })
    await res.body?.cancel()
    if (!res.ok) throw new Error(`OTLP traces endpoint answered ${res.status}`)
  }
  const pending = new PendingSpans(send)
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRate) }),
    spanProcessors: [pending],
  })
  if (
    !context.setGlobalContextManager(new AsyncLocalStorageContext()) ||
    !trace.setGlobalTracerProvider(provider)
  ) {
    context.disable()
    throw new Error('an OpenTelemetry SDK is already registered in this isolate')
  }
  return {
    flush: () => pending.forceFlush(),
    async shutdown() {
      try {
        await pending.forceFlush()
      } finally {
        trace.disable()
        context.disable()
      }
    },
  }
}
