// Generations recorded in the real PostgreSQL through the production path (Neon driver, local
// WebSocket proxy, a pool per request closed after the response), with a fake origin behind the
// edge: success and cut rows, text only for opted-in tenants, another tenant's key refused in SQL, and
// every failed non-streamed generation recorded as a failure with the code its client saw.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { migrate } from '../../scripts/migrate.ts'
import { type NeonProxy, startNeonProxy } from '../../scripts/neon-ws-proxy.ts'
import { memoryCache } from '../../worker/adapters/cache.ts'
import { createStore, type SqlPool, StoreError } from '../../worker/adapters/db.ts'
import { configureNeonForLocalProxy } from '../../worker/adapters/neon.ts'
import { createApp } from '../../worker/src/app.ts'
import { createOriginClient } from '../../worker/src/origin-client.ts'
import { openPostgresStore } from '../../worker/src/pg-store.ts'
import { memoryRateLimiter } from '../../worker/src/rate-limit.ts'
import { type FakeOrigin, startFakeOrigin } from '../fake-origin.ts'
import { createTestDatabase } from './services.ts'

const SECRET = 'origin-signing-secret-for-tests'
let proxy: NeonProxy
let db: Awaited<ReturnType<typeof createTestDatabase>>
let fake: FakeOrigin
let app: ReturnType<typeof createApp>
let check: pg.Pool
const pools: pg.Pool[] = []
/** A pool ended in afterAll, before the database is dropped; dropping it (WITH FORCE) terminates
 * connections still open, which an idle pool would otherwise raise as an uncaught error. */
function testPool(): pg.Pool {
  const pool = new pg.Pool({ connectionString: db.url, max: 1 })
  pool.on('error', () => {})
  pools.push(pool)
  return pool
}
const unused = () => Promise.reject(new Error('not needed'))

beforeAll(async () => {
  db = await createTestDatabase()
  check = testPool()
  await migrate(check as never)
  proxy = await startNeonProxy()
  configureNeonForLocalProxy({ proxy: proxy.url, webSocketConstructor: WebSocket })
  fake = await startFakeOrigin(SECRET)
  app = createApp({
    openStore: (waitUntil) => openPostgresStore(db.url, 3600, waitUntil),
    cache: memoryCache(),
    tokenizer: unused,
    kernel: unused,
    masterSecret: 'integration-master-secret-0123456789',
    revokedGraceSeconds: 3600,
    maxTokens: 8192,
    adminToken: 'admin',
    maxBodyBytes: 256 * 1024,
    rateLimiter: memoryRateLimiter(1000),
    checks: {},
    origin: createOriginClient({
      url: fake.url,
      signingSecret: SECRET,
      idleTimeoutMs: 5000,
      threshold: 1000,
    }),
  })
})

afterAll(async () => {
  await fake?.close()
  await Promise.all(pools.filter((p) => !p.ended).map((p) => p.end()))
  await proxy?.close()
  await db?.drop()
})

