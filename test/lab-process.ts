// The whole lab (scripts/lab.ts: embedded PostgreSQL, Neon proxy, origin, the Worker under wrangler dev)
// in a child process on random ports, as `npm start` runs it: for the stack test and the benchmarks
// that drive the local worker over HTTP.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface LabProcess {
  url: string
  apiKey: string
  keyId: string
  tenantId: string
  /** The lab folder (dev.json, PostgreSQL data): what the CLI finds through LAB_DIR. */
  labDir: string
  /** The lab's embedded PostgreSQL (user lab, database lab). */
  databaseUrl: string
  /** The generation origin. */
  originUrl: string
  /** Everything the launcher printed so far (for failure messages). */
  output(): string
  /** Stops wrangler, workerd, the origin, the proxy and PostgreSQL (what Ctrl-C does), and waits. */
  stop(): Promise<void>
}

/** Starts the lab with `env` added to this process's environment; resolves once dev.json is written. */
export async function startLab(env: Record<string, string> = {}, timeoutMs = 170_000): Promise<LabProcess> {
  const labDir = mkdtempSync(join(tmpdir(), 'wmlab-lab-'))
  const port = 18_000 + Math.floor(Math.random() * 2000)
  const pgPort = port + 3000
  const originPort = port + 4000
  const child = spawn('node_modules/.bin/tsx', ['scripts/lab.ts'], {
    env: {
      ...process.env,
      LAB_DIR: labDir,
      PORT: String(port),
      LAB_PG_PORT: String(pgPort),
      LAB_ORIGIN_PORT: String(originPort),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const stop = async () => {
    if (child.exitCode !== null || !child.pid) return
    process.kill(child.pid, 'SIGINT')
    await new Promise((r) => child.once('exit', r))
  }
  const devFile = join(labDir, 'dev.json')
  const deadline = Date.now() + timeoutMs
  while (!existsSync(devFile)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop()
      throw new Error(`the lab did not start:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 500))
  }
  const dev = JSON.parse(readFileSync(devFile, 'utf8')) as Pick<
    LabProcess,
    'url' | 'apiKey' | 'keyId' | 'tenantId'
  >
  return {
    ...dev,
    labDir,
    databaseUrl: `postgresql://lab:lab@127.0.0.1:${pgPort}/lab`,
    originUrl: `http://127.0.0.1:${originPort}`,
    output: () => output,
    stop,
  }
}

/**
 * The environment benchmarks start the lab with: limits lifted (one client address and key: the limits
 * are not what they measure), request logs sampled and no wrangler dev line per request, as in
 * production (both overridable from the environment).
 */
export const BENCH_LAB_ENV: Record<string, string> = {
  RATE_LIMIT_PER_MINUTE: '100000000',
  RATE_LIMIT_PER_IP_PER_MINUTE: '100000000', // wrangler dev sets cf-connecting-ip: one address
  // Unsampled, every line crosses wrangler dev's inspector pipe and costs the dev server more than a
  // cache hit costs the worker; production samples logs too ([observability]).
  REQUEST_LOG_SAMPLE_RATE: process.env.REQUEST_LOG_SAMPLE_RATE ?? '0.01',
  // wrangler dev's own "[wrangler:info] POST /v1/detect 200" line per request (not in production).
  WRANGLER_LOG: process.env.WRANGLER_LOG ?? 'warn',
}
