// Cloudflare Workers entry: builds the app and its adapters from the environment once per isolate.
// The WASM kernel and tokenizers load once per isolate (module scope), never per request; the
// Postgres pool is per request (a module-scope Neon Pool breaks the next request).
import { Redis } from '@upstash/redis/cloudflare'
import type { ExecutionContext } from 'hono'
import type { ScoringKernel } from '../../core/kernel/types.ts'
import {
  createCompiledTokenizer,
  createTokenizer,
  getTokenizerSpec,
  type TextTokenizer,
} from '../../core/tokenizers/registry.ts'
import kernelModule from '../../wasm/build/kernel.wasm'
import { createWasmKernel } from '../../wasm/kernel.ts'
import { type Cache, memoryCache, upstashCache } from '../adapters/cache.ts'
import { openStore } from '../adapters/db.ts'
import { openExperimentStore } from '../adapters/experiments-db.ts'
import { configureNeonForLocalProxy, isLoopbackDatabaseUrl } from '../adapters/neon.ts'
import { type AppDeps, createApp } from './app.ts'
import { auditBuffer } from './audit-buffer.ts'
import { withAvailability } from './db-availability.ts'
import { edgeTracingConfig, startEdgeTracing } from './metrics/tracing.ts'
import { metricsFromEnv } from './metrics/workers.ts'
import {
  consumeDeadLetters,
  consumeExperimentJobs,
  type QueueBatch,
  queueGauges,
} from './experiments/consumer.ts'
import { flushMetrics, recordQueue } from './metrics/index.ts'
import type { ExperimentQueue } from './experiments/routes.ts'
import { createOriginClient, type OriginClient } from './origin-client.ts'
import { openPostgresStore } from './pg-store.ts'
import { memoryRateLimiter, upstashRateLimiter } from './rate-limit.ts'
import { redisClientOptions } from './redis-options.ts'
import { MemoryStore } from './store.ts'

export interface Env {
  WATERMARK_MASTER_SECRET: string
  ADMIN_TOKEN?: string
  /** Postgres (Neon in production); without it the worker keeps state in the isolate (dev only). */
  DATABASE_URL?: string
  /** Local development: the WebSocket→TCP proxy (scripts/neon-ws-proxy.ts) as host:port/v2. */
  NEON_WS_PROXY?: string
  UPSTASH_REDIS_REST_URL?: string
  UPSTASH_REDIS_REST_TOKEN?: string
  /** Requests per API key per minute (default 600). */
  RATE_LIMIT_PER_MINUTE?: string
  /** Detection requests per client address per minute, over all its keys (default 1200). */
  RATE_LIMIT_PER_IP_PER_MINUTE?: string
  /** Metrics (ops/RUNBOOK.md): METRICS_HUB (Durable Object), secrets METRICS_SCRAPE_TOKEN,
   * OTLP_METRICS_URL, GRAFANA_INSTANCE_ID, GRAFANA_TOKEN; CF_VERSION_METADATA (version_metadata). */
  METRICS_SCRAPE_TOKEN?: string
  /** Edge spans over OTLP/HTTP (metrics/tracing.ts): the traces URL (with the GRAFANA_* secrets for
   * auth) and the share of new traces recorded (default 0.1). */
  OTLP_TRACES_URL?: string
  OTLP_TRACES_SAMPLE_RATE?: string
  /** Audit rows arriving within this many ms share one database connection (default 100; 0: off). */
  AUDIT_GROUP_MS?: string
  /** The generation origin's base URL; without it the generation routes answer 503 origin_not_configured. */
  ORIGIN_URL?: string
  /** HMAC secret shared with the origin (request signing); required with ORIGIN_URL. */
  ORIGIN_SIGNING_SECRET?: string
  /** Milliseconds until the origin's response headers (default 15000). */
  ORIGIN_TIMEOUT_MS?: string
  /** Producer binding of the experiments queue (wrangler.toml [[queues.producers]]). */
  EXPERIMENT_QUEUE?: ExperimentQueue
  /** Comma-separated origins allowed to call the API from browsers (CORS); empty: same-origin only. */
  CORS_ORIGINS?: string
  /** "1" honours experiment specs' `faults` (the local lab and its tests only; never set in production). */
  ALLOW_FAULT_INJECTION?: string
  /**
   * "reference": tokenise with @huggingface/tokenizers instead of the fast encoder (benchmarks'
   * before/after only; needs the JSON bindings below).
   */
  TOKENIZER_ENGINE?: string
  /** tokenizer.json / tokenizer_config.json as text bindings, e.g. TOKENIZER_QWEN3_JSON (tests). */
  [binding: string]: unknown
}

