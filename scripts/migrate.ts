// Applies worker/migrations/*.sql in order, each in its own transaction, recorded in schema_migrations.
// Works with any node-postgres-compatible pool: `pg` directly, or @neondatabase/serverless's Pool
// (through scripts/neon-ws-proxy.ts locally, or Neon itself in production).
//
//   DATABASE_URL=postgresql://root@127.0.0.1:5432/test tsx scripts/migrate.ts [--driver pg|neon] [--dir DIR]
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const MIGRATIONS_DIR = fileURLToPath(new URL('../worker/migrations/', import.meta.url))

/** The part of pg's / Neon's Pool that the runner needs. */
export interface MigrationPool {
  connect(): Promise<MigrationClient>
}
export interface MigrationClient {
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>
  release(err?: Error | boolean): void
}

export interface MigrationFile {
  version: string
  name: string
  sql: string
  checksum: string
}

export interface MigrateResult {
  applied: string[]
  skipped: string[]
}

// Serialises concurrent runners (two deploys, two test workers) on one database.
const LOCK_KEY = 7_349_201_553

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((n) => /^\d+_[\w-]+\.sql$/.test(n)).sort()
  const files: MigrationFile[] = []
  for (const name of names) {
    const sql = await readFile(join(dir, name), 'utf8')
    const version = name.slice(0, name.indexOf('_'))
    if (files.some((f) => f.version === version)) throw new Error(`duplicate migration version ${version}`)
    files.push({ version, name, sql, checksum: createHash('sha256').update(sql).digest('hex') })
  }
  return files
}

export async function migrate(
  pool: MigrationPool,
  options: { dir?: string; log?: (message: string) => void } = {},
): Promise<MigrateResult> {
  const log = options.log ?? (() => {})
  const files = await loadMigrations(options.dir)
  const result: MigrateResult = { applied: [], skipped: [] }
  const client = await pool.connect()
  let broken: Error | undefined
  try {
    // Under the lock too: two runners creating the table at once collide in pg_type otherwise.
    await client.query('BEGIN')
    await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY])
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`)
    await client.query('COMMIT')
    for (const file of files) {
      await client.query('BEGIN')
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY])
        const { rows } = await client.query('SELECT checksum FROM schema_migrations WHERE version = $1', [
          file.version,
        ])
        if (rows.length > 0) {
          await client.query('ROLLBACK')
          // An edited migration that already ran would silently diverge between databases.
          if (rows[0].checksum !== file.checksum) {
            throw new Error(`migration ${file.name} was changed after it was applied (checksum mismatch)`)
          }
          result.skipped.push(file.name)
          continue
        }
        await client.query(file.sql) // simple protocol: the file may hold many statements
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          file.version,
          file.name,
          file.checksum,
        ])
        await client.query('COMMIT')
        result.applied.push(file.name)
        log(`applied ${file.name}`)
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {})
        throw err instanceof Error && !err.message.includes(file.name)
          ? Object.assign(new Error(`${file.name}: ${err.message}`), { cause: err })
          : err
      }
    }
  } catch (err) {
    broken = err as Error
    throw err
  } finally {
    client.release(broken)
  }
  return result
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1')
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const opt = (name: string) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  const url = process.env.DATABASE_URL
  if (!url) throw new Error('DATABASE_URL is not set (e.g. postgresql://root@127.0.0.1:5432/test)')
  // Local databases default to direct TCP; remote ones (Neon) to the production driver.
  const driver = opt('--driver') ?? process.env.MIGRATE_DRIVER ?? (isLoopback(url) ? 'pg' : 'neon')
  const dir = opt('--dir')
  const log = (m: string) => console.log(m)
  let result: MigrateResult
  if (driver === 'pg') {
    const { default: pg } = await import('pg')
    const pool = new pg.Pool({ connectionString: url, max: 1 })
    try {
      result = await migrate(pool as unknown as MigrationPool, { dir, log })
    } finally {
      await pool.end()
    }
  } else if (driver === 'neon') {
    const { Pool, neonConfig } = await import('@neondatabase/serverless')
    const { default: ws } = await import('ws')
    neonConfig.webSocketConstructor = ws
    let proxy: { close(): Promise<void> } | undefined
    if (isLoopback(url)) {
      // A local Postgres has no wsproxy in front of it: bring ours up for the duration of the run.
      const { startNeonProxy } = await import('./neon-ws-proxy.ts')
      const { configureNeonForLocalProxy } = await import('../worker/adapters/neon.ts')
      const started = await startNeonProxy()
      proxy = started
      configureNeonForLocalProxy({ proxy: started.url, webSocketConstructor: ws, coalesceWrites: false })
    }
    const pool = new Pool({ connectionString: url, max: 1 })
    try {
      result = await migrate(pool as unknown as MigrationPool, { dir, log })
    } finally {
      await pool.end()
      await proxy?.close()
    }
  } else {
    throw new Error(`unknown --driver ${driver} (pg or neon)`)
  }
  console.log(JSON.stringify({ driver, ...result }))
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`migrate: ${err instanceof Error ? err.message : String(err)}`)
    process.exit(1)
  })
}