async function call(path: string, key: string, body: unknown) {
  return app.request(path, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

async function tenant(name: string, storeText: boolean) {
  const res = await call('/admin/tenants', 'admin', { name, storeText })
  return (await res.json()) as { tenant: { id: string }; apiKey: string }
}

/** The row lands after the response (waitUntil): poll for it. */
async function row(id: string) {
  for (let i = 0; i < 50; i++) {
    const { rows } = await check.query('SELECT * FROM generations WHERE id = $1', [id])
    if (rows.length > 0) return rows[0]
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`no generations row ${id}`)
}

describe('generations in PostgreSQL', () => {
  it('records success and cut generations, keeping the text only for the opted-in tenant', async () => {
    const a = await tenant('A', false)
    const c = await tenant('C', true)
    const pool = testPool()
    const store = createStore(pool as unknown as SqlPool)
    await store.createWatermarkKey(a.tenant.id, { id: 'wk_a', scheme: 'kgw-lefthash', tokenizer: 'qwen3' })

    fake.mode = 'ok'
    const ok = await call('/v1/generate', a.apiKey, { prompt: 'The jury said', sampling: { maxTokens: 4 } })
    expect(ok.status).toBe(200)
    const okBody = (await ok.json()) as { id: string; text: string }
    expect(await row(okBody.id)).toMatchObject({
      tenant_id: a.tenant.id,
      key_id: 'wk_a',
      scheme: 'kgw-lefthash',
      model: 'brown-lm',
      endpoint: 'generate',
      stream: false,
      prompt_tokens: 3,
      completion_tokens: 4,
      finish_reason: 'length',
      outcome: 'success',
      error_code: null,
      text: null,
    })

    const kept = await call('/v1/chat/completions', c.apiKey, {
      model: 'default',
      messages: [{ role: 'user', content: 'hello' }],
      watermark_key_id: 'none',
    })
    const keptBody = (await kept.json()) as { id: string; choices: { message: { content: string } }[] }
    expect(await row(keptBody.id)).toMatchObject({
      tenant_id: c.tenant.id,
      key_id: null,
      scheme: null,
      endpoint: 'chat.completions',
      outcome: 'success',
      text: keptBody.choices[0].message.content,
    })

    // A stream cut mid-way: recorded as cut after the stream ended, through the same per-request pool.
    fake.mode = 'cut-mid'
    const cut = await call('/v1/generate', a.apiKey, { prompt: 'x', stream: true })
    expect(await cut.text()).toContain('origin_stream_cut')
    const cutRow = await row(cut.headers.get('x-wmlab-generation-id')!)
    expect(cutRow).toMatchObject({
      outcome: 'cut',
      error_code: 'origin_stream_cut',
      completion_tokens: 2,
      finish_reason: null,
      stream: true,
      text: null,
    })
    expect(cutRow.latency_ms).toBeGreaterThanOrEqual(0)

    // The adapter itself: idempotent on id, and another tenant's key is refused by the foreign key.
    const rec = {
      id: 'gn_retry',
      keyId: 'wk_a',
      scheme: 'kgw-lefthash',
      model: 'm',
      endpoint: 'generate',
      stream: false,
      promptTokens: 1,
      completionTokens: 1,
      latencyMs: 5,
      firstTokenMs: 1,
      finishReason: 'eos',
      outcome: 'success',
      errorCode: null,
      text: 'secret text',
    }
    expect(await store.insertGeneration(a.tenant.id, rec)).toBe(true)
    expect(await store.insertGeneration(a.tenant.id, rec)).toBe(false)
    expect((await store.listGenerations(a.tenant.id)).find((g) => g.id === 'gn_retry')?.text).toBeNull()
    await expect(store.insertGeneration(c.tenant.id, { ...rec, id: 'gn_steal' })).rejects.toBeInstanceOf(
      StoreError,
    )
    expect((await store.listGenerations(c.tenant.id)).map((g) => g.id)).toEqual([keptBody.id])
    await store.close()
  })

  it('records every failed non-streamed generation as a failure with the code the client saw', async () => {
    const d = await tenant('D', true)
    const rowsOf = async (n: number) => {
      for (let i = 0; i < 50; i++) {
        const { rows } = await check.query(
          'SELECT * FROM generations WHERE tenant_id = $1 ORDER BY created_at, id',
          [d.tenant.id],
        )
        if (rows.length >= n) return rows
        await new Promise((r) => setTimeout(r, 100))
      }
      throw new Error(`fewer than ${n} generations rows`)
    }
    const seen: { status: number; code: string }[] = []
    for (const mode of ['fail', 'error-mid', 'cut-mid', 'busy', 'reject'] as const) {
      fake.mode = mode
      const res = await call('/v1/generate', d.apiKey, {
        prompt: 'The jury said',
        keyId: 'none',
        sampling: { maxTokens: 4 },
      })
      const body = (await res.json()) as { error: { code: string } }
      expect(res.status, mode).toBeGreaterThanOrEqual(400)
      seen.push({ status: res.status, code: body.error.code })
      const rows = await rowsOf(seen.length)
      expect(rows).toHaveLength(seen.length) // one row per request, no more
      const last = rows.at(-1) // written in order: each request's row lands before the next is sent
      expect(last, mode).toMatchObject({ stream: false, finish_reason: null, error_code: body.error.code })
      expect(last.outcome, mode).not.toBe('success')
    }
    // Nothing was recorded as a success, and the codes the client saw were the documented ones.
    const rows = await rowsOf(seen.length)
    expect(rows.filter((r) => r.outcome === 'success')).toEqual([])
    expect(new Set(rows.map((r) => r.error_code))).toEqual(new Set(seen.map((s) => s.code)))
    fake.mode = 'ok'
  })
})