/** Aggregates metrics across isolates (bound as METRICS_HUB). */
export { MetricsHub } from './metrics-hub.ts'

const REVOKED_GRACE_SECONDS = 7 * 24 * 3600
let kernel: Promise<ScoringKernel> | undefined
const tokenizers = new Map<string, Promise<TextTokenizer>>()
let app: ReturnType<typeof createApp> | undefined
let deps: AppDeps | undefined
const appDeps = (env: Env) => {
  deps ??= depsFor(env)
  return deps
}

async function loadTokenizer(env: Env, id: string): Promise<TextTokenizer> {
  const spec = getTokenizerSpec(id)
  const json = env[`TOKENIZER_${id.toUpperCase()}_JSON`]
  const config = env[`TOKENIZER_${id.toUpperCase()}_CONFIG`]
  const reference = env.TOKENIZER_ENGINE === 'reference'
  if (typeof json === 'string' && typeof config === 'string')
    return createTokenizer(spec, JSON.parse(json), JSON.parse(config), { reference })
  if (reference)
    throw new Error(
      `TOKENIZER_ENGINE=reference needs the TOKENIZER_${id.toUpperCase()}_JSON and _CONFIG bindings`,
    )
  const assets = await import('./tokenizer-assets.ts')
  return createCompiledTokenizer(spec, assets.tokenizerBin(id))
}

/** The origin client, once per isolate (depsFor runs once per isolate), so its breaker sees all requests. */
function originFor(env: Env): OriginClient | null {
  if (!env.ORIGIN_URL) return null
  if (!env.ORIGIN_SIGNING_SECRET)
    throw new Error('ORIGIN_URL is set: set the ORIGIN_SIGNING_SECRET secret too')
  const timeoutMs = Number(env.ORIGIN_TIMEOUT_MS ?? 15_000)
  if (!(timeoutMs > 0))
    throw new Error(`ORIGIN_TIMEOUT_MS must be a positive number, got ${env.ORIGIN_TIMEOUT_MS}`)
  return createOriginClient({ url: env.ORIGIN_URL, signingSecret: env.ORIGIN_SIGNING_SECRET, timeoutMs })
}

