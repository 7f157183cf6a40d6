// What the rest of the worker calls. One recorder per isolate (module scope is per isolate); the
// HTTP middleware counts requests and flushes the recorder to the MetricsHub through waitUntil.
import type { Context, MiddlewareHandler } from 'hono'
import { matchedRoutes } from 'hono/route'
import { continueTrace, formatTraceparent, parseTraceparent } from '../trace-context.ts'
import type { IngestResult, MetricsBatch, MetricsSink } from './batch.ts'
import { MetricsRecorder } from './recorder.ts'
import { withServerSpan } from './trace.ts'

export type { MetricsBatch, MetricsSink } from './batch.ts'
export { MetricsRecorder } from './recorder.ts'

declare module 'hono' {
  interface ContextVariableMap {
    /**
     * The edge's hop in the request's W3C trace (worker/src/trace-context.ts), set by
     * metricsMiddleware: what the origin client sends on, so the origin's spans join the trace.
     */
    traceparent: string
  }
}

/** This isolate's recorder. Tests may read it; production code calls the record* functions. */
export const metrics = new MetricsRecorder()

/** How a generation ended: `success`, or why not (the alert divides success by all). */
export type GenerationOutcome = 'success' | 'error' | 'timeout' | 'cancelled' | 'rejected'

/** Counts one generation request (call once per request, when its outcome is known). */
export function recordGeneration(scheme: string, outcome: GenerationOutcome): void {
  metrics.inc('watermark_generations_total', { scheme, outcome })
}

/** Counts one detection served (from the cache or computed), and its evidence (ln p, as detected). */
export function recordDetection(scheme: string, watermarked: boolean, logPValue: number): void {
  metrics.inc('watermark_detections_total', {
    scheme,
    verdict: watermarked ? 'watermarked' : 'not_watermarked',
  })
  // −ln p / ln 10, capped at 1000 so an underflowed p (ln p = −∞) keeps the histogram's sum finite
  // (batches travel as JSON, which has no Infinity).
  if (!Number.isNaN(logPValue))
    metrics.observe(
      'watermark_detection_pvalue_neg_log10',
      { scheme },
      Math.min(1000, Math.max(0, -logPValue / Math.LN10)),
    )
}

/** Counts a detection-result cache lookup; a failed lookup counts as a miss. */
export function recordCacheLookup(hit: boolean): void {
  metrics.inc(hit ? 'cache_hits_total' : 'cache_misses_total')
}

/** Result of a dependency probe (db, cache, origin). */
export function recordDependency(dependency: string, up: boolean, latencySeconds: number): void {
  metrics.set('dependency_up', { dependency }, up ? 1 : 0)
  metrics.set('dependency_latency_seconds', { dependency }, latencySeconds)
}

/** Queue backlog as a consumer sees it (experiments): messages waiting and the oldest one's age. */
export function recordQueue(queue: string, depth: number, oldestAgeSeconds: number): void {
  metrics.set('queue_depth', { queue }, depth)
  metrics.set('queue_oldest_message_age_seconds', { queue }, oldestAgeSeconds)
}

/** Deployment and configuration markers (P3 alerts fire when they change). */
export function recordDeployment(info: { deployedAtSeconds?: number; configHash?: number }): void {
  if (info.deployedAtSeconds !== undefined)
    metrics.set('deployment_timestamp_seconds', {}, info.deployedAtSeconds)
  if (info.configHash !== undefined) metrics.set('config_hash', {}, info.configHash)
}

export interface MetricsOptions {
  /** Where batches go; without one (Node tests, `npm start` without the hub) nothing is sent. */
  sink?: MetricsSink
  /** Prometheus text of the aggregate (the hub's GET /metrics). */
  scrape?: () => Promise<string>
  /** Bearer token a scraper must present at GET /metrics; without one the route answers 401. */
  scrapeToken?: string | null
  /** Called on each request before counting (deployment/config markers, cheap). */
  onRequest?: () => void
  /** Where one structured line per request goes (console.log in Workers); no request logs without it. */
  log?: (line: string) => void
  /**
   * Share of successful requests' lines written (REQUEST_LOG_SAMPLE_RATE, default 1): at high rates
   * a line per cache hit costs more than the hit. Warnings and errors are always written.
   */
  logSampleRate?: number
  /** Sends ended spans (metrics/tracing.ts), through the request's waitUntil. */
  flushTraces?: () => Promise<void>
}

