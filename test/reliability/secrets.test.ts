// Secrets never leak: a scripted session (admin bootstrap, key create/rotate/revoke, detections with and
// without errors, generation if present, bad auth, health and docs, and a stretch with the database
// down, so error paths log) runs against the real PostgreSQL store through the production driver while
// every console method and every response (status line, headers, body) is captured. No API key, no
// watermark key material (derived here with the core's deriveKeyMaterial for every key id the session
// created, searched in decimal and hex, as 64-bit material and as the scheme's key), no master secret,
// no admin token and no origin signing secret may appear anywhere — except each API key in the one
// response that creates it. API keys are stored hashed: the whole database, dumped as text, holds none.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { deriveKeyMaterial, schemeKey } from '../../core/keys/watermark-key.ts'
import { sha256Hex } from '../../worker/src/keys.ts'
import {
  ADMIN_TOKEN,
  type App,
  call,
  createApp,
  MASTER_SECRET,
  ORIGIN_SECRET,
  openApi,
  postgresDeps,
  postgresFixture,
  type Reply,
} from './harness.ts'

let fx: Awaited<ReturnType<typeof postgresFixture>>
let deps: ReturnType<typeof postgresDeps>
let app: App
let down: App

/** Everything the session printed or answered, with where it came from. */
const seen: { where: string; text: string }[] = []
/** API keys, each with the index in `seen` of the response that created it (allowed there only). */
const apiKeys: { key: string; createdAt: number }[] = []
const keyIds = new Map<string, string>() // watermark key id → scheme
const consoleMethods = ['log', 'info', 'warn', 'error', 'debug', 'trace', 'dir', 'table'] as const

function record(where: string, r: Reply): Reply {
  const headers: string[] = []
  r.headers.forEach((v, k) => {
    headers.push(`${k}: ${v}`)
  })
  seen.push({ where, text: `${r.status}\n${headers.join('\n')}\n\n${r.text}` })
  return r
}

async function req(target: App, method: string, path: string, opts: Parameters<typeof call>[3] = {}) {
  return record(`${method} ${path}`, await call(target, method, path, opts))
}

beforeAll(async () => {
  fx = await postgresFixture()
  deps = postgresDeps(fx.url)
  app = createApp(deps)
  // The same app with its database at a closed port: error paths run and log.
  down = createApp(postgresDeps('postgresql://root@127.0.0.1:9/test'))
  for (const m of consoleMethods) {
    vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
      seen.push({
        where: `console.${m}`,
        text: args
          .map((a) =>
            typeof a === 'string' ? a : a instanceof Error ? `${a.message}\n${a.stack}` : JSON.stringify(a),
          )
          .join(' '),
      })
    })
  }
})

afterAll(async () => {
  vi.restoreAllMocks()
  await deps?.drain()
  await fx?.close()
})

