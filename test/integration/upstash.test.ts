// @upstash/redis and @upstash/ratelimit → scripts/upstash-bridge.ts → the real local Redis.
import { createHash } from 'node:crypto'
import { Ratelimit } from '@upstash/ratelimit'
import { Redis } from '@upstash/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  stripUpstashShebangFlag,
  startUpstashBridge,
  type UpstashBridge,
} from '../../scripts/upstash-bridge.ts'
import { detectionCacheKey, memoryCache, upstashCache } from '../../worker/adapters/cache.ts'
import { REDIS_URL, requireRedis, runId } from './services.ts'

describe('upstash-bridge units', () => {
  it('strips only the allow-key-locking flag from a Lua shebang', () => {
    expect(stripUpstashShebangFlag('#!lua flags=allow-key-locking\nreturn 1')).toBe('#!lua\nreturn 1')
    expect(stripUpstashShebangFlag('#!lua flags=no-writes,allow-key-locking\nreturn 1')).toBe(
      '#!lua flags=no-writes\nreturn 1',
    )
    expect(stripUpstashShebangFlag('#!lua flags=no-writes\nreturn 1')).toBeNull()
    expect(stripUpstashShebangFlag('return 1')).toBeNull()
  })

  it('memory cache honours TTLs and counts hits and misses', async () => {
    let now = 0
    const cache = memoryCache({ now: () => now, maxEntries: 2 })
    await cache.set('a', '1', 10)
    expect(await cache.get('a')).toBe('1')
    now = 10_000
    expect(await cache.get('a')).toBeNull()
    await cache.set('a', '1', 10)
    await cache.set('b', '2', 10)
    await cache.set('c', '3', 10)
    expect(await cache.get('a')).toBeNull() // evicted, oldest first
    await cache.incrStats?.('hit')
    await cache.incrStats?.('miss')
    expect(await cache.stats?.()).toEqual({ hits: 1, misses: 1 })
  })

  it('derives cache keys that ignore param order and separate key ids', async () => {
    const base = { normalizedText: 'hello', scheme: 'kgw-lefthash', keyId: 'wk_1' }
    const k1 = await detectionCacheKey({ ...base, params: { gamma: 0.25, delta: 2 } })
    expect(k1).toBe(await detectionCacheKey({ ...base, params: { delta: 2, gamma: 0.25 } }))
    expect(k1).not.toBe(
      await detectionCacheKey({ ...base, keyId: 'wk_2', params: { gamma: 0.25, delta: 2 } }),
    )
    expect(k1).toMatch(/^det:[0-9a-f]{64}$/)
  })
})

