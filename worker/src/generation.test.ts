// POST /v1/generate (and the shared generation path) in Node: createApp with the MemoryStore and a
// fake origin on 127.0.0.1 that speaks the protocol. Forwarding, signatures, key choice, tenant
// isolation, SSE pass-through without buffering, mid-stream failures, records, the breaker through
// the app, and validation.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { GenerateRequestSchema } from '../../core/generation/protocol.ts'
import { type FakeOrigin, fakeToken, generationDeps, startFakeOrigin } from '../../test/fake-origin.ts'
import { type AppDeps, createApp } from './app.ts'
import { createOriginClient } from './origin-client.ts'
import { SseDecoder } from './sse.ts'
import { MemoryStore, type Tenant, type WatermarkKeyRecord } from './store.ts'

const SECRET = 'origin-signing-secret-for-tests'
const store = new MemoryStore()
let fake: FakeOrigin
let deps: AppDeps
let app: ReturnType<typeof createApp>
let tenantA: Tenant
let a: string
let b: string
let keyOld: WatermarkKeyRecord
let keyNew: WatermarkKeyRecord

beforeAll(async () => {
  fake = await startFakeOrigin(SECRET)
  deps = generationDeps(
    store,
    createOriginClient({
      url: fake.url,
      signingSecret: SECRET,
      timeoutMs: 5000,
      idleTimeoutMs: 1000,
      threshold: 1000,
    }),
  )
  app = createApp(deps)
  tenantA = await store.createTenant('A')
  a = (await store.createApiKey(tenantA.id))!.key
  b = (await store.createApiKey((await store.createTenant('B')).id))!.key
  const key = (id: string, scheme: string) =>
    store.createKey({ id, tenantId: tenantA.id, scheme, params: { gamma: 0.25 }, tokenizer: 'qwen3' })
  keyOld = await key('wk_old', 'kgw-lefthash')
  keyNew = await key('wk_new', 'vllm-gumbel')
  keyNew.createdAt = new Date(Date.parse(keyOld.createdAt) + 1000).toISOString()
})
afterAll(() => fake.close())
beforeEach(() => {
  fake.mode = 'ok'
  fake.tokens = 5
})