export function depsFor(env: Env): AppDeps {
  const databaseUrl = env.DATABASE_URL
  if (databaseUrl && isLoopbackDatabaseUrl(databaseUrl)) {
    if (!env.NEON_WS_PROXY)
      throw new Error('DATABASE_URL is local: set NEON_WS_PROXY to the WebSocket proxy (host:port/v2)')
    configureNeonForLocalProxy({ proxy: env.NEON_WS_PROXY })
  }
  const memoryStore = new MemoryStore()
  const redis =
    env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN
      ? new Redis({
          url: env.UPSTASH_REDIS_REST_URL,
          token: env.UPSTASH_REDIS_REST_TOKEN,
          ...redisClientOptions(), // bounded: a slow or dead Redis must not stall detection
        })
      : null
  const cache: Cache = redis ? upstashCache(redis) : memoryCache()
  const perMinute = Number(env.RATE_LIMIT_PER_MINUTE ?? 600)
  const perIpMinute = Number(env.RATE_LIMIT_PER_IP_PER_MINUTE ?? 1200)
  const origin = originFor(env)
  // Audit rows within this window share one database connection (audit-buffer.ts); 0 turns it off.
  const groupMs = Number(env.AUDIT_GROUP_MS ?? 100)
  if (!(groupMs >= 0 && groupMs <= 5000))
    throw new Error(`AUDIT_GROUP_MS must be a number of ms in [0, 5000], got ${env.AUDIT_GROUP_MS}`)
  auditBuffer.groupMs = groupMs
  const tracingConfig = edgeTracingConfig(env)
  const tracing = tracingConfig ? startEdgeTracing(tracingConfig) : null
  return {
    openStore: (waitUntil) =>
      databaseUrl ? openPostgresStore(databaseUrl, REVOKED_GRACE_SECONDS, waitUntil) : memoryStore,
    cache,
    tokenizer: (id: string) => {
      let t = tokenizers.get(id)
      if (!t) {
        t = loadTokenizer(env, id)
        tokenizers.set(id, t)
        t.catch(() => tokenizers.delete(id))
      }
      return t
    },
    kernel: () => {
      kernel ??= createWasmKernel(kernelModule)
      return kernel
    },
    masterSecret: env.WATERMARK_MASTER_SECRET,
    revokedGraceSeconds: REVOKED_GRACE_SECONDS,
    maxTokens: 16_384,
    adminToken: env.ADMIN_TOKEN ?? null,
    maxBodyBytes: 1024 * 1024,
    rateLimiter: redis ? upstashRateLimiter(redis, perMinute) : memoryRateLimiter(perMinute),
    ipRateLimiter: redis
      ? upstashRateLimiter(redis, perIpMinute, 'wmlab:rl-ip')
      : memoryRateLimiter(perIpMinute),
    metrics: { ...metricsFromEnv(env), ...(tracing ? { flushTraces: tracing.flush } : {}) },
    origin,
    corsOrigins: (env.CORS_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    experiments: {
      open: () => (databaseUrl ? withAvailability(openExperimentStore(databaseUrl)) : null),
      queue: env.EXPERIMENT_QUEUE ?? null,
      allowFaultInjection: env.ALLOW_FAULT_INJECTION === '1',
    },
    checks: {
      cache: () => cache.get('wmlab:health'),
      ...(origin ? { origin: () => origin.health() } : {}),
      ...(databaseUrl
        ? {
            db: async () => {
              const db = openStore({ connectionString: databaseUrl })
              try {
                await db.ping()
              } finally {
                await db.close()
              }
            },
          }
        : {}),
    },
  }
}

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    app ??= createApp(appDeps(env))
    return app.fetch(request, env, ctx)
  },

  /** Experiment jobs, and their dead letters (queue names ending in -dlq): worker/src/experiments. */
  async queue(batch: QueueBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void> {
    if (!env.DATABASE_URL) throw new Error('experiments need DATABASE_URL')
    const d = appDeps(env)
    const experiments = withAvailability(openExperimentStore(env.DATABASE_URL))
    try {
      // queue_depth and the oldest message's age, per batch (ops/RUNBOOK.md "Experiments queue").
      const gauges = await queueGauges(batch, experiments).catch(() => null)
      if (gauges) recordQueue(batch.queue, gauges.depth, gauges.oldestAgeSeconds)
      flushMetrics(d.metrics?.sink, (p) => ctx.waitUntil(p), true)
      if (batch.queue.endsWith('-dlq')) return await consumeDeadLetters(batch, experiments)
      if (!d.origin) throw new Error('experiments need ORIGIN_URL (the generation origin)')
      await consumeExperimentJobs(batch, {
        experiments,
        origin: d.origin,
        tokenizer: d.tokenizer,
        kernel: d.kernel,
        masterSecret: env.WATERMARK_MASTER_SECRET,
      })
    } finally {
      await experiments.close().catch(() => undefined)
    }
  },
}