/**
 * One JSON log line per request. Only these fields: never a header, query, body, text or key
 * material, so the log can go to a third party (Workers Logs, Loki) as it is.
 */
export interface RequestLog {
  level: 'info' | 'warn' | 'error'
  msg: 'request'
  requestId: string
  /** The W3C trace id: the client's `traceparent`'s, or a new one (also sent to the origin). */
  traceId: string
  tenantId: string | null
  method: string
  route: string
  status: number
  latencyMs: number
}

/**
 * Flushes this isolate's batch if the policy says so, in the background. Other entry points (queue
 * consumers, scheduled handlers) call this with their own `ctx.waitUntil`.
 */
export function flushMetrics(
  sink: MetricsSink | undefined,
  waitUntil: (p: Promise<unknown>) => void,
  force = false,
) {
  if (!sink || !(force || metrics.due())) return
  waitUntil(metrics.flush(sink))
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/**
 * The route pattern that answered (`/v1/keys/:id`), never the raw path, so label values stay bounded.
 * Middleware is registered with method ALL; a request no handler matched is `unmatched`.
 */
export function routeOf(c: Context): string {
  const routes = matchedRoutes(c)
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i].method !== 'ALL') return routes[i].path
  return 'unmatched'
}

function waitUntilOf(c: Context): (p: Promise<unknown>) => void {
  try {
    const ctx = c.executionCtx
    return (p) => ctx.waitUntil(p)
  } catch {
    return (p) => void p.catch(() => undefined)
  }
}

/**
 * Sets a header on the finished response in place. Hono's c.header() copies the whole Response once it
 * is finalized (two copies per request here, measurable on cache hits); only a response whose headers
 * are immutable (one passed through from a fetch) needs that copy.
 */
function setResponseHeader(c: Context, name: string, value: string): void {
  try {
    c.res.headers.set(name, value)
  } catch {
    c.header(name, value)
  }
}

/**
 * Counts every request (method, route, status, duration, in flight) and flushes to the hub. Also
 * takes the edge's hop in the request's W3C trace: stored as `c.get('traceparent')` for the origin
 * client, answered in the `traceparent` response header, and logged as `traceId`.
 */
export function metricsMiddleware(opts: MetricsOptions = {}): MiddlewareHandler {
  return async (c, next) => {
    opts.onRequest?.()
    const start = performance.now()
    // Cloudflare's ray id ties the log line to the platform's own logs and traces.
    const requestId = c.req.header('cf-ray')?.slice(0, 64) ?? crypto.randomUUID()
    c.header('x-request-id', requestId)
    const incomingHeader = c.req.header('traceparent')
    const method = METHODS.has(c.req.method) ? c.req.method : 'OTHER'
    // The server span's ids when tracing records it, else a fresh hop (trace-context.ts).
    await withServerSpan(
      method,
      parseTraceparent(incomingHeader),
      continueTrace(incomingHeader),
      async (trace, span) => {
        const traceparent = formatTraceparent(trace)
        c.set('traceparent', traceparent)
        metrics.inFlight++
        let status = 500
        try {
          await next()
          status = c.res.status
          // Set after the handler: headers set before it miss a Response a route builds itself (SSE).
          setResponseHeader(c, 'traceparent', traceparent)
          setResponseHeader(c, 'x-request-id', requestId)
        } finally {
          metrics.inFlight--
          const route = routeOf(c)
          const seconds = (performance.now() - start) / 1000
          span.updateName(`${method} ${route}`)
          span.setAttributes({
            'http.request.method': method,
            'http.route': route,
            'http.response.status_code': status,
            'wmlab.request_id': requestId,
          })
          metrics.inc('http_requests_total', { method, route, status: String(status) })
          metrics.observe('http_request_duration_seconds', { route }, seconds)
          metrics.requestDone()
          flushMetrics(opts.sink, waitUntilOf(c))
          if (
            opts.log &&
            (status >= 400 || opts.logSampleRate === undefined || Math.random() < opts.logSampleRate)
          ) {
            const tenant = c.get('tenant' as never) as { id?: string } | undefined
            const line: RequestLog = {
              level: status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info',
              msg: 'request',
              requestId,
              traceId: trace.traceId,
              tenantId: tenant?.id ?? null,
              method,
              route,
              status,
              latencyMs: Math.round(seconds * 10_000) / 10,
            }
            opts.log(JSON.stringify(line))
          }
        }
      },
    )
    // After the server span ended: it goes out with its children.
    if (opts.flushTraces) waitUntilOf(c)(opts.flushTraces())
  }
}

