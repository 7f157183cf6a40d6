// The origin client against fake origins on 127.0.0.1 (test/fake-origin.ts): signatures the real
// verifier accepts, events as they arrive, and each failure mode's error: down, slow, busy, failing,
// rejecting, erroring / cut / stalled mid-stream; the circuit breaker on real time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GenerateRequestSchema } from '../../core/generation/protocol.ts'
import { deadOriginUrl, type FakeOrigin, generationDeps, startFakeOrigin } from '../../test/fake-origin.ts'
import { createApp } from './app.ts'
import { createOriginClient, OriginError } from './origin-client.ts'
import { MemoryStore } from './store.ts'
import { continueTrace, formatTraceparent, parseTraceparent } from './trace-context.ts'

const SECRET = 'origin-signing-secret-for-tests'
const request = GenerateRequestSchema.parse({ prompt: 'The jury said', sampling: { seed: 3 } })
let fake: FakeOrigin

beforeAll(async () => {
  fake = await startFakeOrigin(SECRET)
})
afterAll(() => fake.close())

const client = (url = fake.url, extra = {}) =>
  createOriginClient({ url, signingSecret: SECRET, timeoutMs: 5000, idleTimeoutMs: 5000, ...extra })

async function drain(events: AsyncGenerator<{ event: string }>) {
  const seen: string[] = []
  try {
    for await (const ev of events) seen.push(ev.event)
  } catch (e) {
    return { seen, error: e as OriginError }
  }
  return { seen, error: null }
}

async function failure(p: Promise<unknown>): Promise<OriginError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(OriginError)
    return e as OriginError
  }
  throw new Error('expected the call to fail')
}

