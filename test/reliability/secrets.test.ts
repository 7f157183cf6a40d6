// Secrets never leak: a scripted session (admin bootstrap, key create/rotate/revoke, detections with and
// without errors, generation if present, bad auth, health and docs, and a stretch with the database
// down, so error paths log) runs against the real PostgreSQL store through the production driver while
// every console method, every response (status line, headers, body) and every span exported over OTLP
// is captured; then a real origin generates with every scheme, its request log, console and exported
// spans captured too. No API key, no watermark key material (derived here with the core's
// deriveKeyMaterial for every key id either side used, searched in decimal and hex, as 64-bit material
// and as the scheme's key), no master secret, no admin token, no signing secret and no Grafana token may
// appear anywhere — except each API key in the one response that creates it. API keys are stored
// hashed: the whole database, dumped as text, holds none.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { deriveKeyMaterial, schemeKey } from '../../core/keys/watermark-key.ts'
import { schemeNames } from '../../core/schemes/registry.ts'
import {
  createTestOrigin,
  loadTestModel,
  TEST_MASTER_SECRET,
  TEST_SIGNING_SECRET,
} from '../../origin/test-support.ts'
import { startOriginTracing } from '../../origin/tracing.ts'
import { sha256Hex } from '../../worker/src/keys.ts'
import { edgeTracingConfig, type EdgeTracing, startEdgeTracing } from '../../worker/src/metrics/tracing.ts'
import { startOtlpReceiver } from '../otlp-receiver.ts'
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
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>
let edgeTracing: EdgeTracing | undefined
/** The Grafana Cloud token the edge's exporter authenticates with: sent in a header, never in a span. */
const GRAFANA_TOKEN = 'glc_secret_grafana_token_for_tests_0123'
/** Watermark key ids the origin generated with (material derived from the origin's own master secret). */
const originKeyIds = new Map<string, string>()

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
  // Every request traced and exported (sample rate 1), as the Worker does with OTLP_TRACES_URL set.
  receiver = await startOtlpReceiver()
  edgeTracing = startEdgeTracing(
    edgeTracingConfig({
      OTLP_TRACES_URL: `${receiver.url}/v1/traces`,
      OTLP_TRACES_SAMPLE_RATE: '1',
      GRAFANA_INSTANCE_ID: '424242',
      GRAFANA_TOKEN,
    })!,
  )
  app = createApp({ ...deps, metrics: { ...deps.metrics, flushTraces: edgeTracing.flush } })
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
  const count = (f: (where: string) => boolean) => seen.filter((x) => f(x.where)).length
  console.log(
    `secrets: searched ${seen.length} captured outputs — ${count((w) => !w.startsWith('console.') && !w.startsWith('exported') && w !== 'origin request log')} responses, ${count((w) => w.startsWith('console.') || w === 'origin request log')} log lines, ${count((w) => w.startsWith('exported'))} OTLP export requests — for ${(await forbidden()).length} forbidden strings (${keyIds.size + originKeyIds.size} watermark keys' material in 8 forms each)`,
  )
  await edgeTracing?.shutdown()
  await deps?.drain()
  await fx?.close()
  await receiver?.close()
})

/** The spans the receiver got since `from`, each export request as one searchable text. */
function recordExports(where: string, from: number) {
  for (const r of receiver.received.slice(from)) seen.push({ where, text: r.raw })
  return receiver.received.length - from
}

async function session() {
  // Admin bootstrap (and refused attempts).
  const tenantIds: string[] = []
  for (const name of ['Secret Tenant A', 'Secret Tenant B']) {
    const r = await req(app, 'POST', '/admin/tenants', { key: ADMIN_TOKEN, body: { name, storeText: true } })
    expect(r.status).toBe(201)
    apiKeys.push({ key: r.body.apiKey, createdAt: seen.length - 1 })
    tenantIds.push(r.body.tenant.id)
  }
  const [a, b] = apiKeys.map((k) => k.key)
  const tenantA = tenantIds[0]
  // A second, verdict-only API key of A's (shown once, like the first).
  const extra = await req(app, 'POST', `/admin/tenants/${tenantA}/api-keys`, {
    key: ADMIN_TOKEN,
    body: { detectionDetail: 'verdict' },
  })
  expect(extra.status).toBe(201)
  apiKeys.push({ key: extra.body.apiKey, createdAt: seen.length - 1 })
  await req(app, 'POST', `/admin/tenants/${tenantA}/api-keys`, { key: a, body: {} })
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
  await req(app, 'POST', '/v1/detect', {
    key: apiKeys[2].key,
    body: { text, keyId: k1, options: { perToken: true } },
  })
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
  await edgeTracing!.flush()
  expect(recordExports('exported edge spans', 0)).toBeGreaterThan(0)
  await edgeTracing!.shutdown() // the origin registers its own SDK below (one per process)
  edgeTracing = undefined
}