async function session() {
  // Admin bootstrap (and refused attempts).
  for (const name of ['Secret Tenant A', 'Secret Tenant B']) {
    const r = await req(app, 'POST', '/admin/tenants', { key: ADMIN_TOKEN, body: { name, storeText: true } })
    expect(r.status).toBe(201)
    apiKeys.push({ key: r.body.apiKey, createdAt: seen.length - 1 })
  }
  const [a, b] = apiKeys.map((k) => k.key)
  await req(app, 'POST', '/admin/tenants', { key: `${ADMIN_TOKEN}x`, body: { name: 'nope' } })
  await req(app, 'POST', '/admin/tenants', { key: a, body: { name: 'nope' } })
  await req(app, 'POST', '/admin/tenants', { key: ADMIN_TOKEN, raw: '{"name":', type: 'application/json' })
  await req(app, 'POST', '/admin/tenants', { key: ADMIN_TOKEN, body: { name: 'x', apiKey: a } })

  // Keys: create, list, get, rotate, revoke, and errors.
  for (const scheme of ['kgw-lefthash', 'vllm-gumbel', 'synthid', 'vllm-redgreen']) {
    const r = await req(app, 'POST', '/v1/keys', { key: a, body: { scheme } })
    expect(r.status).toBe(201)
    keyIds.set(r.body.id, scheme)
  }
  const [k1, k2] = [...keyIds.keys()]
  const rotated = await req(app, 'POST', `/v1/keys/${k1}/rotate`, { key: a })
  expect(rotated.status).toBe(201)
  keyIds.set(rotated.body.id, 'kgw-lefthash')
  await req(app, 'DELETE', `/v1/keys/${k2}`, { key: a })
  await req(app, 'GET', '/v1/keys', { key: a })
  await req(app, 'GET', `/v1/keys/${k1}`, { key: a })
  await req(app, 'GET', `/v1/keys/${k1}`, { key: b })
  await req(app, 'POST', '/v1/keys', { key: a, body: { scheme: 'vllm-gumbel', params: { key: 42 } } })
  await req(app, 'POST', '/v1/keys', {
    key: a,
    body: { scheme: 'kgw-lefthash', params: { hashKey: 15485863 } },
  })
  await req(app, 'POST', '/v1/keys', { key: a, body: { scheme: 'nope' } })
  const bKey = await req(app, 'POST', '/v1/keys', { key: b, body: { scheme: 'unigram' } })
  keyIds.set(bKey.body.id, 'unigram')

  // Detections: auto, by key, per token, windowed, batch, cache hit, and every kind of error.
  const text = 'The committee said the budget would be balanced by next spring, officials reported.'
  for (const options of [{}, { perToken: true }, { windowed: true }, { perToken: true, normalize: false }]) {
    await req(app, 'POST', '/v1/detect', { key: a, body: { text, options } })
  }
  await req(app, 'POST', '/v1/detect', { key: a, body: { text, keyId: k1 } })
  await req(app, 'POST', '/v1/detect', { key: a, body: { tokens: [1, 2, 3, 4, 5, 6, 7, 8], keyId: k2 } })
  await req(app, 'POST', '/v1/detect/batch', {
    key: a,
    body: { items: [{ text }, { text: '   ' }, { text, keyId: bKey.body.id }] },
  })
  await req(app, 'POST', '/v1/detect', { key: a, body: { text: '' } })
  await req(app, 'POST', '/v1/detect', { key: a, body: { text, keyId: 'wk_missing' } })
  await req(app, 'POST', '/v1/detect', { key: a, body: { text, options: { turbo: true } } })
  await req(app, 'POST', '/v1/detect', { key: a, raw: '{"text":"unterminated', type: 'application/json' })
  await req(app, 'POST', '/v1/detect', { key: a, raw: 'text=1', type: 'text/plain' })
  await req(app, 'POST', '/v1/detect', { key: a, body: { text: 'word '.repeat(20_000) } })
  await req(app, 'POST', '/v1/detect', { key: a, raw: `{"text":"${'a'.repeat(1_100_000)}"}` })

  // Generation, when the routes exist (the fake origin answers).
  const doc = await openApi(app)
  if (doc.paths['/v1/generate']) {
    await req(app, 'POST', '/v1/generate', { key: a, body: { prompt: 'Once', keyId: k1 } })
    await req(app, 'POST', '/v1/generate', { key: a, body: { prompt: 'Once', keyId: k1, stream: true } })
    await req(app, 'POST', '/v1/generate', { key: a, body: { prompt: 'Once', keyId: k2 } })
  }
  if (doc.paths['/v1/chat/completions']) {
    await req(app, 'POST', '/v1/chat/completions', {
      key: a,
      body: { model: 'default', messages: [{ role: 'user', content: 'Hi' }] },
    })
  }

  // Bad auth.
  await req(app, 'POST', '/v1/detect', { body: { text } })
  await req(app, 'POST', '/v1/detect', { key: 'wml_wrong', body: { text } })
  await req(app, 'POST', '/v1/detect', { key: ADMIN_TOKEN, body: { text } })
  await req(app, 'POST', '/v1/detect', { key: MASTER_SECRET, body: { text } })
  await req(app, 'GET', '/v1/keys', { headers: { authorization: `Basic ${btoa(`user:${a}`)}` } })
  await req(app, 'GET', '/v1/keys', { headers: { authorization: `Bearer ${a.slice(0, -1)}` } })

  // Service routes.
  await req(app, 'GET', '/health')
  await req(app, 'GET', '/openapi.json')
  await req(app, 'GET', '/nope')

  // The database down: key management and detection error paths (and their logs).
  await req(down, 'POST', '/admin/tenants', { key: ADMIN_TOKEN, body: { name: 'during outage' } })
  await req(down, 'GET', '/v1/keys', { key: a })
  await req(down, 'POST', '/v1/detect', { key: a, body: { text } })
  await req(down, 'GET', '/health')
  await deps.drain()
}

