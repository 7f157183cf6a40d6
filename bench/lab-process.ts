// The whole lab (scripts/lab.ts: embedded PostgreSQL, Neon proxy, origin, the Worker under wrangler dev)
// in a child process, for the benchmarks that drive the local worker over HTTP.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface LabProcess {
  url: string
  apiKey: string
  /** The lab's embedded PostgreSQL (user lab, database lab). */
  databaseUrl: string
  /** Stops wrangler, workerd, the origin, the proxy and PostgreSQL, and waits for them. */
  stop(): Promise<void>
}

/**
 * Starts the lab on free-ish ports with limits lifted (one client address and key: the limits are not
 * what a benchmark measures), sampled request logs and no wrangler dev line per request, as in
 * production (both overridable from the environment).
 */
export async function startLab(): Promise<LabProcess> {
  const labDir = mkdtempSync(join(tmpdir(), 'wmlab-bench-'))
  const port = 8700 + Math.floor(Math.random() * 200)
  const pgPort = port + 1000
  const child = spawn('node_modules/.bin/tsx', ['scripts/lab.ts'], {
    env: {
      ...process.env,
      LAB_DIR: labDir,
      PORT: String(port),
      LAB_PG_PORT: String(pgPort),
      LAB_ORIGIN_PORT: String(port + 2000),
      RATE_LIMIT_PER_MINUTE: '100000000',
      RATE_LIMIT_PER_IP_PER_MINUTE: '100000000', // wrangler dev sets cf-connecting-ip: one address
      // Unsampled, every line crosses wrangler dev's inspector pipe and costs the dev server more than
      // a cache hit costs the worker; production samples logs too ([observability]).
      REQUEST_LOG_SAMPLE_RATE: process.env.REQUEST_LOG_SAMPLE_RATE ?? '0.01',
      // wrangler dev's own "[wrangler:info] POST /v1/detect 200" line per request (not in production).
      WRANGLER_LOG: process.env.WRANGLER_LOG ?? 'warn',
    },
    stdio: 'ignore',
  })
  const stop = async () => {
    if (child.exitCode !== null || !child.pid) return
    process.kill(child.pid, 'SIGINT') // the launcher stops everything it started
    await new Promise((r) => child.once('exit', r))
  }
  const devFile = join(labDir, 'dev.json')
  const deadline = Date.now() + 180_000
  while (!existsSync(devFile)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop()
      throw new Error('the lab did not start within 3 minutes')
    }
    await new Promise((r) => setTimeout(r, 500))
  }
  const dev = JSON.parse(readFileSync(devFile, 'utf8')) as { url: string; apiKey: string }
  return { ...dev, databaseUrl: `postgresql://lab:lab@127.0.0.1:${pgPort}/lab`, stop }
}