describe('origin client', () => {
  it('signs each request so the verifier accepts it, and always asks for a stream', async () => {
    fake.mode = 'ok'
    const gen = await client().generate(request)
    expect((await drain(gen.events)).seen).toEqual(['token', 'token', 'token', 'token', 'token', 'done'])
    const seen = fake.requests.at(-1)!
    expect(seen.signature).toBeNull()
    expect(seen.path).toBe('/v1/generate')
    expect(seen.request).toMatchObject({ prompt: 'The jury said', stream: true, sampling: { seed: 3 } })
  })
  it('signs the base path of an ORIGIN_URL with a prefix', async () => {
    const e = await failure(client(`${fake.url}/gpu-1`).generate(request))
    // The fake serves only /v1/generate: reaching it signed with the prefixed path proves the path.
    expect(fake.requests.at(-1)).toMatchObject({ path: '/gpu-1/v1/generate', signature: null })
    expect(e.status).toBe(400)
  })
  it('reports a wrong signing secret as the edge’s fault (502), not the client’s', async () => {
    const wrong = createOriginClient({ url: fake.url, signingSecret: 'another-secret-0123456789' })
    const e = await failure(wrong.generate(request))
    expect([e.status, e.code]).toEqual([502, 'origin_rejected_signature'])
    expect(fake.requests.at(-1)!.signature).toBe('invalid')
  })
  it('origin down → 503 origin_unavailable with Retry-After, at once', async () => {
    const t0 = performance.now()
    const e = await failure(client(await deadOriginUrl()).generate(request))
    expect([e.status, e.code, e.outcome]).toEqual([503, 'origin_unavailable', 'unavailable'])
    expect(e.headers['retry-after']).toBe('1')
    expect(performance.now() - t0).toBeLessThan(1000)
  })
  it('slow origin → 504 origin_timeout after the first-byte timeout', async () => {
    fake.mode = 'slow'
    fake.delayMs = 3000
    const t0 = performance.now()
    const e = await failure(client(fake.url, { timeoutMs: 300 }).generate(request))
    const ms = performance.now() - t0
    expect([e.status, e.code, e.outcome]).toEqual([504, 'origin_timeout', 'timeout'])
    expect(ms).toBeGreaterThanOrEqual(290)
    expect(ms).toBeLessThan(2500)
  })
  it('busy origin (503/429) → 503 origin_busy with its Retry-After; not a breaker failure', async () => {
    fake.mode = 'busy'
    const c = client(fake.url, { threshold: 1 })
    const e = await failure(c.generate(request))
    expect([e.status, e.code, e.outcome, e.headers['retry-after']]).toEqual([503, 'origin_busy', 'busy', '7'])
    expect(c.breaker.state).toBe('closed')
  })
  it('origin 5xx → 502 origin_error; origin 4xx → its status and error envelope', async () => {
    fake.mode = 'fail'
    const e = await failure(client().generate(request))
    expect([e.status, e.code]).toEqual([502, 'origin_error'])
    expect(e.message).not.toContain('boom')
    fake.mode = 'reject'
    const r = await failure(client().generate({ ...request, model: 'gpt-9' }))
    expect([r.status, r.code, r.message, r.outcome]).toEqual([
      400,
      'model_not_found',
      'no model "gpt-9"',
      'rejected',
    ])
  })
  it('error mid-stream → the tokens, then the origin’s error event (no exception)', async () => {
    fake.mode = 'error-mid'
    const gen = await client().generate(request)
    expect(await drain(gen.events)).toEqual({ seen: ['token', 'token', 'error'], error: null })
  })
  it('connection cut mid-stream → the tokens, then origin_stream_cut', async () => {
    fake.mode = 'cut-mid'
    const c = client(fake.url, { threshold: 1 })
    const { seen, error } = await drain((await c.generate(request)).events)
    expect(seen).toEqual(['token', 'token'])
    expect([error?.code, error?.outcome]).toEqual(['origin_stream_cut', 'cut'])
    expect(c.breaker.state).toBe('open')
  })
  it('stalled stream → origin_timeout after the idle timeout, connection closed', async () => {
    fake.mode = 'stall-mid'
    const before = fake.abandoned
    const t0 = performance.now()
    const { seen, error } = await drain(
      (await client(fake.url, { idleTimeoutMs: 300 }).generate(request)).events,
    )
    expect(seen).toEqual(['token', 'token'])
    expect([error?.status, error?.code]).toEqual([504, 'origin_timeout'])
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290)
    await expect.poll(() => fake.abandoned).toBe(before + 1)
  })
  it('cancel() closes the origin connection mid-stream', async () => {
    fake.mode = 'hold'
    const before = fake.abandoned
    const gen = await client().generate(request)
    expect((await gen.events.next()).value?.event).toBe('token')
    gen.cancel()
    const { error } = await drain(gen.events)
    expect(error?.outcome).toBe('cancelled')
    await expect.poll(() => fake.abandoned).toBe(before + 1)
  })
})

describe('circuit breaker on a failing origin', () => {
  it('opens after N failures, refuses at once without calling the origin, probes, and closes', async () => {
    fake.mode = 'fail'
    const c = client(fake.url, { threshold: 2, openMs: 1000 })
    for (let i = 0; i < 2; i++) expect((await failure(c.generate(request))).code).toBe('origin_error')
    const calls = fake.requests.length
    const t0 = performance.now()
    const refused = await failure(c.generate(request))
    expect(performance.now() - t0).toBeLessThan(100)
    expect([refused.status, refused.code, refused.headers['retry-after']]).toEqual([
      503,
      'origin_unavailable',
      '1',
    ])
    expect(fake.requests.length).toBe(calls)
    // Half-open: the probe fails → open again for another second.
    await new Promise((r) => setTimeout(r, 1050))
    expect(c.breaker.state).toBe('half-open')
    expect((await failure(c.generate(request))).code).toBe('origin_error')
    expect(c.breaker.state).toBe('open')
    expect((await failure(c.generate(request))).code).toBe('origin_unavailable')
    // Half-open again; the origin recovered: the probe succeeds and the breaker closes.
    await new Promise((r) => setTimeout(r, 1050))
    fake.mode = 'ok'
    expect((await drain((await c.generate(request)).events)).seen.at(-1)).toBe('done')
    expect(c.breaker.state).toBe('closed')
    expect(fake.requests.length).toBe(calls + 2)
  })
  it('a down origin also opens it: afterwards callers get 503 quickly instead of a timeout each', async () => {
    fake.mode = 'slow'
    fake.delayMs = 3000
    const c = client(fake.url, { threshold: 2, openMs: 60_000, timeoutMs: 300 })
    for (let i = 0; i < 2; i++) expect((await failure(c.generate(request))).code).toBe('origin_timeout')
    const t0 = performance.now()
    const e = await failure(c.generate(request))
    expect(performance.now() - t0).toBeLessThan(100)
    expect(e.code).toBe('origin_unavailable')
    expect(Number(e.headers['retry-after'])).toBeGreaterThanOrEqual(59)
  })
  it('health() probes GET /health, signed', async () => {
    await client().health()
    expect(fake.requests.at(-1)).toMatchObject({ method: 'GET', path: '/health', signature: null })
    await expect(client(await deadOriginUrl()).health()).rejects.toThrow()
  })
})

