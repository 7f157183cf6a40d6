// The Neon driver (@neondatabase/serverless Pool) → scripts/neon-ws-proxy.ts → the real local PostgreSQL:
// migrations, the store's tenant isolation, transactions, and the proxy's own protocol duties.
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Pool } from '@neondatabase/serverless'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { MIGRATIONS_DIR, type MigrationPool, migrate } from '../../scripts/migrate.ts'
import { FrontendMessageTracker, parseLoopbackTarget, startNeonProxy } from '../../scripts/neon-ws-proxy.ts'
import type { NeonProxy } from '../../scripts/neon-ws-proxy.ts'
import {
  createStore,
  newId,
  openStore,
  type SqlPool,
  type Store,
  sha256Hex,
} from '../../worker/adapters/db.ts'
import { configureNeonForLocalProxy } from '../../worker/adapters/neon.ts'
import { createTestDatabase, eventually, PG_PORT } from './services.ts'

describe('neon-ws-proxy units', () => {
  it('allows only loopback targets', () => {
    expect(parseLoopbackTarget('127.0.0.1:5432')).toEqual({ host: '127.0.0.1', port: 5432 })
    expect(parseLoopbackTarget('localhost:5432')).toEqual({ host: 'localhost', port: 5432 })
    expect(parseLoopbackTarget('[::1]:5432')).toEqual({ host: '::1', port: 5432 })
    for (const bad of [
      '8.8.8.8:5432',
      'db.example.com:5432',
      '127.0.0.1',
      '127.0.0.1:0',
      '10.0.0.1:5432',
      null,
    ]) {
      expect(parseLoopbackTarget(bad)).toBeNull()
    }
  })

  it('recognises Terminate as a message, across chunk boundaries, and not inside a payload', () => {
    const startup = Buffer.alloc(8)
    startup.writeInt32BE(8, 0)
    startup.writeInt32BE(196608, 4)
    const terminate = Buffer.from([0x58, 0, 0, 0, 4])
    // A Query whose text ends with the Terminate bytes must not count.
    const sql = Buffer.concat([Buffer.from('SELECT 1'), terminate])
    const query = Buffer.alloc(5)
    query[0] = 0x51
    query.writeInt32BE(4 + sql.length, 1)
    const t = new FrontendMessageTracker()
    expect(t.push(startup)).toBe(false)
    expect(t.push(Buffer.concat([query, sql]))).toBe(false)
    expect(t.push(terminate.subarray(0, 2))).toBe(false)
    expect(t.push(terminate.subarray(2))).toBe(true)
  })
})

