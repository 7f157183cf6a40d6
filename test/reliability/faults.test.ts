// Faults, each injected for real on 127.0.0.1:
// (a) Redis unreachable (a closed port), slow (a bridge that delays every call) or hanging (a bridge that
//     never answers): detection still answers 200 within a bound, /health marks the cache degraded,
//     and rate limiting fails open (documented in README); after recovery the cache works again.
// (b) PostgreSQL unreachable (the Neon proxy stopped mid-test, or a database at a closed port): detection
//     still answers from the isolate's caches, key management answers 503 database_unavailable, and
//     every audit row written during the outage lands after recovery (counted: 0 lost, no duplicates).
// (c) Migrations: running them twice is a no-op; a failing migration leaves the schema exactly as it
//     was (its transaction rolls back) and the failure is reported (by the function and by the CLI).
import { spawnSync } from 'node:child_process'
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Pool as NeonPool } from '@neondatabase/serverless'
import { Redis } from '@upstash/redis/cloudflare'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { MIGRATIONS_DIR, type MigrationPool, migrate } from '../../scripts/migrate.ts'
import { type NeonProxy, startNeonProxy } from '../../scripts/neon-ws-proxy.ts'
import { startUpstashBridge, type UpstashBridge } from '../../scripts/upstash-bridge.ts'
import { upstashCache } from '../../worker/adapters/cache.ts'
import { auditBuffer } from '../../worker/src/audit-buffer.ts'
import { upstashRateLimiter } from '../../worker/src/rate-limit.ts'
import { redisClientOptions } from '../../worker/src/redis-options.ts'
import { createTestDatabase, REDIS_URL, requireRedis, runId } from '../integration/services.ts'
import {
  ADMIN_TOKEN,
  type App,
  call,
  createApp,
  envelopeProblems,
  memoryDeps,
  newTenant,
  postgresDeps,
  postgresFixture,
  settled,
} from './harness.ts'

/** Detection during a dependency outage may be slower than usual, but not by more than this. */
const CLIENT_IP = '203.0.113.7'
let apps = 0

const OUTAGE_BOUND_MS = 2500

async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  await new Promise((r) => server.close(r))
  return port
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now()
  const out = await f()
  return [out, performance.now() - t0]
}

// ---- (a) Redis

/** An HTTP hop in front of the Upstash bridge that can delay every call, hang, or pass through. */
async function faultyHop(target: string) {
  let mode: 'pass' | 'hang' | number = 'pass'
  const held = new Set<http.ServerResponse>()
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', async () => {
      if (mode === 'hang') {
        held.add(res)
        return
      }
      if (typeof mode === 'number') await new Promise((r) => setTimeout(r, mode as number))
      try {
        const upstream = await fetch(target + (req.url ?? '/'), {
          method: req.method,
          headers: Object.fromEntries(
            Object.entries(req.headers).filter(
              ([k]) => !['host', 'connection', 'content-length', 'keep-alive'].includes(k),
            ),
          ) as Record<string, string>,
          body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
        })
        res.writeHead(upstream.status, {
          'content-type': upstream.headers.get('content-type') ?? 'application/json',
        })
        res.end(Buffer.from(await upstream.arrayBuffer()))
      } catch {
        res.destroy()
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    set(m: typeof mode) {
      mode = m
      if (m !== 'hang') for (const r of held) r.destroy()
    },
    async close() {
      for (const r of held) r.destroy()
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    },
  }
}

/** The app as the Worker builds it with Upstash configured (index.ts: same client options and limiters). */
function redisApp(url: string, token: string, perMinute: number, perIpMinute = perMinute): App {
  const redis = new Redis({ url, token, ...redisClientOptions() })
  const cache = upstashCache(redis, { prefix: `wmlab-faults:${runId()}:` })
  return createApp(
    memoryDeps({
      cache,
      rateLimiter: upstashRateLimiter(redis, perMinute),
      // Each app its own window, so addresses reused across cases (and runs) start from zero.
      ipRateLimiter: upstashRateLimiter(redis, perIpMinute, `wmlab-faults:${runId()}:${++apps}:rl-ip`),
      checks: { cache: () => cache.get('wmlab:health') },
    }),
  )
}

