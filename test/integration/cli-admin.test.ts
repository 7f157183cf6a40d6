// `wmlab tenant create` against the real PostgreSQL: the key it prints authenticates, and only its
// hash is stored.
import pg from 'pg'
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
