// Per-API-key rate limits: detection is an oracle, and unlimited queries help an attacker learn the
// green lists. Upstash (`@upstash/ratelimit`, sliding window, shared by all isolates) in production;
// an in-memory fixed window for local runs without Redis.
import { Ratelimit } from '@upstash/ratelimit'
import type { Redis } from '@upstash/redis/cloudflare'
import { REDIS_TIMEOUT_MS } from './redis-options.ts'

export interface RateLimitResult {
  success: boolean
  remaining: number
  /** Unix time in ms when the window resets. */
  reset: number
}

export interface RateLimiter {
  limit(identifier: string, waitUntil: (p: Promise<unknown>) => void): Promise<RateLimitResult>
}

export function upstashRateLimiter(redis: Redis, perMinute: number, prefix = 'wmlab:rl'): RateLimiter {
  const rl = new Ratelimit({
    redis,
    limiter: Ratelimit.slidingWindow(perMinute, '60 s'),
    prefix,
    analytics: false,
    // Fails open after this long (the request is allowed), like a limiter error does in app.ts.
    timeout: REDIS_TIMEOUT_MS,
  })
  return {
    async limit(identifier, waitUntil) {
      const r = await rl.limit(identifier)
      waitUntil(r.pending)
      return { success: r.success, remaining: r.remaining, reset: r.reset }
    },
  }
}

export function memoryRateLimiter(perMinute: number, now: () => number = Date.now): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>()
  return {
    async limit(identifier) {
      const t = now()
      let w = windows.get(identifier)
      if (!w || t - w.start >= 60_000) {
        w = { start: t, count: 0 }
        windows.set(identifier, w)
        if (windows.size > 100_000) windows.delete(windows.keys().next().value!)
      }
      w.count++
      return {
        success: w.count <= perMinute,
        remaining: Math.max(0, perMinute - w.count),
        reset: w.start + 60_000,
      }
    },
  }
}