describe('(a) Redis unreachable, slow or hanging', () => {
  const token = `tok_${runId()}`
  let bridge: UpstashBridge
  let hop: Awaited<ReturnType<typeof faultyHop>>

  beforeAll(async () => {
    await requireRedis()
    bridge = await startUpstashBridge({ redisUrl: REDIS_URL, token })
    hop = await faultyHop(bridge.url)
  })
  afterAll(async () => {
    await settled()
    await hop?.close()
    await bridge?.close()
  })

  /** A tenant with one key on `app`; then `n` detections of distinct texts from one address, each timed. */
  async function detectSeveral(app: App, n: number) {
    const apiKey = await newTenant(app, 'redis faults')
    expect(
      (await call(app, 'POST', '/v1/keys', { key: apiKey, body: { scheme: 'kgw-lefthash' } })).status,
    ).toBe(201)
    const out: { status: number; ms: number; cache: string }[] = []
    for (let i = 0; i < n; i++) {
      const [r, ms] = await timed(() =>
        call(app, 'POST', '/v1/detect', {
          key: apiKey,
          headers: { 'cf-connecting-ip': CLIENT_IP },
          body: { text: `Detection number ${i} during the fault.` },
        }),
      )
      out.push({ status: r.status, ms, cache: r.body?.cache })
    }
    return { apiKey, results: out }
  }

  it('the limiter is real when Redis is up (limit 3/min: the 4th request is 429)', async () => {
    hop.set('pass')
    const app = redisApp(hop.url, token, 3)
    const apiKey = await newTenant(app, 'limited')
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await call(app, 'GET', '/v1/keys', { key: apiKey })).status)
    expect(statuses).toEqual([200, 200, 200, 429])
  })

  it('the per-address detection limiter is real when Redis is up (3/min over two API keys: the 4th is 429)', async () => {
    hop.set('pass')
    const app = redisApp(hop.url, token, 1000, 3)
    const keys = [await newTenant(app, 'address one'), await newTenant(app, 'address two')]
    for (const key of keys)
      expect((await call(app, 'POST', '/v1/keys', { key, body: { scheme: 'kgw-lefthash' } })).status).toBe(
        201,
      )
    const statuses = []
    for (let i = 0; i < 4; i++)
      statuses.push(
        (
          await call(app, 'POST', '/v1/detect', {
            key: keys[i % 2],
            headers: { 'cf-connecting-ip': CLIENT_IP },
            body: { text: `One client, many keys: query ${i}.` },
          })
        ).status,
      )
    expect(statuses).toEqual([200, 200, 200, 429])
  })

  it.each([
    ['unreachable (closed port)', 'closed'],
    ['slow (every call delayed 3 s)', 3000],
    ['hanging (never answers)', 'hang'],
  ] as const)(
    '%s: detection answers 200 in time, /health degraded, rate limit fails open',
    async (_n, fault) => {
      const url = fault === 'closed' ? `http://127.0.0.1:${await closedPort()}` : hop.url
      hop.set(fault === 'closed' ? 'pass' : fault)
      // Limits 1/min per key and per address: if either limiter were failing closed (or working), the
      // 2nd request would be 429. Failing open lifts both for the outage (docs/security.md).
      const app = redisApp(url, token, 1)
      const { results } = await detectSeveral(app, 3)
      for (const r of results) {
        expect(r.status).toBe(200)
        expect(r.ms).toBeLessThan(OUTAGE_BOUND_MS)
        expect(r.cache).toBe('miss')
      }
      const [health, ms] = await timed(() => call(app, 'GET', '/health'))
      expect(health.status).toBe(200) // detection works: degraded, not down
      expect(health.body.status).toBe('degraded')
      expect(health.body.checks.cache.status).toBe('down')
      expect(ms).toBeLessThan(OUTAGE_BOUND_MS)
      await settled() // background cache writes give up in bounded time too
    },
  )

  it('after recovery the cache serves hits again and /health is ok', async () => {
    hop.set('hang')
    const app = redisApp(hop.url, token, 1000)
    const apiKey = await newTenant(app, 'recovers')
    await call(app, 'POST', '/v1/keys', { key: apiKey, body: { scheme: 'kgw-lefthash' } })
    expect((await call(app, 'POST', '/v1/detect', { key: apiKey, body: { text: 'During.' } })).status).toBe(
      200,
    )
    hop.set('pass')
    await settled()
    const body = { text: 'A text first seen after the outage.' }
    expect((await call(app, 'POST', '/v1/detect', { key: apiKey, body })).body.cache).toBe('miss')
    await settled() // the cache write lands
    expect((await call(app, 'POST', '/v1/detect', { key: apiKey, body })).body.cache).toBe('hit')
    const health = await call(app, 'GET', '/health')
    expect(health.body).toMatchObject({ status: 'ok', checks: { cache: { status: 'ok' } } })
  })
})

