// npm start: runs the lab locally on embedded defaults — the edge worker under `wrangler dev`
// (workerd, no accounts) — bootstraps a dev tenant, API key and watermark key, prints the URLs and a
// ready-to-paste curl example, and writes them to .lab/dev.json. Ctrl-C stops everything.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const port = Number(process.env.PORT ?? 8787)
const url = `http://127.0.0.1:${port}`
const labDir = process.env.LAB_DIR ?? '.lab'
const adminToken = 'dev-admin-token' // matches worker/wrangler.toml [vars]; local only

function startWorker(): ChildProcess {
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
      if (/error|\[wrangler:(err|warn)\]/i.test(line)) console.error(`[worker] ${line}`)
    }
  }
  child.stdout?.on('data', forward)
  child.stderr?.on('data', forward)
  return child
}

async function waitForHealth(deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${url}/health`)
      if (r.status === 200) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`the worker did not become healthy at ${url} within 120 s`)
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

const worker = startWorker()
const stop = () => {
  if (worker.pid) {
    try {
      process.kill(-worker.pid, 'SIGTERM') // the whole group: wrangler and its workerd
    } catch {
      // already gone
    }
  }
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
worker.on('exit', (code) => {
  console.error(`worker exited (${code})`)
  process.exit(code ?? 1)
})

const started = Date.now()
await waitForHealth(started + 120_000)
const { apiKey, tenant } = await post<{ apiKey: string; tenant: { id: string } }>(
  '/admin/tenants',
  { name: 'dev' },
  adminToken,
)
const key = await post<{ id: string }>('/v1/keys', { scheme: 'vllm-gumbel', tokenizer: 'qwen3' }, apiKey)
mkdirSync(labDir, { recursive: true })
writeFileSync(
  join(labDir, 'dev.json'),
  `${JSON.stringify({ url, apiKey, tenantId: tenant.id, keyId: key.id }, null, 2)}\n`,
)
console.log(`LM Watermark Lab is running (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)
  API        ${url}
  API docs   ${url}/docs
  OpenAPI    ${url}/openapi.json
  health     ${url}/health
  dev API key and ids written to ${join(labDir, 'dev.json')}

  curl -s ${url}/v1/detect -H 'authorization: Bearer ${apiKey}' -H 'content-type: application/json' \\
    -d '{"text":"Paste any text here to check it for the dev key watermark."}'

Ctrl-C stops everything.`)
