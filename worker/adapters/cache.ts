// Detection-result cache: Upstash Redis in production (and through scripts/upstash-bridge.ts locally),
// in memory for `npm start` without UPSTASH_REDIS_REST_URL. Values are strings (serialised results).
// This module imports no Redis client: the Worker passes a Redis from '@upstash/redis/cloudflare',
// Node passes one from '@upstash/redis' (with `retry: false` in tests).
import type { Redis } from '@upstash/redis'
import { sha256Hex } from '../../core/keys/hex.ts'

export interface CacheStats {
  hits: number
  misses: number
}

export interface Cache {
  get(key: string): Promise<string | null>
  set(key: string, value: string, ttlSeconds: number): Promise<void>
  /** Counts a hit or a miss; shared across isolates for Upstash. Callers should not await it on the hot path. */
  incrStats?(kind: 'hit' | 'miss'): Promise<void>
  stats?(): Promise<CacheStats>
  /** Round trip to the backing store in ms (for /health). */
  ping?(): Promise<number>
}

export interface UpstashCacheOptions {
  /** Prefix of every key, so one database can serve several environments or test runs. */
  prefix?: string
}

/**
 * Cache over an @upstash/redis client. Create the client with `automaticDeserialization: false`: this
 * adapter stores strings, and the SDK would otherwise turn a cached "123" into the number 123.
 */
export function upstashCache(redis: Redis, options: UpstashCacheOptions = {}): Cache {
  const prefix = options.prefix ?? 'wmlab:'
  const statsKey = `${prefix}cache-stats`
  return {
    async get(key) {
      const v = await redis.get<unknown>(prefix + key)
      return v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v)
    },
    async set(key, value, ttlSeconds) {
      await redis.set(prefix + key, value, { ex: Math.max(1, Math.ceil(ttlSeconds)) })
    },
    async incrStats(kind) {
      await redis.hincrby(statsKey, kind === 'hit' ? 'hits' : 'misses', 1)
    },
    async stats() {
      // Without automatic deserialization the SDK hands back Redis's flat [field, value, …] array.
      const raw = (await redis.hgetall(statsKey)) as unknown
      const h: Record<string, unknown> = {}
      if (Array.isArray(raw)) for (let i = 0; i + 1 < raw.length; i += 2) h[String(raw[i])] = raw[i + 1]
      else if (raw && typeof raw === 'object') Object.assign(h, raw)
      return { hits: Number(h.hits ?? 0), misses: Number(h.misses ?? 0) }
    },
    async ping() {
      const start = performance.now()
      await redis.ping()
      return performance.now() - start
    },
  }
}

/** In-memory cache with the same interface: TTLs honoured, oldest entries evicted beyond maxEntries. */
export function memoryCache(options: { maxEntries?: number; now?: () => number } = {}): Cache {
  const maxEntries = options.maxEntries ?? 10_000
  const now = options.now ?? Date.now
  const entries = new Map<string, { value: string; expires: number }>()
  const counts: CacheStats = { hits: 0, misses: 0 }
  return {
    async get(key) {
      const e = entries.get(key)
      if (!e) return null
      if (e.expires <= now()) {
        entries.delete(key)
        return null
      }
      return e.value
    },
    async set(key, value, ttlSeconds) {
      entries.delete(key) // re-insert so Map order stays oldest-first
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string)
      entries.set(key, { value, expires: now() + Math.max(1, ttlSeconds) * 1000 })
    },
    async incrStats(kind) {
      if (kind === 'hit') counts.hits++
      else counts.misses++
    },
    async stats() {
      return { ...counts }
    },
    async ping() {
      return 0
    },
  }
}

/** Canonical JSON (sorted object keys), so equal params always give the same cache key. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/** Cache key for a detection: SHA-256 of (normalised text, scheme, params, key id), hex. */
export async function detectionCacheKey(input: {
  normalizedText: string
  scheme: string
  params: unknown
  keyId: string | null
}): Promise<string> {
  const material = canonical([input.scheme, input.keyId, input.params, input.normalizedText])
  return `det:${await sha256Hex(material)}`
}
