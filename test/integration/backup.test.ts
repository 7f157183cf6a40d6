// Backup and restore round trip (scripts/db-backup.ts: pg_dump / pg_restore) on the local PostgreSQL:
// every table of a migrated database with rows in it comes back with the same row count and the same
// checksum of its ordered contents, and the restored database takes the next migration run as a no-op.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backup, restore } from '../../scripts/db-backup.ts'
import { migrate } from '../../scripts/migrate.ts'
import { createTestDatabase } from './services.ts'

let source: Awaited<ReturnType<typeof createTestDatabase>>
let target: Awaited<ReturnType<typeof createTestDatabase>>
const dir = mkdtempSync(join(tmpdir(), 'wmlab-backup-'))

beforeAll(async () => {
  source = await createTestDatabase()
  target = await createTestDatabase()
})
afterAll(async () => {
  await source?.drop()
  await target?.drop()
  rmSync(dir, { recursive: true, force: true })
})

/** Row count and md5 of every row (as JSON, ordered) of each public table. */
async function fingerprint(url: string): Promise<Record<string, { rows: number; md5: string }>> {
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  try {
    const { rows: tables } = await pool.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
    )
    const out: Record<string, { rows: number; md5: string }> = {}
    for (const { table_name: t } of tables) {
      const { rows } = await pool.query(
        `SELECT count(*)::int AS n, coalesce(md5(string_agg(j, E'\\n' ORDER BY j)), '') AS md5
         FROM (SELECT row_to_json(x)::text AS j FROM "${t}" x) s`,
      )
      out[t] = { rows: rows[0].n, md5: rows[0].md5 }
    }
    return out
  } finally {
    await pool.end()
  }
}

describe('db:backup / db:restore', () => {
  it('round-trips every table: same row counts and checksums', async () => {
    const pool = new pg.Pool({ connectionString: source.url, max: 1 })
    try {
      await migrate(pool as never)
      await pool.query(`INSERT INTO tenants (id, name, store_text) VALUES ('tn_a', 'A ünïcode ✓', true)`)
      await pool.query(
        `INSERT INTO watermark_keys (id, tenant_id, scheme, params, tokenizer)
         VALUES ('wk_a', 'tn_a', 'kgw-lefthash', '{"gamma":0.25}', 'qwen3')`,
      )
      await pool.query(
        `INSERT INTO experiments (id, tenant_id, name, spec, total_jobs) VALUES ('ex_a', 'tn_a', 'e', '{"x":1}', 2)`,
      )
      await pool.query(
        `INSERT INTO experiment_samples (experiment_id, sample, cell, attack, variant, text, tokens, detections)
         VALUES ('ex_a', 0, 0, 'none', 'human', 'text with a, comma and "quotes"\nand a newline', 9, '[]')`,
      )
      await pool.query(
        `INSERT INTO experiment_jobs (experiment_id, job, outcome, attempts) VALUES ('ex_a', 0, 'done', 2)`,
      )
      await pool.query(
        `INSERT INTO api_keys (id, tenant_id, key_hash, prefix, name, revoked_at)
         VALUES ('ak_a', 'tn_a', repeat('ab', 32), 'wml_abcd', 'ci', NULL),
                ('ak_b', 'tn_a', repeat('cd', 32), 'wml_cdef', NULL, '2026-01-02T03:04:05.678901Z')`,
      )
      // Values a text or CSV dump could mangle: a p-value below 1e-300, a NUL-free control character, NULLs.
      await pool.query(
        `INSERT INTO detections (id, tenant_id, key_id, text_hash, text, scheme, p_value, log_p_value, tokens, scored, watermarked)
         VALUES ('dt_a', 'tn_a', 'wk_a', repeat('0f', 32), E'tab\there \u202Eright-to-left', 'kgw-lefthash', 1e-310, -713.8, 200, 199, true),
                ('dt_b', 'tn_a', NULL, repeat('1e', 32), NULL, 'kgw-lefthash', 0.5, NULL, 3, 0, false)`,
      )
      await pool.query(
        `INSERT INTO generations (id, tenant_id, key_id, scheme, model, endpoint, stream, prompt_tokens,
           completion_tokens, latency_ms, first_token_ms, finish_reason, outcome, error_code, text)
         VALUES ('gn_a', 'tn_a', 'wk_a', 'kgw-lefthash', 'brown-lm', 'generate', false, 12, 40, 250, 30, 'length', 'success', NULL, 'generated ✓'),
                ('gn_b', 'tn_a', NULL, NULL, NULL, 'chat.completions', true, NULL, 0, 5, NULL, NULL, 'unavailable', 'origin_unavailable', NULL)`,
      )
    } finally {
      await pool.end()
    }
    const before = await fingerprint(source.url)
    // Every table the migrations create (test/integration/neon.test.ts names them) holds rows, so the
    // round trip is proven for each of them.
    expect(Object.keys(before).length).toBeGreaterThanOrEqual(9)
    for (const [table, { rows }] of Object.entries(before)) expect(rows, table).toBeGreaterThan(0)
    expect(before.tenants.rows).toBe(1)
    expect(before.detections.rows).toBe(2)

    const file = join(dir, 'lab.dump')
    backup(source.url, file)
    restore(target.url, file)
    expect(await fingerprint(target.url)).toEqual(before)

    // The restored schema_migrations says everything is applied: migrate is a no-op there.
    const restored = new pg.Pool({ connectionString: target.url, max: 1 })
    try {
      expect((await migrate(restored as never)).applied).toEqual([])
    } finally {
      await restored.end()
    }
  })

  it('fails loudly, without the connection string, when the database is unreachable', () => {
    const url = 'postgresql://wmlab:s3cret-password@127.0.0.1:1/nowhere'
    let message = ''
    try {
      backup(url, join(dir, 'never.dump'))
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).toMatch(/pg_dump failed/)
    expect(message).not.toContain('s3cret-password')
  })
})