/** Constant-time-enough comparison: compare SHA-256 digests, not the secrets themselves. */
async function sameSecret(a: string, b: string): Promise<boolean> {
  const enc = new TextEncoder()
  const [x, y] = await Promise.all([
    crypto.subtle.digest('SHA-256', enc.encode(a)),
    crypto.subtle.digest('SHA-256', enc.encode(b)),
  ])
  const u = new Uint8Array(x)
  const v = new Uint8Array(y)
  let diff = 0
  for (let i = 0; i < u.length; i++) diff |= u[i] ^ v[i]
  return diff === 0
}

/**
 * GET /metrics: probes the dependencies (so dependency_up is fresh at every scrape), flushes this
 * isolate's batch, then answers the hub's aggregate across isolates.
 */
export function scrapeHandler(
  opts: MetricsOptions,
  checks: Record<string, () => Promise<unknown>>,
): (c: Context) => Promise<Response> {
  return async (c) => {
    const given = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1]
    if (!opts.scrapeToken || !given || !(await sameSecret(given, opts.scrapeToken)))
      return c.json({ error: { code: 'unauthorized', message: 'metrics scrape token required' } }, 401, {
        'www-authenticate': 'Bearer realm="metrics"',
      })
    if (!opts.scrape || !opts.sink)
      return c.json({ error: { code: 'not_configured', message: 'no MetricsHub bound' } }, 503)
    await probeDependencies(checks)
    await metrics.flush(opts.sink)
    return c.body(await opts.scrape(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
  }
}

/** Runs each probe with a timeout and records dependency_up / dependency_latency_seconds. */
export async function probeDependencies(
  checks: Record<string, () => Promise<unknown>>,
  timeoutMs = 2000,
): Promise<Record<string, { up: boolean; latencySeconds: number }>> {
  const out: Record<string, { up: boolean; latencySeconds: number }> = {}
  await Promise.all(
    Object.entries(checks).map(async ([name, probe]) => {
      const t0 = performance.now()
      let timer: ReturnType<typeof setTimeout> | undefined
      const up = await Promise.race([
        probe().then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), timeoutMs)
        }),
      ])
      clearTimeout(timer)
      const latencySeconds = (performance.now() - t0) / 1000
      recordDependency(name, up, latencySeconds)
      out[name] = { up, latencySeconds }
    }),
  )
  return out
}

/** A sink that POSTs batches to the MetricsHub Durable Object (one global instance). */
export function hubSink(
  hub: () => { fetch(input: string, init?: RequestInit): Promise<Response> },
): MetricsSink & {
  scrape(): Promise<string>
} {
  return {
    async send(batches: MetricsBatch[]): Promise<IngestResult> {
      const res = await hub().fetch('https://metrics-hub/ingest', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ batches }),
      })
      if (!res.ok) throw new Error(`MetricsHub ingest answered HTTP ${res.status}`)
      return (await res.json()) as IngestResult
    },
    async scrape(): Promise<string> {
      const res = await hub().fetch('https://metrics-hub/metrics')
      if (!res.ok) throw new Error(`MetricsHub answered HTTP ${res.status}`)
      return res.text()
    },
  }
}

/** 32-bit FNV-1a of a string, as a gauge value (changes whenever the configuration does). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