const post = (path: string, body: unknown, key = a, target = app) =>
  target.request(path, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

async function sseEvents(res: Response) {
  const d = new SseDecoder()
  const text = await res.text()
  return [...d.push(text), ...d.end()].map((m) => ({ event: m.event, data: JSON.parse(m.data) }))
}

const recordOf = async (id: string) => {
  await expect.poll(() => store.generations.find((g) => g.id === id)).toBeDefined()
  return store.generations.find((g) => g.id === id)!
}

describe('POST /v1/generate', () => {
  it('forwards a signed protocol request and answers the result with the edge’s id', async () => {
    const res = await post('/v1/generate', { prompt: 'The jury said', sampling: { seed: 2, maxTokens: 4 } })
    expect(res.status).toBe(200)
    const body = (await res.json()) as any
    const expected = [0, 1, 2, 3].map((i) =>
      fakeToken(GenerateRequestSchema.parse({ prompt: 'x', sampling: { seed: 2 } }), i),
    )
    expect(body.text).toBe(expected.map((t) => t.text).join(''))
    expect(body.tokens).toEqual(expected.map((t) => t.token))
    expect(body).toMatchObject({ finishReason: 'length', usage: { promptTokens: 3, completionTokens: 4 } })
    expect(body.id).toMatch(/^gn_[0-9a-f]{24}$/)
    expect(res.headers.get('x-wmlab-generation-id')).toBe(body.id)
    const seen = fake.requests.at(-1)!
    expect(seen.signature).toBeNull()
    // The key travels as its id, scheme and params only: the origin derives the material itself.
    expect(JSON.parse(seen.body).watermark).toEqual({
      keyId: 'wk_new',
      scheme: 'vllm-gumbel',
      params: { gamma: 0.25 },
    })
    expect(seen.request).toMatchObject({
      prompt: 'The jury said',
      stream: true,
      sampling: { seed: 2, maxTokens: 4 },
    })
  })
  it('chooses the key: explicit id, "none", or the newest active key', async () => {
    await post('/v1/generate', { prompt: 'x', keyId: 'wk_old' })
    expect(fake.requests.at(-1)!.request!.watermark?.keyId).toBe('wk_old')
    const none = await post('/v1/generate', { prompt: 'x', keyId: 'none' })
    expect(((await none.json()) as any).watermark).toBeNull()
    expect(fake.requests.at(-1)!.request!.watermark).toBeNull()
    expect(none.headers.get('x-wmlab-watermark-key')).toBe('none')
    await store.revokeKey(tenantA.id, 'wk_new')
    try {
      await post('/v1/generate', { prompt: 'x' })
      expect(fake.requests.at(-1)!.request!.watermark?.keyId).toBe('wk_old')
      const revoked = await post('/v1/generate', { prompt: 'x', keyId: 'wk_new' })
      expect([revoked.status, ((await revoked.json()) as any).error.code]).toEqual([410, 'key_revoked'])
    } finally {
      Object.assign(keyNew, { status: 'active', revokedAt: null })
    }
  })
  it('isolates tenants: another tenant’s key is 404 and never reaches the origin', async () => {
    const calls = fake.requests.length
    const res = await post('/v1/generate', { prompt: 'x', keyId: 'wk_old' }, b)
    expect([res.status, ((await res.json()) as any).error.code]).toEqual([404, 'key_not_found'])
    const none = await post('/v1/generate', { prompt: 'x' }, b)
    expect([none.status, ((await none.json()) as any).error.code]).toEqual([422, 'no_active_keys'])
    expect(fake.requests.length).toBe(calls)
  })
  it('streams SSE: token… done, passed through as the origin sends them', async () => {
    fake.mode = 'hold'
    const res = await post('/v1/generate', { prompt: 'x', stream: true })
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const reader = res.body!.getReader()
    // The origin holds after its first token: the client has it before the origin sent the rest.
    const first = new TextDecoder().decode((await reader.read()).value)
    expect(first).toContain('event: token')
    fake.release()
    let rest = ''
    for (let r = await reader.read(); !r.done; r = await reader.read())
      rest += new TextDecoder().decode(r.value)
    const events = new SseDecoder().push(first + rest)
    expect(events.map((e) => e.event)).toEqual(['token', 'token', 'token', 'token', 'token', 'done'])
    const done = JSON.parse(events.at(-1)!.data)
    expect(done.id).toBe(res.headers.get('x-wmlab-generation-id'))
    expect(done.text).toBe(
      events
        .slice(0, -1)
        .map((e) => JSON.parse(e.data).text)
        .join(''),
    )
  })
  it('ends a stream the origin errors or cuts mid-way with an error event, never silently', async () => {
    fake.mode = 'error-mid'
    const err = await sseEvents(await post('/v1/generate', { prompt: 'x', stream: true }))
    expect(err.map((e) => e.event)).toEqual(['token', 'token', 'error'])
    expect(err[2].data.error.code).toBe('engine_failed')
    fake.mode = 'cut-mid'
    const cut = await sseEvents(await post('/v1/generate', { prompt: 'x', stream: true }))
    expect(cut.map((e) => e.event)).toEqual(['token', 'token', 'error'])
    expect(cut[2].data.error.code).toBe('origin_stream_cut')
    fake.mode = 'stall-mid'
    const stall = await sseEvents(await post('/v1/generate', { prompt: 'x', stream: true }))
    expect(stall.at(-1)!.data.error.code).toBe('origin_timeout')
  })
  it('refuses a result that does not carry the requested watermark', async () => {
    fake.mode = 'ignore-watermark'
    const res = await post('/v1/generate', { prompt: 'x' })
    expect([res.status, ((await res.json()) as any).error.code]).toEqual([502, 'origin_protocol_error'])
    const rec = await recordOf(res.headers.get('x-wmlab-generation-id') ?? '')
    expect(rec).toMatchObject({ outcome: 'error', errorCode: 'origin_protocol_error', text: null })
  })
  it('answers a non-streaming request the origin fails mid-way with an error status', async () => {
    for (const [mode, status, code] of [
      ['error-mid', 502, 'engine_failed'],
      ['cut-mid', 502, 'origin_stream_cut'],
      ['stall-mid', 504, 'origin_timeout'],
      ['busy', 503, 'origin_busy'],
      ['reject', 400, 'model_not_found'],
    ] as const) {
      fake.mode = mode
      const res = await post('/v1/generate', { prompt: 'x' })
      expect([mode, res.status, ((await res.json()) as any).error.code]).toEqual([mode, status, code])
      if (mode === 'busy') expect(res.headers.get('retry-after')).toBe('7')
    }
  })
  it('records every generation with its outcome; the text only for opted-in tenants', async () => {
    const ok = await post('/v1/generate', { prompt: 'one two', sampling: { maxTokens: 3 } })
    const okRec = await recordOf(((await ok.json()) as any).id)
    expect(okRec).toMatchObject({
      tenantId: tenantA.id,
      keyId: 'wk_new',
      scheme: 'vllm-gumbel',
      model: 'brown-lm',
      endpoint: 'generate',
      stream: false,
      promptTokens: 2,
      completionTokens: 3,
      finishReason: 'length',
      outcome: 'success',
      errorCode: null,
      text: null,
    })
    expect(okRec.latencyMs).toBeGreaterThanOrEqual(0)
    fake.mode = 'cut-mid'
    const cut = await post('/v1/generate', { prompt: 'x', stream: true, keyId: 'none' })
    await cut.text()
    const cutRec = await recordOf(cut.headers.get('x-wmlab-generation-id')!)
    expect(cutRec).toMatchObject({
      outcome: 'cut',
      errorCode: 'origin_stream_cut',
      completionTokens: 2,
      keyId: null,
    })
    expect(cutRec.finishReason).toBeNull()

    const opted = await store.createTenant('C', true)
    const c = (await store.createApiKey(opted.id))!.key
    fake.mode = 'ok'
    const kept = await post('/v1/generate', { prompt: 'x', keyId: 'none' }, c)
    const keptBody = (await kept.json()) as any
    expect((await recordOf(keptBody.id)).text).toBe(keptBody.text)
  })
  it('stops the origin and records "cancelled" when the client hangs up mid-stream', async () => {
    fake.mode = 'hold'
    const before = fake.abandoned
    const res = await post('/v1/generate', { prompt: 'x', stream: true })
    const reader = res.body!.getReader()
    await reader.read()
    await reader.cancel()
    await expect.poll(() => fake.abandoned).toBe(before + 1)
    const rec = await recordOf(res.headers.get('x-wmlab-generation-id')!)
    expect([rec.outcome, rec.completionTokens]).toEqual(['cancelled', 1])
    fake.release()
  })
  it.each([
    ['both prompt and messages', { prompt: 'x', messages: [{ role: 'user', content: 'y' }] }, 'prompt'],
    ['neither prompt nor messages', { sampling: {} }, 'prompt'],
    ['an unknown field', { prompt: 'x', turbo: true }, 'turbo'],
    ['temperature out of range', { prompt: 'x', sampling: { temperature: 9 } }, 'sampling.temperature'],
    ['an unknown sampling field', { prompt: 'x', sampling: { beam: 4 } }, 'sampling'],
    ['a bad role', { messages: [{ role: 'tool', content: 'y' }] }, 'messages.0.role'],
    ['a key id too long', { prompt: 'x', keyId: 'k'.repeat(65) }, 'keyId'],
    ['stream not a boolean', { prompt: 'x', stream: 'yes' }, 'stream'],
  ])('400 for %s, naming the field, without calling the origin', async (_name, body, field) => {
    const calls = fake.requests.length
    const res = await post('/v1/generate', body)
    const err = ((await res.json()) as any).error
    expect([res.status, err.code]).toEqual([400, 'invalid_request'])
    expect(err.message).toContain(field)
    expect(fake.requests.length).toBe(calls)
  })
  it('answers 503 origin_not_configured without an origin, 401 without an API key', async () => {
    const bare = createApp({ ...deps, origin: null })
    for (const path of ['/v1/generate', '/v1/chat/completions', '/v1/completions']) {
      const body =
        path === '/v1/chat/completions'
          ? { model: 'm', messages: [{ role: 'user', content: 'x' }] }
          : { model: 'm', prompt: 'x' }
      const res = await post(path, body, a, bare)
      expect([res.status, ((await res.json()) as any).error.code]).toEqual([503, 'origin_not_configured'])
    }
    expect((await post('/v1/generate', { prompt: 'x' }, 'wml_wrong')).status).toBe(401)
  })
  it('publishes the generation routes in the OpenAPI document', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as any
    for (const p of ['/v1/generate', '/v1/chat/completions', '/v1/completions'])
      expect(Object.keys(doc.paths[p].post.responses['200'].content)).toEqual([
        'application/json',
        'text/event-stream',
      ])
  })
})