/**
 * The origin's part: a real origin (brown-lm on CPU) with its request log and its OTLP exporter
 * captured, generating with a watermark of every scheme (key material derived from the origin's master
 * secret by key id), streamed and not, and refusing bad signatures, bad parameters and a failing model.
 */
async function originSession() {
  const exportedBefore = receiver.received.length
  const tracing = await startOriginTracing({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_HEADERS: `Authorization=${encodeURIComponent(`Bearer ${GRAFANA_TOKEN}`)}`,
  })
  const loaded = await loadTestModel()
  try {
    const origin = createTestOrigin(loaded, {
      tracing,
      log: (line) => void seen.push({ where: 'origin request log', text: line }),
    })
    const answer = async (where: string, res: Response) => {
      const headers: string[] = []
      res.headers.forEach((v, k) => void headers.push(`${k}: ${v}`))
      seen.push({ where, text: `${res.status}\n${headers.join('\n')}\n\n${await res.text()}` })
      return res.status
    }
    for (const scheme of schemeNames) {
      const keyId = `wk_origin_${scheme.replace(/[^a-z0-9]/g, '_')}`
      originKeyIds.set(keyId, scheme)
      for (const stream of [false, true]) {
        const body = {
          prompt: 'The jury said',
          stream,
          sampling: { maxTokens: 6, seed: 3 },
          watermark: { keyId, scheme },
        }
        expect(
          await answer(`origin generate ${scheme}`, await origin.post('/v1/generate', body)),
          scheme,
        ).toBe(200)
      }
      await answer(
        `origin reserved parameter ${scheme}`,
        await origin.post('/v1/generate', { prompt: 'x', watermark: { keyId, scheme, params: { key: 7 } } }),
      )
    }
    await answer('origin unsigned', await origin.post('/v1/generate', { prompt: 'x' }, { signed: false }))
    await answer(
      'origin bad signature',
      await origin.post(
        '/v1/generate',
        { prompt: 'x' },
        { headers: { 'x-wmlab-signature': 'f'.repeat(64) } },
      ),
    )
    await answer('origin bad json', await origin.post('/v1/generate', '{"prompt":'))
    await tracing.forceFlush()
  } finally {
    await tracing.shutdown()
    await loaded.engine.release()
  }
  expect(recordExports('exported origin spans', exportedBefore)).toBeGreaterThan(0)
}

/** Every way a secret could be written: as is, and for key material decimal and hex (any case). */
async function forbidden(): Promise<{ what: string; needle: string }[]> {
  const out: { what: string; needle: string }[] = [
    { what: 'admin token', needle: ADMIN_TOKEN },
    { what: 'master secret', needle: MASTER_SECRET },
    { what: 'origin signing secret', needle: ORIGIN_SECRET },
    { what: "the origin's master secret", needle: TEST_MASTER_SECRET },
    { what: "the origin's signing secret", needle: TEST_SIGNING_SECRET },
    { what: 'Grafana token', needle: GRAFANA_TOKEN },
  ]
  const keys = [
    ...[...keyIds].map(([id, scheme]) => ({ id, scheme, secret: MASTER_SECRET })),
    ...[...originKeyIds].map(([id, scheme]) => ({ id, scheme, secret: TEST_MASTER_SECRET })),
  ]
  for (const { id, scheme, secret } of keys) {
    const material = await deriveKeyMaterial(secret, id)
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
    await originSession()
    expect(apiKeys).toHaveLength(3)
    expect(keyIds.size).toBeGreaterThanOrEqual(6)
    expect(originKeyIds.size).toBe(schemeNames.length)
    // Every kind of output was captured: edge and origin spans, the origin's request log.
    for (const where of ['exported edge spans', 'exported origin spans', 'origin request log'])
      expect(
        seen.some((s) => s.where === where),
        where,
      ).toBe(true)
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