// ---- (b) PostgreSQL

describe('(b) PostgreSQL unreachable', () => {
  let fx: Awaited<ReturnType<typeof postgresFixture>>
  let deps: ReturnType<typeof postgresDeps>
  let app: App
  let apiKey: string
  let keyId: string

  beforeAll(async () => {
    fx = await postgresFixture()
    deps = postgresDeps(fx.url)
    app = createApp(deps)
    apiKey = await newTenant(app, 'outage')
    const key = await call(app, 'POST', '/v1/keys', { key: apiKey, body: { scheme: 'kgw-lefthash' } })
    expect(key.status).toBe(201)
    keyId = key.body.id
  })
  afterEach(() => {
    vi.useRealTimers()
  })
  afterAll(async () => {
    await settled()
    await fx?.close()
  })

  /** 503 database_unavailable with Retry-After, in the error envelope, in bounded time. */
  async function expectUnavailable(
    target: App,
    method: string,
    path: string,
    opts: Parameters<typeof call>[3],
  ) {
    const [r, ms] = await timed(() => call(target, method, path, opts))
    const what = `${method} ${path} → ${r.status} ${r.text}`
    expect(r.status, what).toBe(503)
    expect(envelopeProblems(r), what).toEqual([])
    expect(r.body.error.code, what).toBe('database_unavailable')
    expect(Number(r.headers.get('retry-after')), what).toBeGreaterThan(0)
    expect(ms, what).toBeLessThan(OUTAGE_BOUND_MS)
  }

  const keyManagement = (key: string): [string, string, Parameters<typeof call>[3]][] => [
    ['POST', '/admin/tenants', { key: ADMIN_TOKEN, body: { name: 'during the outage' } }],
    ['POST', '/v1/keys', { key, body: { scheme: 'vllm-gumbel' } }],
    ['GET', '/v1/keys', { key }],
    ['GET', `/v1/keys/${keyId}`, { key }],
    ['DELETE', `/v1/keys/${keyId}`, { key }],
    ['POST', `/v1/keys/${keyId}/rotate`, { key }],
  ]

  it('a database at a closed port: key management and auth answer 503 database_unavailable', async () => {
    const down = createApp(postgresDeps(`postgresql://root@127.0.0.1:${await closedPort()}/test`))
    for (const [method, path, opts] of keyManagement(apiKey))
      await expectUnavailable(down, method, path, opts)
    // An API key this isolate has not seen cannot be checked: 503, not 401 (it may well be valid).
    await expectUnavailable(down, 'POST', '/v1/detect', {
      key: apiKey,
      body: { text: 'Is this watermarked?' },
    })
    const health = await call(down, 'GET', '/health')
    expect(health.status).toBe(200)
  })

  it('the proxy stopped mid-test: detection answers, key management 503, 0 audit rows lost after recovery', async () => {
    const doc = await (await app.request('/openapi.json')).json()
    const counts = async () =>
      (
        (await fx.sql(`SELECT (SELECT count(*)::int FROM detections) AS detections,
          (SELECT count(DISTINCT id)::int FROM detections) AS distinct_detections,
          (SELECT count(*)::int FROM generations) AS generations`)) as Record<string, number>[]
      )[0]
    // Warm this isolate: the API key's tenant and the tenant's key list are cached.
    expect(
      (await call(app, 'POST', '/v1/detect', { key: apiKey, body: { text: 'Warm-up text.' } })).status,
    ).toBe(200)
    await settled()
    const before = await counts()
    expect(before.detections).toBe(1)

    await fx.stopProxy()
    // Well past the caches' TTLs (30 s auth, 10 s keys): they serve their last values (stale-if-error).
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 60_000)

    const N = 30
    for (let i = 0; i < N; i++) {
      const [r, ms] = await timed(() =>
        call(app, 'POST', '/v1/detect', {
          key: apiKey,
          body: { text: `Outage detection ${i}: words to score.` },
        }),
      )
      expect(r.status, r.text).toBe(200)
      expect(r.body.cache).toBe('miss')
      expect(ms).toBeLessThan(OUTAGE_BOUND_MS)
    }
    const batch = await call(app, 'POST', '/v1/detect/batch', {
      key: apiKey,
      body: { items: [{ text: 'Batch one.' }, { text: 'Batch two.' }, { text: 'Batch three.' }] },
    })
    expect(batch.status).toBe(200)
    expect(batch.body.results.every((x: { cache?: string }) => x.cache === 'miss')).toBe(true)
    let generations = 0
    if (doc.paths['/v1/generate']) {
      // Unwatermarked generation needs no key lookup: it works, and its record is parked too.
      for (let i = 0; i < 3; i++) {
        const g = await call(app, 'POST', '/v1/generate', {
          key: apiKey,
          body: { prompt: `p${i}`, keyId: 'none' },
        })
        expect(g.status, g.text).toBe(200)
        generations++
      }
    }
    for (const [method, path, opts] of keyManagement(apiKey)) await expectUnavailable(app, method, path, opts)
    await expectUnavailable(app, 'POST', '/v1/detect', { key: apiKey, body: { text: 'Named key.', keyId } })

    await settled() // every write has used up its retries
    expect(await counts()).toEqual(before) // nothing could be written…
    expect(auditBuffer.size).toBe(N + 3 + generations) // …and nothing was dropped
    // /health says what this isolate owes the database (an operator's and a drain's view of it).
    expect((await call(app, 'GET', '/health')).body.audit).toEqual({
      writing: 0,
      parked: N + 3 + generations,
      dropped: 0,
    })
    await settled() // that request's write-back attempt has failed too

    // Recovery: the next request writes the parked rows back.
    await fx.startProxy()
    vi.setSystemTime(Date.now() + 5_000)
    expect((await call(app, 'GET', '/v1/keys', { key: apiKey })).status).toBe(200)
    await settled()
    expect(auditBuffer.size).toBe(0)
    expect(auditBuffer.dropped).toBe(0)
    expect((await call(app, 'GET', '/health')).body.audit).toEqual({ writing: 0, parked: 0, dropped: 0 })
    const after = await counts()
    // Every row of the outage, once: 0 lost, no duplicates.
    expect(after.detections).toBe(before.detections + N + 3)
    expect(after.distinct_detections).toBe(after.detections)
    expect(after.generations).toBe(before.generations + generations)
    // And key management is back.
    expect(
      (await call(app, 'POST', '/v1/keys', { key: apiKey, body: { scheme: 'vllm-gumbel' } })).status,
    ).toBe(201)
  })
})

