// Tenant isolation on the real PostgreSQL store through the production driver (@neondatabase/serverless
// via the local WebSocket proxy): for every resource route that exists, tenant A cannot read, list,
// modify, use or infer tenant B's resources. An id that is B's answers exactly like an id that does not
// exist — 404 (never 403), the same error body and the same headers — so A cannot even learn that it
// exists. Routes are taken from /openapi.json, so generation routes are covered once present.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadTokenizer } from '../../cli/tokenizers-node.ts'
import { buildScheme } from '../../worker/src/detection.ts'
import { generate } from '../simulated-lm.ts'
import {
  type App,
  call,
  createApp,
  envelopeProblems,
  countingOrigin,
  newTenant,
  openApi,
  postgresDeps,
  postgresFixture,
  type Reply,
} from './harness.ts'

let fx: Awaited<ReturnType<typeof postgresFixture>>
let app: App
let deps: ReturnType<typeof postgresDeps>
let doc: any
let origin: ReturnType<typeof countingOrigin>
let a: string // tenant A's API key (the prober)
let b: string // tenant B's API key (the target)
const bKeys: { active: string; revoked: string; rotatedTo: string } = {
  active: '',
  revoked: '',
  rotatedTo: '',
}
let aKey: string
/** Well-formed ids that exist nowhere, the same length as B's. */
const ghost = (i: number) => `wk_${String(i).padStart(24, '0')}`

beforeAll(async () => {
  fx = await postgresFixture()
  origin = countingOrigin()
  deps = postgresDeps(fx.url, { origin })
  app = createApp(deps)
  doc = await openApi(app)
  a = await newTenant(app, 'tenant A')
  b = await newTenant(app, 'tenant B')
  const mk = async (key: string, scheme: string) => {
    const r = await call(app, 'POST', '/v1/keys', { key, body: { scheme } })
    expect(r.status).toBe(201)
    return r.body.id as string
  }
  aKey = await mk(a, 'kgw-lefthash')
  bKeys.active = await mk(b, 'kgw-lefthash')
  bKeys.revoked = await mk(b, 'vllm-gumbel')
  expect((await call(app, 'DELETE', `/v1/keys/${bKeys.revoked}`, { key: b })).status).toBe(200)
  const toRotate = await mk(b, 'unigram')
  const rotated = await call(app, 'POST', `/v1/keys/${toRotate}/rotate`, { key: b })
  expect(rotated.status).toBe(201)
  bKeys.rotatedTo = rotated.body.id
  const exp = await call(app, 'POST', '/v1/experiments', {
    key: b,
    body: { name: 'B’s study', grid: { schemes: [{ scheme: 'kgw-lefthash' }] }, samples: 3 },
  })
  expect(exp.status, exp.text).toBe(201)
  bExperiment = exp.body.id
})

let bExperiment = ''

afterAll(async () => {
  await deps?.drain()
  await fx?.close()
})

const bKeyRows = () =>
  fx.sql(
    `SELECT id, tenant_id, scheme, params, tokenizer, status, revoked_at, detectable_until, rotated_from
     FROM watermark_keys WHERE tenant_id = (SELECT tenant_id FROM watermark_keys WHERE id = $1) ORDER BY id`,
    [bKeys.active],
  )

const PER_REQUEST = new Set(['date', 'x-request-id', 'traceparent', 'server-timing'])

/** The reply with the probed id replaced, so "B's id" and "no such id" can be compared byte for byte. */
function shape(r: Reply, id: string) {
  const headers: [string, string][] = []
  r.headers.forEach((value, name) => {
    // Names always; values unless they are unique to every request anyway.
    headers.push([name, PER_REQUEST.has(name) ? '…' : value])
  })
  return {
    status: r.status,
    text: r.text.split(id).join('<id>'),
    headers: JSON.stringify(headers).split(id).join('<id>'),
  }
}

/** B's ids and ghosts of the same length, paired: each pair must be indistinguishable to A. */
const pairs = () => [
  [bKeys.active, ghost(1)],
  [bKeys.revoked, ghost(2)],
  [bKeys.rotatedTo, ghost(3)],
]

