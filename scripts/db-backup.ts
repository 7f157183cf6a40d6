// Backup and restore of the lab's PostgreSQL (Neon in production: use a direct, non-pooled connection
// string; see ops/RUNBOOK.md). pg_dump's custom format: compressed, restorable table by table.
//   npm run db:backup -- FILE            (DATABASE_URL: the database to dump)
//   npm run db:restore -- FILE           (DATABASE_URL: an empty database, or one to overwrite)
// pg_dump/pg_restore come with PostgreSQL's client tools (Debian: postgresql-client); their major
// version must be at least the server's.
import { spawnSync } from 'node:child_process'
import { statSync } from 'node:fs'

export function backup(databaseUrl: string, file: string): void {
  run('pg_dump', [
    '--format=custom',
    '--no-owner',
    '--no-privileges',
    `--file=${file}`,
    `--dbname=${databaseUrl}`,
  ])
}

/** Restores into the given database; --clean --if-exists replaces objects the dump has. */
export function restore(databaseUrl: string, file: string): void {
  run('pg_restore', [
    '--clean',
    '--if-exists',
    '--no-owner',
    '--no-privileges',
    '--single-transaction',
    '--exit-on-error',
    `--dbname=${databaseUrl}`,
    file,
  ])
}

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.error) throw new Error(`${cmd}: ${r.error.message} (install PostgreSQL's client tools)`)
  // Never echo the connection string: it holds the database password.
  if (r.status !== 0) throw new Error(`${cmd} failed (exit ${r.status}): ${r.stderr.trim().slice(0, 2000)}`)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [command, file] = process.argv.slice(2)
  const url = process.env.DATABASE_URL
  if (!url || !file || (command !== 'backup' && command !== 'restore')) {
    console.error('usage: DATABASE_URL=… tsx scripts/db-backup.ts backup|restore FILE')
    process.exit(2)
  }
  const t0 = Date.now()
  if (command === 'backup') backup(url, file)
  else restore(url, file)
  const size = statSync(file).size
  console.log(`${command}: ${file} (${(size / 1024).toFixed(1)} KB) in ${Date.now() - t0} ms`)
}