describe('circuit breaker through the app', () => {
  it('after N failures answers 503 + Retry-After at once, then closes again once the origin recovers', async () => {
    const guarded = createApp({
      ...deps,
      origin: createOriginClient({ url: fake.url, signingSecret: SECRET, threshold: 2, openMs: 1000 }),
    })
    fake.mode = 'fail'
    for (let i = 0; i < 2; i++)
      expect((await post('/v1/generate', { prompt: 'x' }, a, guarded)).status).toBe(502)
    const calls = fake.requests.length
    const t0 = performance.now()
    const open = await post('/v1/generate', { prompt: 'x' }, a, guarded)
    expect(performance.now() - t0).toBeLessThan(100)
    expect([open.status, ((await open.json()) as any).error.code]).toEqual([503, 'origin_unavailable'])
    expect(open.headers.get('retry-after')).toBe('1')
    expect(fake.requests.length).toBe(calls)
    // Refused generations are recorded too, with their outcome.
    await expect.poll(() => store.generations.filter((g) => g.outcome === 'unavailable').length).toBe(1)
    fake.mode = 'ok'
    await new Promise((r) => setTimeout(r, 1050))
    expect((await post('/v1/generate', { prompt: 'x' }, a, guarded)).status).toBe(200)
    expect((await post('/v1/generate', { prompt: 'x' }, a, guarded)).status).toBe(200)
  })
})