describe('tenant isolation (PostgreSQL, production driver)', () => {
  it('A lists only its own keys; B’s ids appear nowhere in A’s listing', async () => {
    const r = await call(app, 'GET', '/v1/keys', { key: a })
    expect(r.status).toBe(200)
    expect(r.body.keys.map((k: { id: string }) => k.id)).toEqual([aKey])
    for (const id of Object.values(bKeys)) expect(r.text).not.toContain(id)
    expect(r.text).not.toMatch(/tenant/i)
  })

  it.each([
    ['GET', (id: string) => `/v1/keys/${id}`],
    ['DELETE', (id: string) => `/v1/keys/${id}`],
    ['POST', (id: string) => `/v1/keys/${id}/rotate`],
  ] as const)('%s on B’s key is 404, identical to a key that does not exist', async (method, path) => {
    const openapiPath = path('{id}')
    expect(
      doc.paths[openapiPath]?.[method.toLowerCase()],
      `${method} ${openapiPath} is a route`,
    ).toBeDefined()
    const before = await bKeyRows()
    for (const [theirs, none] of pairs()) {
      const probe = await call(app, method, path(theirs), { key: a })
      const missing = await call(app, method, path(none), { key: a })
      expect(probe.status).toBe(404)
      expect(envelopeProblems(probe)).toEqual([])
      expect(probe.body.error.code).toBe('key_not_found')
      expect(shape(probe, theirs)).toEqual(shape(missing, none))
    }
    // Nothing of B's changed (no revocation, no successor created).
    expect(await bKeyRows()).toEqual(before)
  })

  it('detection with B’s key id is 404 like a missing key; "auto" never tries B’s keys', async () => {
    for (const [theirs, none] of pairs()) {
      const probe = await call(app, 'POST', '/v1/detect', {
        key: a,
        body: { text: 'Some text.', keyId: theirs },
      })
      const missing = await call(app, 'POST', '/v1/detect', {
        key: a,
        body: { text: 'Some text.', keyId: none },
      })
      expect(probe.status).toBe(404)
      expect(shape(probe, theirs)).toEqual(shape(missing, none))
      const batch = await call(app, 'POST', '/v1/detect/batch', {
        key: a,
        body: { items: [{ text: 'x y z', keyId: theirs }] },
      })
      const batchMissing = await call(app, 'POST', '/v1/detect/batch', {
        key: a,
        body: { items: [{ text: 'x y z', keyId: none }] },
      })
      expect(batch.status).toBe(200)
      expect(batch.body.results[0].error.code).toBe('key_not_found')
      expect(shape(batch, theirs)).toEqual(shape(batchMissing, none))
    }
    // Text watermarked with B's key: B detects it, A (auto: A's own keys only) does not.
    const tok = loadTokenizer('qwen3')
    const rows = await bKeyRows()
    const bRow = rows.find((r) => r.id === bKeys.active)!
    const scheme = await buildScheme(
      deps,
      {
        id: bKeys.active,
        tenantId: String(bRow.tenant_id),
        scheme: 'kgw-lefthash',
        params: {},
        tokenizer: 'qwen3',
        status: 'active',
        createdAt: '',
        revokedAt: null,
      },
      tok,
    )
    const tokens = generate(scheme, tok.logitsSize, 3, 200)
    const byB = await call(app, 'POST', '/v1/detect', { key: b, body: { tokens, keyId: bKeys.active } })
    expect(byB.body.watermarked).toBe(true)
    const byA = await call(app, 'POST', '/v1/detect', { key: a, body: { tokens } })
    expect(byA.status).toBe(200)
    expect(byA.body.keyId).toBe(aKey)
    expect(byA.body.keysTried).toBe(1)
    expect(byA.body.watermarked).toBe(false)
    // The result cache is per key set: B's cached answer is not served to A (cache would tell A that
    // someone detected this text).
    expect(byA.body.cache).toBe('miss')
  })

  it('audit rows of A’s detections name only A’s tenant and keys', async () => {
    await deps.drain()
    expect((await fx.sql('SELECT count(*)::int AS n FROM detections'))[0].n).toBeGreaterThanOrEqual(2)
    const rows = await fx.sql(
      `SELECT d.tenant_id, d.key_id, k.tenant_id AS key_tenant FROM detections d
       LEFT JOIN watermark_keys k ON k.id = d.key_id`,
    )
    for (const r of rows) expect(r.key_tenant).toBe(r.tenant_id)
  })

  // Generation routes (when the app has them): B's key id is 404 like a missing one, the origin is
  // never asked, and no generation is recorded with B's key.
  const generationBodies: [string, (keyId: string) => unknown][] = [
    ['/v1/generate', (keyId) => ({ prompt: 'Once upon a time', keyId })],
    ['/v1/completions', (keyId) => ({ model: 'default', prompt: 'Once', watermark_key_id: keyId })],
    [
      '/v1/chat/completions',
      (keyId) => ({ model: 'default', messages: [{ role: 'user', content: 'Hi' }], watermark_key_id: keyId }),
    ],
    [
      '/v1/chat/completions',
      (keyId) => ({
        model: 'default',
        messages: [{ role: 'user', content: 'Hi' }],
        metadata: { watermark_key_id: keyId },
      }),
    ],
  ]
  it.each(generationBodies)('generation %s with B’s key is 404 like a missing key', async (path, body) => {
    if (!doc.paths[path]?.post) return // not built yet (the OpenAPI document says which routes exist)
    const callsBefore = origin.calls
    for (const [theirs, none] of pairs()) {
      for (const stream of [false, true]) {
        const probe = await call(app, 'POST', path, { key: a, body: { ...(body(theirs) as object), stream } })
        const missing = await call(app, 'POST', path, { key: a, body: { ...(body(none) as object), stream } })
        expect(probe.status, probe.text).toBe(404)
        expect(envelopeProblems(probe)).toEqual([])
        expect(shape(probe, theirs)).toEqual(shape(missing, none))
      }
    }
    expect(origin.calls).toBe(callsBefore)
    // A's own key works on the same route (the 404s above are about ownership, not the body shape).
    const own = await call(app, 'POST', path, { key: a, body: body(aKey) })
    expect(own.status, own.text).toBe(200)
    expect(origin.calls).toBe(callsBefore + 1)
  })

  it('no generation row ever names another tenant’s key', async () => {
    await deps.drain()
    const rows = await fx.sql(
      `SELECT g.tenant_id, g.key_id, k.tenant_id AS key_tenant FROM generations g
       LEFT JOIN watermark_keys k ON k.id = g.key_id WHERE g.key_id IS NOT NULL`,
    )
    // Not vacuous: A's own generations above were recorded with A's key.
    if (doc.paths['/v1/generate']) expect(rows.length).toBeGreaterThanOrEqual(1)
    for (const r of rows) expect(r.key_tenant).toBe(r.tenant_id)
  })

  it('A cannot see, cancel or export B’s experiment: 404, identical to one that does not exist', async () => {
    const list = await call(app, 'GET', '/v1/experiments', { key: a })
    expect(list.status).toBe(200)
    expect(list.text).not.toContain(bExperiment)
    const none = `ex_${'0'.repeat(24)}`
    for (const [method, path] of [
      ['GET', (id: string) => `/v1/experiments/${id}`],
      ['POST', (id: string) => `/v1/experiments/${id}/cancel`],
      ['POST', (id: string) => `/v1/experiments/${id}/resume`],
      ['GET', (id: string) => `/v1/experiments/${id}/export?format=csv`],
    ] as const) {
      const probe = await call(app, method, path(bExperiment), { key: a })
      const missing = await call(app, method, path(none), { key: a })
      expect(probe.status).toBe(404)
      expect(probe.body.error.code).toBe('experiment_not_found')
      expect(shape(probe, bExperiment)).toEqual(shape(missing, none))
    }
    // B still sees it, not cancelled by A's attempt; its jobs were queued by id only.
    const own = await call(app, 'GET', `/v1/experiments/${bExperiment}`, { key: b })
    expect(own.status).toBe(200)
    expect(own.body.status).toBe('queued')
    expect(deps.queued.filter((m) => m.experimentId === bExperiment).map((m) => m.job)).toEqual([0, 1, 2])
  })

  it('every resource route in the OpenAPI document is covered by this file', () => {
    const covered = new Set([
      'get /v1/keys',
      'post /v1/keys',
      'get /v1/keys/{id}',
      'delete /v1/keys/{id}',
      'post /v1/keys/{id}/rotate',
      'post /v1/detect',
      'post /v1/detect/batch',
      'post /v1/generate',
      'post /v1/completions',
      'post /v1/chat/completions',
      'get /v1/experiments',
      'post /v1/experiments',
      'get /v1/experiments/{id}',
      'post /v1/experiments/{id}/cancel',
      'post /v1/experiments/{id}/resume',
      'get /v1/experiments/{id}/export',
    ])
    const routes = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m} ${p}`),
    )
    // A new resource route (detections, generations, experiments, exports) fails here until its
    // isolation is tested above.
    expect(routes.filter((r) => r.includes('/v1/') && !covered.has(r))).toEqual([])
  })

  it('an API key of A is not an admin token', async () => {
    const r = await call(app, 'POST', '/admin/tenants', { key: a, body: { name: 'sneaky' } })
    expect(r.status).toBe(401)
    expect((await fx.sql(`SELECT count(*)::int AS n FROM tenants WHERE name = 'sneaky'`))[0].n).toBe(0)
  })
})
