// The edge API: thin routes over the detection service and the store; adapters are injected so
// the same app runs in workerd (production, wrangler dev) and in Node tests.
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { Scalar } from '@scalar/hono-api-reference'
import type { Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { cors } from 'hono/cors'
import { secureHeaders } from 'hono/secure-headers'
import { createScheme } from '../../core/schemes/registry.ts'
import { auditBuffer } from './audit-buffer.ts'
import { type DetectionDeps, type DetectOutput, detect, forgetTenantKeys, verdictOnly } from './detection.ts'
import { ApiError, describeZodError, errorBody, onError } from './errors.ts'
import { type ExperimentDeps, registerExperimentRoutes } from './experiments/routes.ts'
import { generateText } from './generation.ts'
import { memoised, TtlMap } from './memo.ts'
import { type MetricsOptions, metricsMiddleware, recordDependency, scrapeHandler } from './metrics/index.ts'
import { withSpan } from './metrics/trace.ts'
import type { RateLimiter, RateLimitResult } from './rate-limit.ts'
import { newId, sha256Hex, timingSafeEqualHex } from './keys.ts'
import { chatCompletions, completions } from './openai-compat.ts'
import type { OriginClient } from './origin-client.ts'
import {
  BatchRequestSchema,
  ChatCompletionRequestSchema,
  ChatCompletionSchema,
  CompletionRequestSchema,
  CompletionSchema,
  DetectionSchema,
  DetectRequestSchema,
  ErrorSchema,
  GenerateBodySchema,
  GenerateResultSchema,
  KeyCreateSchema,
  KeyIdParam,
  KeySchema,
} from './schemas.ts'
import type { Store, Tenant, WatermarkKeyRecord } from './store.ts'

export interface AppDeps extends DetectionDeps {
  /** The store for one request (a Postgres pool per request in Workers; ended via waitUntil). */
  openStore(waitUntil: (p: Promise<unknown>) => void): Store
  /** Secret that authorises the admin bootstrap route (creating tenants and their first API key). */
  adminToken: string | null
  maxBodyBytes: number
  rateLimiter: RateLimiter
  /** Detection requests per client address (cf-connecting-ip) across all its API keys. */
  ipRateLimiter?: RateLimiter
  /** Dependency probes for /health: each resolves when healthy. */
  checks: Record<string, () => Promise<unknown>>
  /** The generation origin (per isolate: its circuit breaker lives here); without it, 503 origin_not_configured. */
  origin?: OriginClient | null
  /** Metrics flush target and /metrics scrape (the MetricsHub in Workers); absent in Node tests. */
  metrics?: MetricsOptions
  /** Origins whose browser pages may call the API (CORS); the Lab UI is same-origin and needs none. */
  corsOrigins?: string[]
  /** Experiments (Postgres + the experiments queue); without them /v1/experiments answers 503. */
  experiments?: ExperimentDeps
}

/** The detection result as this tenant may see it: everything, or the verdict only. */
const shown = (tenant: Tenant, out: DetectOutput) =>
  tenant.detectionDetail === 'verdict' ? verdictOnly(out) : out

/** 429 with Retry-After when a limiter said no (null: the limiter failed, which fails open). */
function refuseOver(limit: RateLimitResult | null, what: string) {
  if (!limit || limit.success) return
  const retryAfter = Math.max(1, Math.ceil((limit.reset - Date.now()) / 1000))
  throw new ApiError(429, 'rate_limited', `${what} exceeded; retry in ${retryAfter} s`, {
    'retry-after': String(retryAfter),
  })
}

export type AppEnv = {
  Variables: {
    tenant: Tenant
    store: Store
    waitUntil: (p: Promise<unknown>) => void
    /** Resolves when the rate limiters let this request through; rejects with a 429 ApiError. */
    admission: Promise<void>
  }
}
type Env = AppEnv

const json = (schema: z.ZodType, description: string) => ({
  content: { 'application/json': { schema } },
  description,
})
const errors = {
  400: json(ErrorSchema, 'Invalid request'),
  401: json(ErrorSchema, 'Missing or invalid API key'),
  404: json(ErrorSchema, 'Not found'),
  413: json(ErrorSchema, 'Too large'),
  415: json(ErrorSchema, 'Not JSON'),
  422: json(ErrorSchema, 'Unprocessable'),
}
const generationErrors = {
  ...errors,
  410: json(ErrorSchema, 'Watermark key revoked'),
  502: json(ErrorSchema, 'The origin failed or cut the stream'),
  503: json(ErrorSchema, 'Origin unavailable, busy or not configured (Retry-After)'),
  504: json(ErrorSchema, 'The origin timed out'),
}
/** A JSON result, or server-sent events when the request says `stream: true`. */
const jsonOrStream = (schema: z.ZodType, description: string) => ({
  content: {
    'application/json': { schema },
    'text/event-stream': { schema: z.string() },
  },
  description,
})
const RESERVED_PARAMS = ['key', 'keys', 'hashKey', 'vocabSize']

const publicKey = ({ tenantId: _t, ...k }: WatermarkKeyRecord) => k

export function createApp(deps: AppDeps) {
  const tenants = new TtlMap<Tenant | null>(30_000)
  const app = new OpenAPIHono<Env>({
    defaultHook: (result, c) => {
      if (!result.success) return c.json(errorBody('invalid_request', describeZodError(result.error)), 400)
    },
  })
  app.onError(onError)
  app.notFound((c) =>
    c.json(errorBody('not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404),
  )

  // Outermost, so counts and durations include every middleware and the error handler's answer.
  app.use('*', metricsMiddleware(deps.metrics))
  app.get('/metrics', scrapeHandler(deps.metrics ?? {}, deps.checks))

  // Platform hook: Workers pass ctx.waitUntil; elsewhere the promise just runs.
  app.use('*', async (c, next) => {
    let ctx: { waitUntil(p: Promise<unknown>): void } | undefined
    try {
      ctx = c.executionCtx
    } catch {
      ctx = undefined
    }
    const pending: Promise<unknown>[] = []
    const keepAlive = (p: Promise<unknown>) => (ctx ? ctx.waitUntil(p) : void p.catch(() => undefined))
    const waitUntil = (p: Promise<unknown>) => {
      pending.push(p)
      keepAlive(p)
    }
    c.set('waitUntil', waitUntil)
    c.set('store', deps.openStore(keepAlive))
    // Audit rows parked during a database outage are written back by later requests (audit-buffer.ts).
    if (auditBuffer.size > 0) waitUntil(auditBuffer.flush(c.get('store')))
    try {
      await next()
    } finally {
      // Release the store only after the request's background writes (audit rows) have run.
      keepAlive(Promise.allSettled(pending).then(() => c.get('store').close()))
    }
  })

  // Hardening for every API answer (nosniff, no framing, no referrer, HSTS). No CSP here: JSON is not
  // rendered, and /docs loads its reference UI from a CDN; the Lab UI's CSP is in its _headers.
  app.use('*', secureHeaders({ crossOriginResourcePolicy: 'same-origin', xXssProtection: false }))
  // CORS: the Lab UI is same-origin; browsers elsewhere may call the API only from listed origins.
  // Before auth, so preflights (no Authorization header) are answered rather than refused.
  app.use(
    '/v1/*',
    cors({
      origin: deps.corsOrigins ?? [],
      allowHeaders: ['authorization', 'content-type'],
      allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
      maxAge: 600,
    }),
  )

  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: deps.maxBodyBytes,
      onError: (c) => c.json(errorBody('payload_too_large', `body over ${deps.maxBodyBytes} bytes`), 413),
    }),
  )
  app.use('/v1/*', async (c, next) => {
    const auth = c.req.header('authorization') ?? ''
    const m = /^Bearer\s+(\S+)$/i.exec(auth)
    if (!m) throw new ApiError(401, 'unauthorized', 'send Authorization: Bearer <api key>')
    const keyHash = await sha256Hex(m[1])
    // API keys are looked up at most every 30 s per isolate (refreshed behind the request that finds
    // the entry expired): a revoked API key stops working within that, plus one database round trip.
    const tenant = await memoised(
      tenants,
      keyHash,
      () =>
        withSpan('db.api_key', { 'db.system': 'postgresql' }, () =>
          c.get('store').tenantForApiKeyHash(keyHash),
        ),
      c.get('waitUntil'),
    )
    if (!tenant) throw new ApiError(401, 'unauthorized', 'invalid API key')
    c.set('tenant', tenant)
    // Fails open: a limiter outage (Redis down) must not take detection down with it.
    const perKey = deps.rateLimiter.limit(keyHash, c.get('waitUntil')).catch(() => null)
    // Detection is an oracle: one client with many API keys is still one address (Cloudflare sets
    // cf-connecting-ip; without it, e.g. in Node tests, only the per-key limit applies).
    const ip = c.req.header('cf-connecting-ip')
    const detection = c.req.path.startsWith('/v1/detect')
    const perAddress =
      ip && deps.ipRateLimiter && detection
        ? deps.ipRateLimiter.limit(`ip:${ip}`, c.get('waitUntil')).catch(() => null)
        : null
    const admission = Promise.all([perKey, perAddress]).then(([key, address]) => {
      refuseOver(key, 'rate limit')
      refuseOver(address, 'per-address detection limit')
    })
    // Detection awaits the limiters together with its cache lookup (one round trip instead of two on
    // a hit) and before any scoring; every other route waits here.
    admission.catch(() => undefined) // awaited below or by the route; never an unhandled rejection
    c.set('admission', admission)
    if (!detection) await admission
    await next()
  })

  app.use('/v1/*', async (c, next) => {
    const length = c.req.header('content-length')
    const hasBody =
      (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined
    if (c.req.method === 'POST' && hasBody) {
      const type = c.req.header('content-type') ?? ''
      if (!type.toLowerCase().startsWith('application/json')) {
        throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json')
      }
    }
    await next()
  })
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/detect',
      summary: 'Detect a watermark in one text',
      request: { body: { content: { 'application/json': { schema: DetectRequestSchema } }, required: true } },
      responses: { 200: json(DetectionSchema, 'Detection result'), ...errors },
    }),
    async (c) =>
      c.json(
        shown(
          c.get('tenant'),
          await detect(
            deps,
            c.get('store'),
            c.get('tenant'),
            c.req.valid('json'),
            c.get('waitUntil'),
            c.get('admission'),
          ),
        ),
        200,
      ),
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/detect/batch',
      summary: 'Detect watermarks in up to 64 texts',
      request: { body: { content: { 'application/json': { schema: BatchRequestSchema } }, required: true } },
      responses: {
        200: json(
          z.object({ results: z.array(z.union([DetectionSchema, ErrorSchema])) }),
          'One result or error per item',
        ),
        ...errors,
      },
    }),
    async (c) => {
      await c.get('admission')
      const results = []
      for (const item of c.req.valid('json').items) {
        try {
          results.push(
            shown(
              c.get('tenant'),
              await detect(deps, c.get('store'), c.get('tenant'), item, c.get('waitUntil')),
            ),
          )
        } catch (e) {
          if (!(e instanceof ApiError)) throw e
          results.push(errorBody(e.code, e.message))
        }
      }
      return c.json({ results }, 200)
    },
  )

  const generation = (c: Context<Env>) => ({
    origin: deps.origin,
    store: c.get('store'),
    tenant: c.get('tenant'),
    waitUntil: c.get('waitUntil'),
    signal: c.req.raw.signal,
    traceparent: c.get('traceparent'),
  })

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/generate',
      summary: 'Generate text, watermarked with a key of this tenant (SSE with stream: true)',
      request: { body: { content: { 'application/json': { schema: GenerateBodySchema } }, required: true } },
      responses: {
        200: jsonOrStream(GenerateResultSchema, 'Result, or token… done|error events'),
        ...generationErrors,
      },
    }),
    async (c) => generateText(generation(c), c.req.valid('json')),
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/chat/completions',
      summary: 'OpenAI-compatible chat completion (watermark_key_id or metadata.watermark_key_id)',
      request: {
        body: { content: { 'application/json': { schema: ChatCompletionRequestSchema } }, required: true },
      },
      responses: {
        200: jsonOrStream(ChatCompletionSchema, 'Completion, or chunks … [DONE]'),
        ...generationErrors,
      },
    }),
    async (c) => chatCompletions(generation(c), c.req.valid('json')),
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/completions',
      summary: 'OpenAI-compatible text completion (watermark_key_id or metadata.watermark_key_id)',
      request: {
        body: { content: { 'application/json': { schema: CompletionRequestSchema } }, required: true },
      },
      responses: {
        200: jsonOrStream(CompletionSchema, 'Completion, or chunks … [DONE]'),
        ...generationErrors,
      },
    }),
    async (c) => completions(generation(c), c.req.valid('json')),
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/keys',
      summary: 'Create a watermark key (its secret material is derived, never returned)',
      request: { body: { content: { 'application/json': { schema: KeyCreateSchema } }, required: true } },
      responses: { 201: json(KeySchema, 'The new key'), ...errors },
    }),
    async (c) => {
      const body = c.req.valid('json')
      const reserved = Object.keys(body.params).filter((k) => RESERVED_PARAMS.includes(k))
      if (reserved.length)
        throw new ApiError(
          400,
          'invalid_request',
          `params.${reserved[0]}: set by the service, not by clients`,
        )
      // Validate the parameters by building the scheme once (a zod error names the field).
      createScheme(body.scheme, {
        ...body.params,
        key: 1n,
        vocabSize: (await deps.tokenizer(body.tokenizer)).logitsSize,
      })
      forgetTenantKeys(c.get('tenant').id)
      const rec = await c.get('store').createKey({
        id: newId('wk'),
        tenantId: c.get('tenant').id,
        scheme: body.scheme,
        params: body.params,
        tokenizer: body.tokenizer,
      })
      return c.json(publicKey(rec), 201)
    },
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/keys',
      summary: "List this tenant's watermark keys",
      responses: { 200: json(z.object({ keys: z.array(KeySchema) }), 'Keys'), ...errors },
    }),
    async (c) => c.json({ keys: (await c.get('store').listKeys(c.get('tenant').id)).map(publicKey) }, 200),
  )

  const keyOr404 = (rec: WatermarkKeyRecord | null, id: string) => {
    if (!rec) throw new ApiError(404, 'key_not_found', `no watermark key "${id}" for this tenant`)
    return rec
  }

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/keys/{id}',
      request: { params: KeyIdParam },
      summary: 'Get one key',
      responses: { 200: json(KeySchema, 'Key'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      return c.json(publicKey(keyOr404(await c.get('store').getKey(c.get('tenant').id, id), id)), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/keys/{id}',
      request: { params: KeyIdParam },
      summary: 'Revoke a key (detectable during the grace period)',
      responses: { 200: json(KeySchema, 'Revoked key'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      forgetTenantKeys(c.get('tenant').id)
      return c.json(publicKey(keyOr404(await c.get('store').revokeKey(c.get('tenant').id, id), id)), 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/keys/{id}/rotate',
      request: { params: KeyIdParam },
      summary: 'Revoke an active key and create its successor, atomically',
      responses: {
        201: json(KeySchema, 'The new key'),
        409: json(ErrorSchema, 'The key is already revoked'),
        ...errors,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      // One transaction: concurrent rotations of a key cannot both create a successor.
      const rec = await c.get('store').rotateKey(c.get('tenant').id, id, newId('wk'))
      if (rec === 'already_revoked')
        throw new ApiError(409, 'key_revoked', `key "${id}" is already revoked; create a new key instead`)
      forgetTenantKeys(c.get('tenant').id)
      return c.json(publicKey(keyOr404(rec, id)), 201)
    },
  )

  registerExperimentRoutes(
    app,
    deps.experiments ?? { open: () => null, queue: null, allowFaultInjection: false },
  )

  /** Admin routes: the ADMIN_TOKEN as a bearer token, compared in constant time. */
  async function requireAdmin(c: Context) {
    const given = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1]
    // Constant-time over fixed-length digests: the time depends on neither the token's length nor its prefix.
    if (
      !deps.adminToken ||
      !given ||
      !timingSafeEqualHex(await sha256Hex(given), await sha256Hex(deps.adminToken))
    ) {
      throw new ApiError(401, 'unauthorized', 'admin token required')
    }
  }
  const adminBody = (c: Context) =>
    c.req.json().catch(() => {
      throw new ApiError(400, 'invalid_json', 'body is not valid JSON')
    })
  /** 'verdict': detection answers carry the verdict only (an untrusted client). */
  const DetectionDetail = z.enum(['full', 'verdict'])

  app.post('/admin/tenants', async (c) => {
    await requireAdmin(c)
    const body = z
      .object({
        // Postgres text cannot hold U+0000 (it was a 500).
        name: z
          .string()
          .min(1)
          .max(200)
          .refine((s) => !s.includes('\u0000'), 'must not contain U+0000'),
        storeText: z.boolean().default(false),
        detectionDetail: DetectionDetail.default('full'),
      })
      .strict()
      .parse(await adminBody(c))
    const store = c.get('store')
    const tenant = await store.createTenant(body.name, body.storeText, body.detectionDetail)
    const created = await store.createApiKey(tenant.id)
    if (!created) throw new Error('the tenant just created was not found')
    return c.json({ tenant, apiKey: created.key }, 201)
  })

  // Another API key for a tenant, e.g. a verdict-only one for an untrusted client of a full tenant.
  app.post('/admin/tenants/:id/api-keys', async (c) => {
    await requireAdmin(c)
    const body = z
      .object({ detectionDetail: DetectionDetail.optional() })
      .strict()
      .parse(await adminBody(c))
    const tenantId = c.req.param('id')
    const created = await c.get('store').createApiKey(tenantId, { detectionDetail: body.detectionDetail })
    if (!created) throw new ApiError(404, 'tenant_not_found', 'no such tenant')
    // detectionDetail null: the key answers with its tenant's detail.
    return c.json(
      { id: created.id, tenantId, apiKey: created.key, detectionDetail: body.detectionDetail ?? null },
      201,
    )
  })

  app.get('/health', async (c) => {
    const checks: Record<string, { status: 'ok' | 'down'; latencyMs: number }> = {}
    await Promise.all(
      Object.entries(deps.checks).map(async ([name, probe]) => {
        const t0 = performance.now()
        const ok = await Promise.race([
          probe().then(
            () => true,
            () => false,
          ),
          new Promise<boolean>((r) => setTimeout(() => r(false), 2000)),
        ])
        recordDependency(name, ok, (performance.now() - t0) / 1000)
        checks[name] = {
          status: ok ? 'ok' : 'down',
          latencyMs: Math.round((performance.now() - t0) * 10) / 10,
        }
      }),
    )
    // Detection needs only the kernel and tokenizer; the database and cache degrade it, not stop it.
    const canDetect = await deps.kernel().then(
      () => true,
      () => false,
    )
    const degraded = Object.values(checks).some((x) => x.status === 'down')
    return c.json(
      // audit: this isolate's audit rows not yet in the database (audit-buffer.ts), for drains and outages.
      { status: canDetect ? (degraded ? 'degraded' : 'ok') : 'down', checks, audit: auditBuffer.state },
      canDetect ? 200 : 503,
    )
  })

  app.doc31('/openapi.json', { openapi: '3.1.0', info: { title: 'LM Watermark Lab API', version: '0.1.0' } })
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' })
  app.get('/docs', Scalar({ url: '/openapi.json' }))
  return app
}
