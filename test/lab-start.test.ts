// `npm start` (scripts/lab.ts) brings the lab up on embedded defaults (embedded PostgreSQL, Neon
// proxy, worker under wrangler dev), bootstraps a dev tenant and writes .lab/dev.json; the printed
// key works against /v1/detect.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const labDir = mkdtempSync(join(tmpdir(), 'wmlab-start-'))
const port = 18_000 + Math.floor(Math.random() * 2000)
const child = spawn('node_modules/.bin/tsx', ['scripts/lab.ts'], {
  env: { ...process.env, LAB_DIR: labDir, PORT: String(port), LAB_PG_PORT: String(port + 3000) },
  stdio: ['ignore', 'pipe', 'pipe'],
  detached: true,
})
let output = ''
child.stdout.on('data', (d) => (output += d))
child.stderr.on('data', (d) => (output += d))

afterAll(async () => {
  // SIGINT is what Ctrl-C sends: the launcher stops the worker, the proxy and PostgreSQL.
  if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGINT')
  await new Promise((r) => child.once('exit', r))
})

describe('npm start', () => {
  it('serves detection with a bootstrapped dev key within two minutes', { timeout: 150_000 }, async () => {
    const file = join(labDir, 'dev.json')
    const deadline = Date.now() + 140_000
    while (!existsSync(file) && Date.now() < deadline && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 500))
    expect(existsSync(file), output).toBe(true)
    const dev = JSON.parse(readFileSync(file, 'utf8'))
    expect(dev.url).toBe(`http://127.0.0.1:${port}`)
    const r = await fetch(`${dev.url}/v1/detect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${dev.apiKey}` },
      body: JSON.stringify({ text: 'Hello from the start-up test.' }),
    })
    const body = await r.text()
    expect(r.status, `${body}\n${output}`).toBe(200)
    expect((JSON.parse(body) as { keyId: string }).keyId).toBe(dev.keyId)
    expect(output).toContain('curl -s')
    // The embedded PostgreSQL is behind the worker: /health reports it.
    const health = (await (await fetch(`${dev.url}/health`)).json()) as {
      checks: Record<string, { status: string }>
    }
    expect(health.checks.db.status).toBe('ok')
  })
})