// ---- (c) Migrations

/** The schema as text: columns, constraints, indexes and the migrations recorded. */
async function schemaOf(pool: pg.Pool): Promise<string> {
  const q = async (sql: string) => JSON.stringify((await pool.query(sql)).rows)
  return [
    await q(`SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
             WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`),
    await q(`SELECT conrelid::regclass::text AS t, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
             WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`),
    await q(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`),
    await q(`SELECT version, name, checksum FROM schema_migrations ORDER BY version`),
  ].join('\n')
}

describe('(c) migrations', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  let pool: pg.Pool
  let dir: string
  let proxy: NeonProxy

  beforeAll(async () => {
    db = await createTestDatabase()
    pool = quietPool(db.url, 2)
    dir = await mkdtemp(join(tmpdir(), 'wmlab-migrations-'))
    await cp(MIGRATIONS_DIR, dir, { recursive: true })
    proxy = await startNeonProxy({ log: () => {} })
  })
  afterAll(async () => {
    await proxy?.close()
    await pool?.end()
    await db?.drop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('applies every migration once; a second run (through the production driver) changes nothing', async () => {
    const first = await migrate(pool as unknown as MigrationPool)
    expect(first.applied.length).toBeGreaterThan(0)
    expect(first.skipped).toEqual([])
    const schema = await schemaOf(pool)
    // The second run goes through @neondatabase/serverless and the proxy, like `npm run migrate --driver neon`.
    const { configureNeonForLocalProxy } = await import('../../worker/adapters/neon.ts')
    const { default: WebSocket } = await import('ws')
    configureNeonForLocalProxy({ proxy: proxy.url, webSocketConstructor: WebSocket, coalesceWrites: false })
    const neon = new NeonPool({ connectionString: db.url, max: 1 })
    try {
      const second = await migrate(neon as unknown as MigrationPool)
      expect(second.applied).toEqual([])
      expect(second.skipped).toEqual(first.applied)
    } finally {
      await neon.end()
    }
    expect(await schemaOf(pool)).toBe(schema)
  })

  it('a failing migration rolls back entirely, is reported, and leaves the schema as it was', async () => {
    await migrate(pool as unknown as MigrationPool, { dir })
    const schema = await schemaOf(pool)
    // Statements that would change the schema, then one that fails.
    await writeFile(
      join(dir, '0900_broken.sql'),
      `CREATE TABLE should_vanish (id int PRIMARY KEY);
       ALTER TABLE tenants ADD COLUMN should_vanish text;
       CREATE INDEX should_vanish_idx ON detections (scheme);
       INSERT INTO tenants (id, name) VALUES ('tn_should_vanish', 'x');
       SELECT 1 / 0;`,
    )
    await expect(migrate(pool as unknown as MigrationPool, { dir })).rejects.toThrow(
      /0900_broken\.sql.*division by zero/,
    )
    expect(await schemaOf(pool)).toBe(schema)
    expect(
      (await pool.query(`SELECT count(*)::int AS n FROM tenants WHERE id = 'tn_should_vanish'`)).rows[0].n,
    ).toBe(0)

    // The CLI reports it: exit code 1 and the file's name on stderr.
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts', '--dir', dir], {
      env: { ...process.env, DATABASE_URL: db.url, MIGRATE_DRIVER: 'pg' },
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(cli.status).toBe(1)
    expect(cli.stderr).toMatch(/migrate: 0900_broken\.sql: division by zero/)
    expect(await schemaOf(pool)).toBe(schema)

    // Fixed, it applies on the next run (and only it).
    await writeFile(join(dir, '0900_broken.sql'), 'CREATE TABLE now_it_works (id int PRIMARY KEY);')
    const fixed = await migrate(pool as unknown as MigrationPool, { dir })
    expect(fixed.applied).toEqual(['0900_broken.sql'])
  })

  it('two runners at once on a fresh database apply each migration exactly once', async () => {
    const fresh = await createTestDatabase()
    const p1 = quietPool(fresh.url, 1)
    const p2 = quietPool(fresh.url, 1)
    try {
      const [r1, r2] = await Promise.all([
        migrate(p1 as unknown as MigrationPool),
        migrate(p2 as unknown as MigrationPool),
      ])
      const applied = [...r1.applied, ...r2.applied].sort()
      expect(applied).toEqual((await recordedMigrations(p1)).map((v) => v.name))
      expect(new Set(applied).size).toBe(applied.length)
    } finally {
      await p1.end()
      await p2.end()
      await fresh.drop()
    }
  })
})

/**
 * A pool whose idle clients may be cut by the server (DROP DATABASE … WITH (FORCE) at teardown, while
 * a client is still being released): without a listener that 'error' event is an uncaught exception.
 */
function quietPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max })
  pool.on('error', () => {})
  return pool
}

async function recordedMigrations(pool: pg.Pool): Promise<{ name: string }[]> {
  return (await pool.query('SELECT name FROM schema_migrations ORDER BY name')).rows
}
