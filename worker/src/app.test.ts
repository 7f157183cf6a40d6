// The edge API end to end in Node (app.request), with in-memory adapters and the real core, WASM
// kernel and tokenizers.
import { beforeAll, describe, expect, it } from 'vitest'
import { loadTokenizer } from '../../cli/tokenizers-node.ts'
import { generate } from '../../test/simulated-lm.ts'
import { brownWindows } from '../../test/fixtures/brown-tokens.ts'
import { loadWasmKernel } from '../../wasm/node.ts'
import { memoryCache } from '../adapters/cache.ts'
import { createApp } from './app.ts'
import { buildScheme } from './detection.ts'
import { memoryRateLimiter } from './rate-limit.ts'
import { MemoryStore } from './store.ts'

const ADMIN = 'admin-secret-for-tests'
const MASTER = 'master-secret-for-tests-0123456789'
const store = new MemoryStore()
const cache = memoryCache()
const deps = {
  openStore: () => store,
  cache,
  tokenizer: async (id: string) => loadTokenizer(id),
  kernel: loadWasmKernel,
  masterSecret: MASTER,
  revokedGraceSeconds: 3600,
  maxTokens: 8192,
  adminToken: ADMIN,
  maxBodyBytes: 256 * 1024,
  rateLimiter: memoryRateLimiter(1000),
  checks: { cache: async () => cache.get('ping') },
}
const app = createApp(deps)

async function call(
  method: string,
  path: string,
  opts: { key?: string; body?: unknown; raw?: string; type?: string } = {},
) {
  const headers: Record<string, string> = {}
  if (opts.key) headers.authorization = `Bearer ${opts.key}`
  if (opts.body !== undefined || opts.raw !== undefined)
    headers['content-type'] = opts.type ?? 'application/json'
  const res = await app.request(path, {
    method,
    headers,
    body: opts.raw ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined),
  })
  return { status: res.status, body: (await res.json()) as any }
}

let a: string
let b: string
let keyA: any

beforeAll(async () => {
  a = (await call('POST', '/admin/tenants', { key: ADMIN, body: { name: 'A' } })).body.apiKey
  b = (await call('POST', '/admin/tenants', { key: ADMIN, body: { name: 'B' } })).body.apiKey
  keyA = (await call('POST', '/v1/keys', { key: a, body: { scheme: 'kgw-lefthash', tokenizer: 'qwen3' } }))
    .body
})

describe('keys', () => {
  it('creates a key without ever returning key material', async () => {
    expect(keyA.id).toMatch(/^wk_/)
    expect(keyA.status).toBe('active')
    expect(JSON.stringify(keyA)).not.toMatch(/"key"|hashKey|material|tenantId/)
  })
  it('validates scheme, tokenizer and parameters, naming the field', async () => {
    const unknown = await call('POST', '/v1/keys', { key: a, body: { scheme: 'nope' } })
    expect(unknown.status).toBe(400)
    expect(unknown.body.error.message).toContain('scheme')
    const gamma = await call('POST', '/v1/keys', {
      key: a,
      body: { scheme: 'vllm-redgreen', params: { gamma: 1.5 } },
    })
    expect(gamma.status).toBe(400)
    expect(gamma.body.error.message).toContain('gamma')
    const reserved = await call('POST', '/v1/keys', {
      key: a,
      body: { scheme: 'vllm-gumbel', params: { key: 42 } },
    })
    expect(reserved.status).toBe(400)
  })
  it('isolates tenants: B can neither see, use nor revoke A’s key', async () => {
    expect((await call('GET', `/v1/keys/${keyA.id}`, { key: b })).status).toBe(404)
    expect((await call('DELETE', `/v1/keys/${keyA.id}`, { key: b })).status).toBe(404)
    expect((await call('GET', '/v1/keys', { key: b })).body.keys).toEqual([])
    const det = await call('POST', '/v1/detect', { key: b, body: { tokens: [1, 2, 3], keyId: keyA.id } })
    expect(det.status).toBe(404)
    expect(det.body.error.code).toBe('key_not_found')
  })
})

