// `wmlab tenant create` against the real PostgreSQL: the key it prints authenticates, and only its
// hash is stored.
import pg from 'pg'
import { runCli } from '../../cli/test-support.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTenant } from '../../cli/admin.ts'
import { migrate } from '../../scripts/migrate.ts'
import { createStore, type SqlPool, sha256Hex } from '../../worker/adapters/db.ts'
import { createTestDatabase } from './services.ts'

let db: Awaited<ReturnType<typeof createTestDatabase>>

beforeAll(async () => {
  db = await createTestDatabase()
  const pool = new pg.Pool({ connectionString: db.url, max: 1 })
  await migrate(pool as never)
  await pool.end()
})
afterAll(async () => db?.drop())

describe('wmlab tenant create', () => {
  it('creates a tenant whose printed API key authenticates; the key itself is not stored', async () => {
    const created = await createTenant(db.url, 'operator-made')
    expect(created.apiKey).toMatch(/^wml_/)
    const pool = new pg.Pool({ connectionString: db.url, max: 1 })
    try {
      const found = await createStore(pool as unknown as SqlPool).findApiKeyByHash(
        await sha256Hex(created.apiKey),
      )
      expect(found?.tenant.id).toBe(created.tenant.id)
      expect(found?.tenant.detectionDetail).toBe('full')
      // --verdict-only is stored and comes back with the tenant at authentication.
      const untrusted = await createTenant(db.url, 'untrusted', false, 'verdict')
      const seen = await createStore(pool as unknown as SqlPool).findApiKeyByHash(
        await sha256Hex(untrusted.apiKey),
      )
      expect(seen?.tenant.detectionDetail).toBe('verdict')
      const dump = JSON.stringify((await pool.query('SELECT * FROM api_keys')).rows)
      expect(dump).not.toContain(created.apiKey)
    } finally {
      await pool.end()
    }
  })
})

describe('wmlab tenant create (command line)', () => {
  it('prints the tenant and key as JSON, and errors as JSON without the database URL', async () => {
    const { main } = await import('../../cli/main.ts')
    let out = ''
    let err = ''
    expect(
      await main(
        ['tenant', 'create', '--name', 'cli-made', '--database-url', db.url],
        (s) => (out += s),
        (s) => (err += s),
      ),
    ).toBe(0)
    expect(JSON.parse(out).apiKey).toMatch(/^wml_/)
    const bad = 'postgresql://nobody:s3cret@127.0.0.1:1/none'
    expect(
      await main(
        ['tenant', 'create', '--name', 'x', '--database-url', bad],
        () => {},
        (s) => (err += s),
      ),
    ).toBe(2)
    expect(JSON.parse(err).error.code).toBe('database_error')
    expect(err).not.toContain('s3cret')
  })
})

describe('wmlab tenant api-key', () => {
  it('adds a verdict-only (or full-detail) API key to a tenant; the key authenticates with that detail', async () => {
    const run = (args: string[]) => runCli(...args)
    const owner = await createTenant(db.url, 'api-key owner')
    const pool = new pg.Pool({ connectionString: db.url, max: 1 })
    try {
      const store = createStore(pool as unknown as SqlPool)
      for (const [flag, stored, effective] of [
        ['--verdict-only', 'verdict', 'verdict'],
        ['--full-detail', 'full', 'full'],
        [null, null, 'full'],
      ] as const) {
        const args = ['tenant', 'api-key', '--tenant', owner.tenant.id, '--database-url', db.url]
        const made = await run(flag ? [...args, flag] : args)
        expect(made.code).toBe(0)
        expect(made.out).toMatchObject({ tenantId: owner.tenant.id, detectionDetail: stored })
        const found = await store.findApiKeyByHash(await sha256Hex(made.out.apiKey))
        expect(found?.tenant).toMatchObject({ id: owner.tenant.id, detectionDetail: effective })
      }
      const missing = await run(['tenant', 'api-key', '--tenant', 'tn_nope', '--database-url', db.url])
      expect([missing.code, missing.err.error.code]).toEqual([2, 'tenant_not_found'])
      const both = await run([
        ...['tenant', 'api-key', '--tenant', owner.tenant.id, '--database-url', db.url],
        ...['--verdict-only', '--full-detail'],
      ])
      expect(both.err.error.code).toBe('invalid_option')
      const noTenant = await run(['tenant', 'api-key', '--database-url', db.url])
      expect(noTenant.code).toBe(2)
    } finally {
      await pool.end()
    }
  })
})