describe('W3C trace context to the origin', () => {
  const INCOMING = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

  /** A fetch that records each request's headers and then really sends it (to the fake origin). */
  function recordingFetch() {
    const sent: Headers[] = []
    const recorder: typeof fetch = (input, init) => {
      sent.push(new Headers(init?.headers))
      return fetch(input, init)
    }
    return { sent, fetch: recorder }
  }

  it('sends the caller’s hop as `traceparent`; the signature still verifies', async () => {
    fake.mode = 'ok'
    const rec = recordingFetch()
    const c = client(fake.url, { fetch: rec.fetch })
    const hop = formatTraceparent(continueTrace(INCOMING))
    await c.complete(request, undefined, { traceparent: hop })
    await c.score({ text: 'x', context: '' }, undefined, { traceparent: hop }).catch(() => undefined)
    expect(rec.sent.map((h) => h.get('traceparent'))).toEqual([hop, hop])
    // the fake verifies with the real verifier: the added header is outside the signed parts
    expect(fake.requests.slice(-2)).toMatchObject([
      { path: '/v1/generate', signature: null },
      { path: '/v1/score', signature: null },
    ])
    expect(parseTraceparent(hop)?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736')
  })

  it('starts a fresh, valid trace per request when the caller has none (or an invalid one)', async () => {
    fake.mode = 'ok'
    const rec = recordingFetch()
    const c = client(fake.url, { fetch: rec.fetch })
    await c.complete(request)
    await c.complete(request, undefined, { traceparent: 'not-a-traceparent' })
    await c.health()
    const sent = rec.sent.map((h) => parseTraceparent(h.get('traceparent')))
    expect(sent.every((t) => t !== null && t.flags === 1)).toBe(true)
    expect(new Set(sent.map((t) => t?.traceId)).size).toBe(3)
  })

  it('through the app: the client’s trace id reaches the origin, the response and the log line', async () => {
    fake.mode = 'ok'
    const rec = recordingFetch()
    const store = new MemoryStore()
    const lines: string[] = []
    const app = createApp(
      generationDeps(store, client(fake.url, { fetch: rec.fetch }), {
        metrics: { log: (line) => lines.push(line) },
      }),
    )
    const apiKey = (await store.createApiKey((await store.createTenant('T')).id))!.key
    const generate = (headers: Record<string, string>) =>
      app.request('/v1/generate', {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ prompt: 'The jury said', keyId: 'none' }),
      })

    const res = await generate({ traceparent: INCOMING })
    expect(res.status).toBe(200)
    const toOrigin = parseTraceparent(rec.sent.at(-1)!.get('traceparent'))
    expect(toOrigin?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736')
    expect(toOrigin?.parentId).not.toBe('00f067aa0ba902b7')
    expect(res.headers.get('traceparent')).toBe(rec.sent.at(-1)!.get('traceparent'))
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({
      route: '/v1/generate',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    })

    const fresh = await generate({})
    expect(fresh.status).toBe(200)
    const started = parseTraceparent(rec.sent.at(-1)!.get('traceparent'))
    expect(started).not.toBeNull()
    expect(started?.traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736')
    expect(JSON.parse(lines.at(-1)!).traceId).toBe(started?.traceId)
  })
})