describe('detect', () => {
  it('detects text generated with the tenant key (p < 1e-6) and not human text', async () => {
    const tok = loadTokenizer('qwen3')
    const scheme = await buildScheme(deps, { ...keyA, tenantId: 'x' }, tok)
    const ids = generate(scheme, tok.logitsSize, 1, 200)
    const wm = await call('POST', '/v1/detect', { key: a, body: { tokens: ids } })
    expect(wm.status).toBe(200)
    expect(wm.body.keyId).toBe(keyA.id)
    expect(wm.body.pValue).toBeLessThan(1e-6)
    expect(wm.body.watermarked).toBe(true)
    const human = loadTokenizer('qwen3').decode(brownWindows('qwen3', 300, 1)[0])
    const h = await call('POST', '/v1/detect', { key: a, body: { text: human, options: { perToken: true } } })
    expect(h.status).toBe(200)
    expect(h.body.watermarked).toBe(false)
    expect(h.body.perToken.map((t: any) => t.text).join('')).toBe(human)
  })
  it("builds a key's scheme once per isolate, and never shares it across master secrets", async () => {
    const tok = loadTokenizer('qwen3')
    const rec = { ...keyA, tenantId: 'x' }
    const one = await buildScheme(deps, rec, tok)
    expect(await buildScheme(deps, rec, tok)).toBe(one)
    const other = await buildScheme({ ...deps, masterSecret: 'another-master-secret-0123456789' }, rec, tok)
    expect(other).not.toBe(one)
    const ids = generate(one, tok.logitsSize, 2, 200)
    expect(one.detect(ids).pValue).toBeLessThan(1e-6)
    expect(other.detect(ids).watermarked).toBe(false) // other key material: another greenlist
  })
  it('answers the second identical request from the cache', async () => {
    const body = { text: 'A short sentence to detect twice.' }
    expect((await call('POST', '/v1/detect', { key: a, body })).body.cache).toBe('miss')
    expect((await call('POST', '/v1/detect', { key: a, body })).body.cache).toBe('hit')
  })
  it('batch returns one result per item, errors inline', async () => {
    const r = await call('POST', '/v1/detect/batch', {
      key: a,
      body: { items: [{ text: 'one' }, { text: '   ' }] },
    })
    expect(r.status).toBe(200)
    expect(r.body.results[0].scheme).toBe('kgw-lefthash')
    expect(r.body.results[1].error.code).toBe('empty_text')
  })
  it('keeps revoked keys detectable during the grace period; rotate creates a successor', async () => {
    const k = (await call('POST', '/v1/keys', { key: a, body: { scheme: 'vllm-gumbel' } })).body
    const rotated = await call('POST', `/v1/keys/${k.id}/rotate`, { key: a })
    expect(rotated.status).toBe(201)
    expect(rotated.body.id).not.toBe(k.id)
    expect((await call('GET', `/v1/keys/${k.id}`, { key: a })).body.status).toBe('revoked')
    expect(
      (await call('POST', '/v1/detect', { key: a, body: { text: 'still detectable', keyId: k.id } })).status,
    ).toBe(200)
  })
  it.each([
    ['invalid JSON', { raw: '{"text":' }, 400],
    ['wrong content type', { raw: 'text=hi', type: 'text/plain' }, 415],
    ['body over the limit', { raw: JSON.stringify({ text: 'x'.repeat(300 * 1024) }) }, 413],
    ['text over the token limit', { body: { text: 'word '.repeat(20_000) } }, 413],
    ['empty text', { body: { text: '' } }, 422],
    ['both text and tokens', { body: { text: 'a', tokens: [1] } }, 400],
    ['unknown option', { body: { text: 'a', options: { turbo: true } } }, 400],
    ['unknown key id', { body: { text: 'a', keyId: 'wk_nope' } }, 404],
  ] as const)('%s → %d with the error envelope', async (_name, opts, status) => {
    const r = await call('POST', '/v1/detect', { key: a, ...(opts as any) })
    expect(r.status).toBe(status)
    expect(typeof r.body.error.code).toBe('string')
    expect(typeof r.body.error.message).toBe('string')
  })
  it('rejects missing and wrong API keys with 401', async () => {
    expect((await call('POST', '/v1/detect', { body: { text: 'a' } })).status).toBe(401)
    expect((await call('POST', '/v1/detect', { key: 'wml_wrong', body: { text: 'a' } })).status).toBe(401)
    expect((await call('POST', '/admin/tenants', { key: 'nope', body: { name: 'x' } })).status).toBe(401)
  })
})

