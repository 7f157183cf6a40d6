// The edge API over the real PostgreSQL through the Neon driver and the local WebSocket proxy: the
// production store path (per-request pools), tenant isolation in SQL, audit rows without text.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { loadTokenizer } from '../../cli/tokenizers-node.ts'
import { migrate } from '../../scripts/migrate.ts'
import { type NeonProxy, startNeonProxy } from '../../scripts/neon-ws-proxy.ts'
import { loadWasmKernel } from '../../wasm/node.ts'
import { memoryCache } from '../../worker/adapters/cache.ts'
import { configureNeonForLocalProxy } from '../../worker/adapters/neon.ts'
import { createApp } from '../../worker/src/app.ts'
import { openPostgresStore } from '../../worker/src/pg-store.ts'
import { memoryRateLimiter } from '../../worker/src/rate-limit.ts'
import { createTestDatabase } from './services.ts'

let proxy: NeonProxy
let db: Awaited<ReturnType<typeof createTestDatabase>>
let app: ReturnType<typeof createApp>
const pending: Promise<unknown>[] = []

beforeAll(async () => {
  db = await createTestDatabase()
  const pool = new pg.Pool({ connectionString: db.url, max: 1 })
  await migrate(pool as never)
  await pool.end()
  proxy = await startNeonProxy()
  configureNeonForLocalProxy({ proxy: proxy.url, webSocketConstructor: WebSocket })
  app = createApp({
    openStore: (waitUntil) => openPostgresStore(db.url, 3600, (p) => waitUntil(p)),
    cache: memoryCache(),
    tokenizer: async (id) => loadTokenizer(id),
    kernel: loadWasmKernel,
    masterSecret: 'integration-master-secret-0123456789',
    revokedGraceSeconds: 3600,
    maxTokens: 8192,
    adminToken: 'admin',
    maxBodyBytes: 256 * 1024,
    rateLimiter: memoryRateLimiter(1000),
    checks: {},
  })
})

afterAll(async () => {
  await Promise.allSettled(pending)
  await proxy?.close()
  await db?.drop()
})

async function call(method: string, path: string, key: string, body?: unknown) {
  const res = await app.request(path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  return { status: res.status, body: (await res.json()) as any }
}

describe('edge API on PostgreSQL', () => {
  it('bootstraps tenants, isolates their keys, and records detections without the text', async () => {
    const a = (await call('POST', '/admin/tenants', 'admin', { name: 'A' })).body.apiKey
    const b = (await call('POST', '/admin/tenants', 'admin', { name: 'B' })).body.apiKey
    const key = await call('POST', '/v1/keys', a, { scheme: 'vllm-gumbel' })
    expect(key.status).toBe(201)
    expect((await call('GET', `/v1/keys/${key.body.id}`, b)).status).toBe(404)
    expect((await call('DELETE', `/v1/keys/${key.body.id}`, b)).status).toBe(404)
    expect((await call('GET', '/v1/keys', b)).body.keys).toEqual([])
    const det = await call('POST', '/v1/detect', a, {
      text: 'A sentence a tenant wants checked, stored only as a hash.',
    })
    expect(det.status).toBe(200)
    // The audit row is written after the response (waitUntil); poll for it.
    const check = new pg.Pool({ connectionString: db.url, max: 1 })
    let rows: { text: string | null; text_hash: string }[] = []
    for (let i = 0; i < 40 && rows.length === 0; i++) {
      rows = (await check.query('SELECT text, text_hash FROM detections')).rows
      if (rows.length === 0) await new Promise((r) => setTimeout(r, 100))
    }
    await check.end()
    expect(rows).toHaveLength(1)
    expect(rows[0].text).toBeNull()
    expect(rows[0].text_hash).toMatch(/^[0-9a-f]{64}$/)
  })

  it('rotates atomically: of concurrent rotations one creates the successor, the others get 409', async () => {
    const t = (await call('POST', '/admin/tenants', 'admin', { name: 'rotator' })).body.apiKey
    const key = (await call('POST', '/v1/keys', t, { scheme: 'kgw-lefthash', params: { gamma: 0.25 } })).body
    const results = await Promise.all(
      Array.from({ length: 5 }, () => call('POST', `/v1/keys/${key.id}/rotate`, t)),
    )
    const statuses = results.map((r) => r.status).sort()
    expect(statuses).toEqual([201, 409, 409, 409, 409])
    const created = results.find((r) => r.status === 201)!.body
    expect(created).toMatchObject({ scheme: 'kgw-lefthash', params: { gamma: 0.25 }, status: 'active' })
    expect(results.find((r) => r.status === 409)!.body.error.code).toBe('key_revoked')
    const keys = (await call('GET', '/v1/keys', t)).body.keys as { id: string; status: string }[]
    expect(keys.map((k) => k.status).sort()).toEqual(['active', 'revoked'])
    // Rotating the revoked key again is refused; its successor rotates normally.
    expect((await call('POST', `/v1/keys/${key.id}/rotate`, t)).status).toBe(409)
    expect((await call('POST', `/v1/keys/${created.id}/rotate`, t)).status).toBe(201)
  })
})