describe('Neon driver through the proxy, real PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  let proxy: NeonProxy
  let pool: Pool
  let store: Store

  beforeAll(async () => {
    db = await createTestDatabase()
    proxy = await startNeonProxy({ log: () => {} })
    configureNeonForLocalProxy({ proxy: proxy.url, webSocketConstructor: WebSocket, coalesceWrites: false })
    pool = new Pool({ connectionString: db.url, max: 4 })
    store = createStore(pool as unknown as SqlPool)
  })

  afterAll(async () => {
    await pool?.end()
    await proxy?.close()
    await db?.drop()
  })

  it('applies migrations once, then skips them (Neon driver and direct pg)', async () => {
    const first = await migrate(pool as unknown as MigrationPool)
    const all = [
      '0001_init.sql',
      '0002_generations.sql',
      '0003_experiments.sql',
      '0004_detection_detail.sql',
      '0005_api_key_detail.sql',
    ]
    expect(first).toEqual({ applied: all, skipped: [] })
    const second = await migrate(pool as unknown as MigrationPool)
    expect(second).toEqual({ applied: [], skipped: all })
    const direct = new pg.Pool({ connectionString: db.url, max: 1 })
    try {
      expect(await migrate(direct)).toEqual({ applied: [], skipped: all })
    } finally {
      await direct.end()
    }
    const { rows } = await pool.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
    )
    expect(rows.map((r) => r.table_name)).toEqual([
      'api_keys',
      'detections',
      'experiment_jobs',
      'experiment_samples',
      'experiments',
      'generations',
      'schema_migrations',
      'tenants',
      'watermark_keys',
    ])
  })

  it('refuses a migration edited after it was applied, and rolls back a failing one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wmlab-migrations-'))
    try {
      await cp(MIGRATIONS_DIR, dir, { recursive: true })
      const file = join(dir, '0001_init.sql')
      await writeFile(file, `${await readFile(file, 'utf8')}\n-- edited\n`)
      await expect(migrate(pool as unknown as MigrationPool, { dir })).rejects.toThrow(/checksum mismatch/)
      await cp(join(MIGRATIONS_DIR, '0001_init.sql'), file)
      await writeFile(
        join(dir, '0099_broken.sql'),
        'CREATE TABLE half_done (x int);\nSELECT no_such_function();\n',
      )
      await expect(migrate(pool as unknown as MigrationPool, { dir })).rejects.toThrow(/0099_broken\.sql/)
      const { rows } = await pool.query(
        `SELECT to_regclass('half_done') AS t, count(*)::int AS n FROM schema_migrations`,
      )
      const applied = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).length
      expect(rows[0]).toEqual({ t: null, n: applied }) // only the shipped migrations
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('rolls back a transaction on a pooled Neon client', async () => {
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      await client.query(`INSERT INTO tenants (id, name) VALUES ('tn_rollback', 'gone')`)
      expect((await client.query(`SELECT 1 FROM tenants WHERE id = 'tn_rollback'`)).rowCount).toBe(1)
      await client.query('ROLLBACK')
      // An error inside a transaction aborts it: nothing before the error survives either.
      await client.query('BEGIN')
      await client.query(`INSERT INTO tenants (id, name) VALUES ('tn_rollback2', 'gone')`)
      await expect(client.query('SELECT 1/0')).rejects.toThrow(/division by zero/)
      await expect(client.query('SELECT 1')).rejects.toThrow(/current transaction is aborted/)
      await client.query('ROLLBACK')
    } finally {
      client.release()
    }
    const { rows } = await pool.query(`SELECT id FROM tenants WHERE id LIKE 'tn_rollback%'`)
    expect(rows).toEqual([])
    // Types round-trip through the proxy as with node-postgres.
    const t = await pool.query(`SELECT now() AS ts, '{"a":[1]}'::jsonb AS j, 12345678901234::bigint AS b`)
    expect(t.rows[0].ts).toBeInstanceOf(Date)
    expect(t.rows[0].j).toEqual({ a: [1] })
    expect(t.rows[0].b).toBe('12345678901234')
  })

  it('keeps tenants apart: B cannot read, list, revoke, rotate or detect with A’s keys', async () => {
    const a = await store.createTenant({ name: 'A' })
    const b = await store.createTenant({ name: 'B', storeText: true })
    const keyA = await store.createWatermarkKey(a.id, { scheme: 'kgw-lefthash', params: { gamma: 0.25 } })
    const keyB = await store.createWatermarkKey(b.id, { scheme: 'synthid', tokenizer: 'qwen3' })
    expect(keyA).toMatchObject({
      tenantId: a.id,
      scheme: 'kgw-lefthash',
      params: { gamma: 0.25 },
      status: 'active',
    })
    expect(keyB.tokenizer).toBe('qwen3')

    expect(await store.getWatermarkKey(b.id, keyA.id)).toBeNull()
    expect((await store.listWatermarkKeys(b.id)).map((k) => k.id)).toEqual([keyB.id])
    expect(await store.revokeWatermarkKey(b.id, keyA.id, { graceSeconds: 0 })).toBeNull()
    await expect(store.rotateWatermarkKey(b.id, keyA.id, { graceSeconds: 0 })).rejects.toMatchObject({
      code: 'not_found',
    })
    expect((await store.getWatermarkKey(a.id, keyA.id))?.status).toBe('active')

    const hash = await sha256Hex('text')
    const detection = (keyId: string | null) => ({
      id: newId('dt'),
      keyId,
      textHash: hash,
      text: 'the text',
      scheme: 'kgw-lefthash',
      pValue: 1e-9,
      logPValue: -20.7,
      tokens: 200,
      scored: 190,
      watermarked: true,
    })
    await expect(store.insertDetection(b.id, detection(keyA.id))).rejects.toMatchObject({ code: 'not_found' })
    const rec = detection(keyA.id)
    expect(await store.insertDetection(a.id, rec)).toBe(true)
    expect(await store.insertDetection(a.id, rec)).toBe(false) // a retried write is a no-op
    expect(await store.insertDetection(b.id, detection(keyB.id))).toBe(true)
    const seenByA = await store.listDetections(a.id)
    expect(seenByA.map((d) => d.id)).toEqual([rec.id])
    expect(seenByA[0]).toMatchObject({ text: null, pValue: 1e-9, watermarked: true }) // A did not opt in
    expect((await store.listDetections(b.id))[0].text).toBe('the text') // B did

    // Malformed ids are "not found", never a database error.
    expect(await store.getWatermarkKey(a.id, "x' OR 1=1 --")).toBeNull()
    expect(await store.listWatermarkKeys('')).toEqual([])
  })

  it('creates API keys as hashes, finds them by hash, and lets only their tenant revoke them', async () => {
    const a = await store.createTenant({ name: 'A' })
    const b = await store.createTenant({ name: 'B' })
    const { key, apiKey } = await store.createApiKey(a.id, { name: 'ci' })
    expect(key).toMatch(/^wml_[A-Za-z0-9_-]{43}$/)
    expect(key.startsWith(apiKey.prefix)).toBe(true)
    const { rows } = await pool.query('SELECT key_hash FROM api_keys WHERE id = $1', [apiKey.id])
    expect(rows[0].key_hash).toBe(await sha256Hex(key))
    expect(JSON.stringify(rows)).not.toContain(key)

    const found = await store.findApiKeyByHash(await sha256Hex(key))
    expect(found?.tenant.id).toBe(a.id)
    expect(found?.apiKey.id).toBe(apiKey.id)
    expect(await store.findApiKeyByHash(await sha256Hex(`${key}x`))).toBeNull()
    expect(await store.revokeApiKey(b.id, apiKey.id)).toBe(false)
    expect(await store.revokeApiKey(a.id, apiKey.id)).toBe(true)
    expect(await store.findApiKeyByHash(await sha256Hex(key))).toBeNull()
  })

  it('gives an API key its own detection detail, or its tenant’s when it sets none', async () => {
    const full = await store.createTenant({ name: 'full' })
    const verdict = await store.createTenant({ name: 'verdict', detectionDetail: 'verdict' })
    const cases = [
      [full.id, undefined, null, 'full'],
      [full.id, 'verdict', 'verdict', 'verdict'],
      [verdict.id, undefined, null, 'verdict'],
      [verdict.id, 'full', 'full', 'full'],
    ] as const
    for (const [tenantId, detail, stored, effective] of cases) {
      const { key, apiKey } = await store.createApiKey(tenantId, { detectionDetail: detail })
      expect(apiKey.detectionDetail).toBe(stored)
      const found = await store.findApiKeyByHash(await sha256Hex(key))
      expect(found?.tenant).toMatchObject({ id: tenantId, detectionDetail: effective })
      expect(found?.apiKey.detectionDetail).toBe(stored)
    }
    // The tenant row itself is unchanged by its keys' settings.
    expect((await store.getTenant(full.id))?.detectionDetail).toBe('full')
    await expect(pool.query(`UPDATE api_keys SET detection_detail = 'some'`)).rejects.toThrow(/check/i)
    await expect(store.createApiKey('tn_missing', { detectionDetail: 'verdict' })).rejects.toMatchObject({
      code: 'not_found',
    })
  })

  it('rotates atomically and keeps revoked keys detectable for the grace period', async () => {
    const t = await store.createTenant({ name: 'rot' })
    const k1 = await store.createWatermarkKey(t.id, { scheme: 'vllm-gumbel', params: { ngram: 2 } })
    const { revoked, created } = await store.rotateWatermarkKey(t.id, k1.id, { graceSeconds: 3600 })
    expect(revoked).toMatchObject({ id: k1.id, status: 'revoked' })
    expect(Date.parse(revoked.detectableUntil!) - Date.parse(revoked.revokedAt!)).toBe(3600_000)
    expect(created).toMatchObject({ scheme: 'vllm-gumbel', params: { ngram: 2 }, rotatedFrom: k1.id })
    await expect(store.rotateWatermarkKey(t.id, k1.id, { graceSeconds: 0 })).rejects.toMatchObject({
      code: 'conflict',
    })
    expect((await store.listDetectableKeys(t.id)).map((k) => k.id).sort()).toEqual([k1.id, created.id].sort())
    await store.revokeWatermarkKey(t.id, created.id, { graceSeconds: 0 })
    expect((await store.listDetectableKeys(t.id)).map((k) => k.id)).toEqual([k1.id])
    expect((await store.listWatermarkKeys(t.id, { status: 'active' })).length).toBe(0)
  })

  it('per-request store: ends its pool through waitUntil, and the proxy hangs up on Terminate', async () => {
    const pending: Promise<unknown>[] = []
    const before = proxy.connections()
    const reqStore = openStore({ connectionString: db.url, waitUntil: (p) => pending.push(p) })
    expect(await reqStore.ping()).toBeGreaterThanOrEqual(0)
    expect(proxy.connections()).toBe(before + 1)
    void reqStore.close()
    expect(pending).toHaveLength(1)
    await Promise.all(pending)
    // pool.end() only sends Terminate: the connection closes because the proxy ends the TCP side.
    await eventually(() => proxy.connections() === before)
  })

  it('per-request store: connects only when queried, and refuses queries once closed', async () => {
    const pending: Promise<unknown>[] = []
    const before = proxy.connections()
    const unused = openStore({ connectionString: db.url, waitUntil: (p) => pending.push(p) })
    await unused.close()
    await Promise.all(pending)
    expect(proxy.connections()).toBe(before) // a cache hit's store never opens a connection
    await expect(unused.ping()).rejects.toThrow('the store is closed')
    expect(proxy.connections()).toBe(before)
  })

  it('refuses non-loopback targets', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/v2?address=192.0.2.1:${PG_PORT}`)
    const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)))
    expect(code).toBe(1008)
  })
})