describe('unexpected errors', () => {
  it('answer 500 internal_error with a fixed message: no error text, no stack frames, no paths', async () => {
    // A store whose listing fails with what a driver bug might throw: a message and a stack naming paths.
    const failing = new Proxy(store, {
      get(target, prop) {
        if (prop === 'listKeys')
          return async () => {
            throw new TypeError('boom in /srv/secret/path/db.ts: column "hash_key" of wml_live_token')
          }
        const value = Reflect.get(target, prop)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const broken = createApp({ ...deps, openStore: () => failing })
    const logged: string[] = []
    const original = console.error
    console.error = (...args: unknown[]) => void logged.push(args.map(String).join(' '))
    try {
      const res = await broken.request('/v1/keys', { headers: { authorization: `Bearer ${a}` } })
      const text = await res.text()
      expect(res.status).toBe(500)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(JSON.parse(text)).toEqual({ error: { code: 'internal_error', message: 'internal error' } })
      expect(text).not.toMatch(/boom|secret|\/srv|TypeError|\bat /)
      // The operator still learns what failed, as one structured line without the stack.
      expect(logged).toHaveLength(1)
      expect(JSON.parse(logged[0]!)).toMatchObject({ level: 'error', msg: 'unhandled', error: 'TypeError' })
      expect(logged[0]).not.toMatch(/\n\s+at /)
      // The same app still answers requests that do not reach the failing call.
      const ok = await broken.request(`/v1/keys/${keyA.id}`, { headers: { authorization: `Bearer ${a}` } })
      expect(ok.status).toBe(200)
    } finally {
      console.error = original
    }
  })
})

describe('rate limits', () => {
  it('answers 429 with Retry-After once a key exceeds its budget', async () => {
    const limited = createApp({ ...deps, rateLimiter: memoryRateLimiter(3) })
    const res = []
    for (let i = 0; i < 5; i++) {
      res.push(await limited.request('/v1/keys', { headers: { authorization: `Bearer ${a}` } }))
    }
    expect(res.map((r) => r.status)).toEqual([200, 200, 200, 429, 429])
    const last = res[4]
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(((await last.json()) as any).error.code).toBe('rate_limited')
  })
  it('fails open when the limiter itself is down', async () => {
    const down = createApp({ ...deps, rateLimiter: { limit: () => Promise.reject(new Error('redis down')) } })
    expect((await down.request('/v1/keys', { headers: { authorization: `Bearer ${a}` } })).status).toBe(200)
  })
})

describe('service routes', () => {
  it('publishes OpenAPI 3.1 with every route, and docs', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as any
    expect(doc.openapi).toBe('3.1.0')
    for (const p of ['/v1/detect', '/v1/detect/batch', '/v1/keys', '/v1/keys/{id}', '/v1/keys/{id}/rotate'])
      expect(doc.paths[p]).toBeDefined()
    expect((await app.request('/docs')).status).toBe(200)
  })
  it('health reports dependencies', async () => {
    const r = await call('GET', '/health')
    expect(r.status).toBe(200)
    expect(r.body.checks.cache.status).toBe('ok')
  })
  it('unknown routes get the error envelope', async () => {
    const r = await call('GET', '/nope')
    expect(r.status).toBe(404)
    expect(r.body.error.code).toBe('not_found')
  })
})

describe('HTTP hardening', () => {
  it('every answer carries the security headers, errors included', async () => {
    for (const [method, path] of [
      ['GET', '/health'],
      ['POST', '/v1/detect'],
      ['GET', '/nope'],
    ] as const) {
      const res = await app.request(path, { method })
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff')
      expect(res.headers.get('x-frame-options'), path).toBe('SAMEORIGIN')
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer')
      expect(res.headers.get('strict-transport-security'), path).toMatch(/max-age=\d+/)
    }
  })

  it('CORS: same-origin by default; only listed origins get a preflight answer they can use', async () => {
    const preflight = (a: typeof app, origin: string) =>
      a.request('/v1/detect', {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      })
    const closed = await preflight(app, 'https://evil.example')
    expect(closed.headers.get('access-control-allow-origin')).toBeNull()
    const open = createApp({ ...deps, corsOrigins: ['https://lab.example'] })
    const allowed = await preflight(open, 'https://lab.example')
    expect(allowed.status).toBe(204)
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://lab.example')
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/)
    const other = await preflight(open, 'https://evil.example')
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
    // A real request from the listed origin still needs its API key.
    const noKey = await open.request('/v1/keys', { headers: { origin: 'https://lab.example' } })
    expect(noKey.status).toBe(401)
    expect(noKey.headers.get('access-control-allow-origin')).toBe('https://lab.example')
  })
})

describe('detection-oracle limits', () => {
  it('limits detections per client address across API keys, and only detections', async () => {
    const limited = createApp({ ...deps, ipRateLimiter: memoryRateLimiter(3) })
    const detect = (key: string, ip: string) =>
      limited.request('/v1/detect', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'cf-connecting-ip': ip,
        },
        body: JSON.stringify({ text: 'one more query to the oracle' }),
      })
    // Two tenants' keys from one address share its budget.
    expect((await detect(a, '203.0.113.7')).status).toBe(200)
    expect((await detect(b, '203.0.113.7')).status).toBe(422) // B has no keys: counted all the same
    expect((await detect(a, '203.0.113.7')).status).toBe(200)
    const over = await detect(b, '203.0.113.7')
    expect(over.status).toBe(429)
    expect(over.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(((await over.json()) as any).error.message).toMatch(/per-address detection limit/)
    // The limiters are awaited beside the cache lookup: a cached answer is refused all the same.
    const cached = await detect(a, '203.0.113.7')
    expect(cached.status).toBe(429)
    expect(JSON.stringify(await cached.json())).not.toMatch(/pValue|watermarked/)
    // Another address is not affected; nor are other routes from the limited address.
    expect((await detect(a, '198.51.100.2')).status).toBe(200)
    const keys = await limited.request('/v1/keys', {
      headers: { authorization: `Bearer ${a}`, 'cf-connecting-ip': '203.0.113.7' },
    })
    expect(keys.status).toBe(200)
  })
})

