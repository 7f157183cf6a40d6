// The origin's HTTP app: POST /v1/generate (JSON, or SSE with stream: true), POST /v1/score,
// GET /health and GET /metrics. Everything under /v1 must be signed by the edge; /health and
// /metrics answer unsigned (they reveal no text or keys) so probes and scrapers need no secret.
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { HTTPException } from 'hono/http-exception'
import { matchedRoutes } from 'hono/route'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { ScoringKernel } from '../core/kernel/types.ts'
import type { TextTokenizer } from '../core/tokenizers/registry.ts'
import type { ModelSpec } from '../models/registry.ts'
import { createOriginContext } from './context.ts'
import type { Engine } from './engine/types.ts'
import { ApiError, ERROR_CODES } from './errors.ts'
import { ConcurrencyLimiter } from './limiter.ts'
import { createOriginMetrics } from './metrics.ts'
import { generateRoute } from './routes/generate.ts'
import { scoreRoute } from './routes/score.ts'
import { requireSignature } from './signature.ts'
import { type OriginTracing, traceRequests } from './tracing.ts'

export interface OriginDeps {
  model: ModelSpec
  tokenizer: TextTokenizer
  /** The engine, or its load in progress: /health reports loading until it settles. */
  engine: Engine | Promise<Engine>
  /** WATERMARK_MASTER_SECRET: watermark keys are HKDF(master secret, key id), as at the edge. */
  masterSecret: string
  /** ORIGIN_SIGNING_SECRET: required unless allowUnsigned. */
  signingSecret?: string
  /** ORIGIN_ALLOW_UNSIGNED=1: local development only. */
  allowUnsigned?: boolean
  /** Generations (and scorings) at once; default 2. */
  maxConcurrency?: number
  /** Requests waiting for a slot before 503 origin_busy; default 16. */
  maxQueue?: number
  /** Scoring kernel for the schemes (the WASM kernel in production; core's JS kernel by default). */
  kernel?: ScoringKernel
  /** Clock for signature staleness (tests). */
  now?: () => number
  /** startOriginTracing's pipeline: when enabled, each /v1 request runs in a server span. */
  tracing?: OriginTracing
  /** Where one JSON line per request goes (console.log in server.ts); none without it. */
  log?: (line: string) => void
}

/**
 * One log line per request: ids, route, status and latency only — never a header, prompt, text or
 * key material. `traceId` is the edge's (from `traceparent`), so edge and origin lines join up.
 */
export interface OriginRequestLog {
  level: 'info' | 'warn' | 'error'
  msg: 'request'
  requestId: string
  traceId: string | null
  method: string
  route: string
  status: number
  latencyMs: number
}

const MAX_BODY_BYTES = 4 * 1024 * 1024
/** The trace id of a W3C `traceparent` (validated by the tracing middleware when tracing is on). */
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}/
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** The route pattern that answered, never the raw path, so label values stay bounded. */
function routeOf(c: Parameters<typeof matchedRoutes>[0]): string {
  const routes = matchedRoutes(c)
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i].method !== 'ALL') return routes[i].path
  return 'unmatched'
}

/** Renders any thrown error as the JSON envelope; unknown errors become a logged, generic 500. */
function renderError(err: Error): Response {
  if (err instanceof ApiError) return err.getResponse()
  if (err instanceof HTTPException) {
    const code = err.status === 413 ? ERROR_CODES.bodyTooLarge : ERROR_CODES.invalidRequest
    return new ApiError(err.status as ContentfulStatusCode, code, err.message).getResponse()
  }
  console.error('origin: unhandled error', err)
  return new ApiError(500, ERROR_CODES.internal, 'internal error').getResponse()
}

/**
 * The origin app over one loaded (or loading) model.
 *
 * @example
 * const app = createOriginApp({ model, tokenizer, engine, masterSecret, signingSecret })
 * serve({ fetch: app.fetch, port: 8788 })
 */
export function createOriginApp(deps: OriginDeps): Hono {
  const limiter = new ConcurrencyLimiter(deps.maxConcurrency ?? 2, deps.maxQueue ?? 16)
  const metrics = createOriginMetrics({
    queueDepth: () => limiter.queueDepth,
    inFlight: () => limiter.inFlight,
  })
  const ctx = createOriginContext(deps, limiter, metrics)
  const app = new Hono()

  app.use(async function countRequests(c, next) {
    const start = performance.now()
    const requestId = crypto.randomUUID()
    c.header('x-request-id', requestId)
    let status = 500
    try {
      await next()
      status = c.res.status
    } finally {
      const route = routeOf(c)
      const method = METHODS.has(c.req.method) ? c.req.method : 'OTHER'
      const seconds = (performance.now() - start) / 1000
      metrics.httpRequests.inc({ method, route, status: String(status) })
      metrics.httpDuration.observe({ route }, seconds)
      if (deps.log) {
        const line: OriginRequestLog = {
          level: status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info',
          msg: 'request',
          requestId,
          traceId: TRACEPARENT.exec(c.req.header('traceparent') ?? '')?.[1] ?? null,
          method,
          route,
          status,
          latencyMs: Math.round(seconds * 10_000) / 10,
        }
        deps.log(JSON.stringify(line))
      }
    }
  })
  app.onError(renderError)
  app.notFound((c) =>
    new ApiError(404, ERROR_CODES.notFound, `no route ${c.req.method} ${c.req.path}`).getResponse(),
  )

  app.get('/health', async (c) => {
    const state = await Promise.race([
      ctx.engine().then(
        ({ engine }) => ({ status: 'ok' as const, engine }),
        () => ({ status: 'error' as const, engine: undefined }),
      ),
      new Promise<{ status: 'loading'; engine: undefined }>((r) =>
        setImmediate(() => r({ status: 'loading', engine: undefined })),
      ),
    ])
    const body = {
      status: state.status,
      model: {
        id: deps.model.id,
        loaded: state.engine !== undefined,
        device: state.engine?.device ?? null,
        loadMs: state.engine?.loadMs ?? null,
      },
      queue: {
        depth: limiter.queueDepth,
        inFlight: limiter.inFlight,
        maxConcurrency: limiter.maxConcurrent,
        maxQueue: limiter.maxQueue,
      },
    }
    return c.json(body, state.status === 'ok' ? 200 : 503)
  })
  app.get('/metrics', async (c) =>
    c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
  )

  // Before the body limit and the signature check, so their refusals are traced too.
  if (deps.tracing?.enabled) app.use('/v1/*', traceRequests({ route: routeOf }))
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, ERROR_CODES.bodyTooLarge, `the body exceeds ${MAX_BODY_BYTES} bytes`)
      },
    }),
  )
  app.use(
    '/v1/*',
    requireSignature({ secret: deps.signingSecret, allowUnsigned: deps.allowUnsigned, now: deps.now }),
  )
  app.post('/v1/generate', (c) => generateRoute(ctx, c))
  app.post('/v1/score', (c) => scoreRoute(ctx, c))
  return app
}
