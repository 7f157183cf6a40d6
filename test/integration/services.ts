// Shared setup for the integration tests: the real PostgreSQL and Redis on this machine. A missing service
// fails the tests with a message saying how to start it: they never pass by skipping.
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import pg from 'pg'

export const PG_HOST = process.env.TEST_PG_HOST ?? '127.0.0.1'
export const PG_PORT = Number(process.env.TEST_PG_PORT ?? 5432)
export const PG_USER = process.env.PGUSER ?? 'root'
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

export const pgUrl = (database: string) => `postgresql://${PG_USER}@${PG_HOST}:${PG_PORT}/${database}`

function reachable(host: string, port: number, timeoutMs = 2000): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port })
    const done = (err: string | null) => {
      socket.destroy()
      resolve(err)
    }
    socket.setTimeout(timeoutMs, () => done('timed out'))
    socket.once('connect', () => done(null))
    socket.once('error', (e) => done(e.message))
  })
}

export async function requirePostgres(): Promise<void> {
  const err = await reachable(PG_HOST, PG_PORT)
  if (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${PG_HOST}:${PG_PORT} (${err}); the integration tests need it. Start it with ` +
        '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` (or run .ci/run).',
    )
  }
}

export async function requireRedis(): Promise<void> {
  const { hostname, port } = new URL(REDIS_URL)
  const err = await reachable(hostname, Number(port || 6379))
  if (err) {
    throw new Error(
      `Redis is not reachable at ${REDIS_URL} (${err}); the integration tests need it. Start it with ` +
        '`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no` (or run .ci/run).',
    )
  }
}

export const runId = () => `${process.pid}_${randomBytes(4).toString('hex')}`

/** A fresh database for one test file, dropped afterwards: runs never see each other's rows. */
export async function createTestDatabase(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  await requirePostgres()
  const name = `wmlab_it_${runId()}`
  const admin = new pg.Pool({ connectionString: pgUrl(process.env.TEST_PG_DATABASE ?? 'test'), max: 1 })
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  return {
    name,
    url: pgUrl(name),
    async drop() {
      const pool = new pg.Pool({ connectionString: pgUrl(process.env.TEST_PG_DATABASE ?? 'test'), max: 1 })
      try {
        await pool.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await pool.end()
      }
    },
  }
}

/** Polls until `check` holds (for effects that land asynchronously, like a TCP hang-up). */
export async function eventually(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}