describe('verdict-only tenants and API keys (detection-oracle mitigation)', () => {
  it('get the verdict without p-value, statistic or per-token detail; full tenants are unchanged', async () => {
    const boot = await call('POST', '/admin/tenants', {
      key: ADMIN,
      body: { name: 'untrusted', detectionDetail: 'verdict' },
    })
    expect(boot.status).toBe(201)
    expect(boot.body.tenant.detectionDetail).toBe('verdict')
    const v = boot.body.apiKey as string
    await call('POST', '/v1/keys', { key: v, body: { scheme: 'kgw-lefthash' } })
    const text = 'The committee said the report would be ready by Friday, and the vote followed.'
    const body = { text, options: { perToken: true, windowed: true, dedup: true, normalize: true } }
    const coarse = await call('POST', '/v1/detect', { key: v, body })
    expect(coarse.status).toBe(200)
    expect(Object.keys(coarse.body).sort()).toEqual([
      'cache',
      'detail',
      'keyId',
      'keysTried',
      'scheme',
      'tokens',
      'watermarked',
    ])
    expect(coarse.body.detail).toBe('verdict')
    const batch = await call('POST', '/v1/detect/batch', { key: v, body: { items: [body, { text: '' }] } })
    expect(batch.body.results[0].pValue).toBeUndefined()
    expect(batch.body.results[0].watermarked).toBe(false)
    expect(batch.body.results[1].error.code).toBe('empty_text')
    // A full tenant still gets everything.
    const full = await call('POST', '/v1/detect', { key: a, body })
    expect(full.body.pValue).toBeGreaterThan(0)
    expect(full.body.perToken.length).toBeGreaterThan(0)
    expect(full.body.detail).toBeUndefined()
    const bad = await call('POST', '/admin/tenants', {
      key: ADMIN,
      body: { name: 'x', detectionDetail: 'some' },
    })
    expect(bad.status).toBe(400)
  })

  it('per API key: a verdict-only key for an untrusted client of a full tenant, and the reverse', async () => {
    const boot = await call('POST', '/admin/tenants', { key: ADMIN, body: { name: 'mixed clients' } })
    const tenantId = boot.body.tenant.id as string
    const own = boot.body.apiKey as string
    await call('POST', '/v1/keys', { key: own, body: { scheme: 'kgw-lefthash' } })
    const issued = await call('POST', `/admin/tenants/${tenantId}/api-keys`, {
      key: ADMIN,
      body: { detectionDetail: 'verdict' },
    })
    expect(issued.status).toBe(201)
    expect(issued.body).toMatchObject({ tenantId, detectionDetail: 'verdict' })
    expect(issued.body.apiKey).toMatch(/^wml_/)
    const untrusted = issued.body.apiKey as string
    const body = {
      text: 'The council met on Tuesday and the mayor said the plan would go ahead.',
      options: { perToken: true },
    }
    const coarse = await call('POST', '/v1/detect', { key: untrusted, body })
    expect(coarse.status).toBe(200)
    expect(coarse.body.detail).toBe('verdict')
    expect(coarse.body.pValue).toBeUndefined()
    expect(coarse.body.perToken).toBeUndefined()
    // The same text, now cached, still comes back whole for the tenant's own key, and coarse for the other.
    const full = await call('POST', '/v1/detect', { key: own, body })
    expect(full.body.cache).toBe('hit')
    expect(full.body.pValue).toBeGreaterThan(0)
    expect(full.body.perToken.length).toBeGreaterThan(0)
    expect((await call('POST', '/v1/detect', { key: untrusted, body })).body.pValue).toBeUndefined()
    // Both keys see the same tenant's resources.
    expect((await call('GET', '/v1/keys', { key: untrusted })).body).toEqual(
      (await call('GET', '/v1/keys', { key: own })).body,
    )
    // A key without a detail follows its tenant's; a full key on a verdict tenant gets everything.
    const inherit = await call('POST', `/admin/tenants/${tenantId}/api-keys`, { key: ADMIN, body: {} })
    expect(inherit.body.detectionDetail).toBeNull()
    expect(
      (await call('POST', '/v1/detect', { key: inherit.body.apiKey, body })).body.pValue,
    ).toBeGreaterThan(0)
    const vBoot = await call('POST', '/admin/tenants', {
      key: ADMIN,
      body: { name: 'v', detectionDetail: 'verdict' },
    })
    await call('POST', '/v1/keys', { key: vBoot.body.apiKey, body: { scheme: 'kgw-lefthash' } })
    const trusted = await call('POST', `/admin/tenants/${vBoot.body.tenant.id}/api-keys`, {
      key: ADMIN,
      body: { detectionDetail: 'full' },
    })
    expect(
      (await call('POST', '/v1/detect', { key: trusted.body.apiKey, body })).body.pValue,
    ).toBeGreaterThan(0)
    expect((await call('POST', '/v1/detect', { key: vBoot.body.apiKey, body })).body.pValue).toBeUndefined()
    // Refusals: no admin token, unknown tenant, bad detail, unknown field, not JSON.
    expect((await call('POST', `/admin/tenants/${tenantId}/api-keys`, { key: own, body: {} })).status).toBe(
      401,
    )
    const missing = await call('POST', '/admin/tenants/tn_nope/api-keys', { key: ADMIN, body: {} })
    expect([missing.status, missing.body.error.code]).toEqual([404, 'tenant_not_found'])
    for (const bad of [{ detectionDetail: 'some' }, { detectionDetail: 'verdict', x: 1 }])
      expect(
        (await call('POST', `/admin/tenants/${tenantId}/api-keys`, { key: ADMIN, body: bad })).status,
      ).toBe(400)
    const notJson = await call('POST', `/admin/tenants/${tenantId}/api-keys`, { key: ADMIN, raw: '{' })
    expect([notJson.status, notJson.body.error.code]).toEqual([400, 'invalid_json'])
  })
})
