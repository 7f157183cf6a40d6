// `npm start` (scripts/lab.ts) brings the lab up on embedded defaults (embedded PostgreSQL, Neon
// proxy, origin with brown-lm, worker under wrangler dev), bootstraps a dev tenant and writes
// .lab/dev.json; the printed key works against /v1/detect, and text generated through the edge's
// OpenAI-compatible route carries the dev key's watermark.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const labDir = mkdtempSync(join(tmpdir(), 'wmlab-start-'))
const port = 18_000 + Math.floor(Math.random() * 2000)
const child = spawn('node_modules/.bin/tsx', ['scripts/lab.ts'], {
  env: {
    ...process.env,
    LAB_DIR: labDir,
    PORT: String(port),
    LAB_PG_PORT: String(port + 3000),
    LAB_ORIGIN_PORT: String(port + 4000),
  },
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
  it('serves detection and watermarked generation with a bootstrapped dev key', {
    timeout: 200_000,
  }, async () => {
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
    expect(health.checks.origin?.status).toBe('ok')

    // generate through the edge (signed, forwarded to the origin), then detect at the edge
    const gen = await fetch(`${dev.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${dev.apiKey}` },
      body: JSON.stringify({
        model: 'brown-lm',
        messages: [{ role: 'user', content: 'The jury said' }],
        max_tokens: 120,
        seed: 7,
      }),
    })
    const completion = await gen.text()
    expect(gen.status, completion).toBe(200)
    const parsed = JSON.parse(completion) as {
      choices: { message: { content: string } }[]
      usage: { completion_tokens: number }
    }
    expect(parsed.usage.completion_tokens).toBeGreaterThan(60)
    const det = await fetch(`${dev.url}/v1/detect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${dev.apiKey}` },
      body: JSON.stringify({ text: parsed.choices[0].message.content, keyId: dev.keyId }),
    })
    const verdict = (await det.json()) as { pValue: number; watermarked: boolean }
    expect(verdict.watermarked, JSON.stringify(verdict)).toBe(true)
    expect(verdict.pValue).toBeLessThan(1e-4)
  })
})
