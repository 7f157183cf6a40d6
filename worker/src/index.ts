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
import { configureNeonForLocalProxy, isLoopbackDatabaseUrl } from '../adapters/neon.ts'
import { type AppDeps, createApp } from './app.ts'
import { openPostgresStore } from './pg-store.ts'
import { memoryRateLimiter, upstashRateLimiter } from './rate-limit.ts'
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
  /** tokenizer.json / tokenizer_config.json as text bindings, e.g. TOKENIZER_QWEN3_JSON (tests). */
  [binding: string]: unknown
}

const REVOKED_GRACE_SECONDS = 7 * 24 * 3600
let kernel: Promise<ScoringKernel> | undefined
const tokenizers = new Map<string, Promise<TextTokenizer>>()
let app: ReturnType<typeof createApp> | undefined

async function loadTokenizer(env: Env, id: string): Promise<TextTokenizer> {
  const spec = getTokenizerSpec(id)
  const json = env[`TOKENIZER_${id.toUpperCase()}_JSON`]
  const config = env[`TOKENIZER_${id.toUpperCase()}_CONFIG`]
  if (typeof json === 'string' && typeof config === 'string')
    return createTokenizer(spec, JSON.parse(json), JSON.parse(config))
  const assets = await import('./tokenizer-assets.ts')
  return createCompiledTokenizer(spec, assets.tokenizerBin(id))
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
          automaticDeserialization: false,
        })
      : null
  const cache: Cache = redis ? upstashCache(redis) : memoryCache()
  const perMinute = Number(env.RATE_LIMIT_PER_MINUTE ?? 600)
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
    checks: {
      cache: () => cache.get('wmlab:health'),
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
    app ??= createApp(depsFor(env))
    return app.fetch(request, env, ctx)
  },
}