/** Every way a secret could be written: as is, and for key material decimal and hex (any case). */
async function forbidden(): Promise<{ what: string; needle: string }[]> {
  const out: { what: string; needle: string }[] = [
    { what: 'admin token', needle: ADMIN_TOKEN },
    { what: 'master secret', needle: MASTER_SECRET },
    { what: 'origin signing secret', needle: ORIGIN_SECRET },
  ]
  for (const [id, scheme] of keyIds) {
    const material = await deriveKeyMaterial(MASTER_SECRET, id)
    for (const [form, n] of [
      ['material', material],
      ['scheme key', schemeKey(scheme, material)],
    ] as const) {
      const hex = n.toString(16)
      for (const needle of [n.toString(), hex, hex.padStart(16, '0'), BigInt.asIntN(64, n).toString()])
        out.push({ what: `${form} of ${id}`, needle })
    }
  }
  return out
}

describe('secrets never leak', () => {
  it('runs the scripted session', async () => {
    await session()
    expect(apiKeys).toHaveLength(2)
    expect(keyIds.size).toBeGreaterThanOrEqual(6)
    // The capture worked: responses and (database-down) error logs were seen.
    expect(seen.filter((s) => s.where.startsWith('console.')).length).toBeGreaterThan(0)
    expect(seen.length).toBeGreaterThan(40)
  })

  it('no key material, master secret, admin token or signing secret in any log line or response', async () => {
    const needles = await forbidden()
    const hits: string[] = []
    for (const { where, text } of seen) {
      const lower = text.toLowerCase()
      for (const { what, needle } of needles) {
        // Short decimal forms could match by chance inside other numbers; material is 64-bit (≥ 10 digits
        // except with probability ~1e-9), and hex is matched case-insensitively.
        if (needle.length >= 8 && lower.includes(needle.toLowerCase())) hits.push(`${what} in ${where}`)
      }
    }
    expect(hits).toEqual([])
  })

  it('API keys appear only in the response that created them', () => {
    const hits: string[] = []
    for (const { key, createdAt } of apiKeys) {
      seen.forEach(({ where, text }, i) => {
        if (text.includes(key) && i !== createdAt) hits.push(`${where} (#${i})`)
        // Nor any long part of it (a log that truncates or a message that echoes half a key).
        if (i !== createdAt && text.includes(key.slice(4, 24))) hits.push(`part of a key in ${where}`)
      })
      const created = seen[createdAt].text
      expect(created.split('\n\n')[0]).not.toContain(key) // not in a header of that response either
    }
    expect(hits).toEqual([])
  })

  it('API keys are stored hashed: the whole database dumped as text holds no key and no secret', async () => {
    const rows = await fx.sql('SELECT key_hash, prefix FROM api_keys ORDER BY created_at')
    expect(rows.length).toBeGreaterThanOrEqual(2)
    const hashes = rows.map((r) => r.key_hash)
    for (const { key } of apiKeys) {
      expect(hashes).toContain(await sha256Hex(key))
      // Only a short display prefix (`wml_` + 8 characters, 48 bits of the 256) is kept in clear.
      expect(rows.some((r) => key.startsWith(String(r.prefix)) && String(r.prefix).length <= 12)).toBe(true)
    }
    const tables = await fx.sql(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
    let dump = ''
    for (const { tablename } of tables) {
      const all = await fx.sql(`SELECT row_to_json(t)::text AS j FROM ${String(tablename)} t`)
      dump += all.map((r) => r.j).join('\n')
    }
    expect(dump.length).toBeGreaterThan(1000)
    const lower = dump.toLowerCase()
    for (const { key } of apiKeys) {
      expect(dump).not.toContain(key)
      expect(dump).not.toContain(key.slice(12))
    }
    for (const { what, needle } of await forbidden())
      expect(needle.length < 8 || !lower.includes(needle.toLowerCase()), what).toBe(true)
  })
})