describe('Upstash clients through the bridge, real Redis', () => {
  const token = `tok_${runId()}`
  const prefix = `wmlab-it:${runId()}:`
  let bridge: UpstashBridge
  let redis: Redis
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(bridge.url + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json()) as any }
  }

  beforeAll(async () => {
    await requireRedis()
    bridge = await startUpstashBridge({ redisUrl: REDIS_URL, token })
    redis = new Redis({ url: bridge.url, token, retry: false, enableTelemetry: false })
  })

  afterAll(async () => {
    if (redis) {
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, { match: `${prefix}*`, count: 1000 })
        if (keys.length > 0) await redis.del(...keys)
        cursor = String(next)
      } while (cursor !== '0')
    }
    await bridge?.close()
  })

  it('get/set, nil as null, strings that look like base64 stay intact', async () => {
    expect(await redis.set(`${prefix}s`, 'héllo')).toBe('OK')
    expect(await redis.get(`${prefix}s`)).toBe('héllo')
    expect(await redis.get(`${prefix}missing`)).toBeNull()
    await redis.set(`${prefix}t`, 'test') // decodes as base64 too: garbled if the bridge ignored the encoding
    expect(await redis.get(`${prefix}t`)).toBe('test')
    expect(await redis.ping()).toBe('PONG')
    await redis.hset(`${prefix}h`, { f1: 'v1', f2: 2 })
    expect(await redis.hgetall(`${prefix}h`)).toEqual({ f1: 'v1', f2: 2 })
    // The single-command endpoint, on the wire.
    expect(await post('/', ['get', `${prefix}missing`])).toEqual({ status: 200, body: { result: null } })
    expect(await post('/', ['incr', `${prefix}s`])).toMatchObject({
      status: 400,
      body: { error: /not an integer/ },
    })
  })

  it('base64-encodes strings at every depth only when asked', async () => {
    const script = 'return {1,"x",{2,"y"},ARGV[1]}'
    expect((await post('/', ['eval', script, 0, 'a'], { 'upstash-encoding': 'base64' })).body).toEqual({
      result: [1, 'eA==', [2, 'eQ=='], 'YQ=='],
    })
    expect((await post('/', ['eval', script, 0, 'a'])).body).toEqual({ result: [1, 'x', [2, 'y'], 'a'] })
    await redis.set(`${prefix}b`, 'héllo')
    expect((await post('/', ['get', `${prefix}b`], { 'upstash-encoding': 'base64' })).body).toEqual({
      result: 'aMOpbGxv',
    })
  })

  it('pipeline: in order, per-command errors, not atomic', async () => {
    const p = redis.pipeline()
    p.set(`${prefix}p`, '1')
    p.incr(`${prefix}p`)
    p.get(`${prefix}p`)
    p.get(`${prefix}nothing`)
    expect(await p.exec()).toEqual([' OK'.trim(), 2, 2, null])
    const bad = redis.pipeline()
    bad.incr(`${prefix}p`)
    bad.hget(`${prefix}p`, 'x')
    bad.incr(`${prefix}p`)
    const out = await bad.exec({ keepErrors: true })
    expect(out.map((r) => r.error ?? r.result)).toEqual([3, expect.stringMatching(/^WRONGTYPE/), 4])
  })

  it('multi-exec: atomic, exec-time errors per command, queue-time errors as 400', async () => {
    const tx = redis.multi()
    tx.set(`${prefix}m`, '10')
    tx.incrby(`${prefix}m`, 5)
    tx.get(`${prefix}m`)
    expect(await tx.exec()).toEqual(['OK', 15, 15])
    const execErr = await post('/multi-exec', [
      ['incr', `${prefix}m`],
      ['hget', `${prefix}m`, 'f'],
    ])
    expect(execErr.status).toBe(200)
    expect(execErr.body).toEqual([{ result: 16 }, { error: expect.stringMatching(/^WRONGTYPE/) }])
    const queueErr = await post('/multi-exec', [['incr', `${prefix}m`], ['no-such-command']])
    expect(queueErr.status).toBe(400)
    expect(queueErr.body.error).toMatch(/unknown command/i)
    expect(await redis.get(`${prefix}m`)).toBe(16) // the aborted transaction changed nothing
  })

  it('passes NOSCRIPT through, so EVALSHA falls back to EVAL', async () => {
    const missing = await post('/', ['evalsha', '0'.repeat(40), 0])
    expect(missing).toEqual({ status: 400, body: { error: 'NOSCRIPT No matching script. Please use EVAL.' } })
    const script = redis.createScript<string>(`return 'ran:' .. ARGV[1] .. ':${runId()}'`)
    expect(await script.exec([], ['x'])).toMatch(/^ran:x:/) // EVALSHA → NOSCRIPT → EVAL
    expect(await script.exec([], ['y'])).toMatch(/^ran:y:/) // now cached: EVALSHA hits
  })

  it('maps SHAs of scripts with the Upstash-only allow-key-locking flag', async () => {
    const source = `#!lua flags=allow-key-locking\nreturn redis.call('INCR', KEYS[1]) -- ${runId()}`
    const sha = createHash('sha1').update(source).digest('hex')
    expect((await post('/', ['script', 'load', source])).body).toEqual({ result: sha })
    expect((await post('/', ['evalsha', sha, 1, `${prefix}lock`])).body).toEqual({ result: 1 })
    expect((await post('/', ['eval', source, 1, `${prefix}lock`])).body).toEqual({ result: 2 })
  })

  it('rejects a wrong token', async () => {
    const res = await fetch(bridge.url, {
      method: 'POST',
      headers: { authorization: 'Bearer wrong' },
      body: '["ping"]',
    })
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({ error: 'Unauthorized' })
    const client = new Redis({ url: bridge.url, token: 'wrong', retry: false, enableTelemetry: false })
    await expect(client.get('x')).rejects.toThrow(/Unauthorized/)
  })

  it('@upstash/ratelimit slidingWindow blocks after the limit', async () => {
    const limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.slidingWindow(5, '10 s'),
      prefix: `${prefix}rl`,
      timeout: 0, // no fail-open race: a bridge error must fail the test, not pass as "timeout"
      ephemeralCache: false,
    })
    const results = []
    for (let i = 0; i < 7; i++) results.push(await limiter.limit('api-key-1'))
    expect(results.map((r) => r.success)).toEqual([true, true, true, true, true, false, false])
    expect(results.map((r) => r.remaining)).toEqual([4, 3, 2, 1, 0, 0, 0])
    expect(results[6].reset).toBeGreaterThan(Date.now())
    expect((await limiter.limit('api-key-2')).success).toBe(true) // per identifier
  })

  it('upstash cache adapter: strings stay strings, TTL set, stats counted', async () => {
    const raw = new Redis({
      url: bridge.url,
      token,
      retry: false,
      enableTelemetry: false,
      automaticDeserialization: false,
    })
    const cache = upstashCache(raw, { prefix })
    expect(await cache.get('k')).toBeNull()
    await cache.set('k', '00123', 60)
    await cache.set('n', '123', 60)
    expect(await cache.get('k')).toBe('00123')
    expect(await cache.get('n')).toBe('123')
    const ttl = await redis.ttl(`${prefix}k`)
    expect(ttl).toBeGreaterThan(50)
    expect(ttl).toBeLessThanOrEqual(60)
    await cache.incrStats?.('hit')
    await cache.incrStats?.('hit')
    await cache.incrStats?.('miss')
    expect(await cache.stats?.()).toEqual({ hits: 2, misses: 1 })
    expect(await cache.ping?.()).toBeGreaterThanOrEqual(0)
  })
})
