// Who gets in: only requests the edge signed (tampered, stale, replayed and unsigned requests are
// refused before any work), and no more than the slots and the queue allow (503 + Retry-After);
// a cancelled stream stops generating and frees its slot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SIGNATURE_HEADERS, signRequest } from '../core/keys/request-signing.ts'
import { readOriginConfig } from './config.ts'
import {
  createTestOrigin,
  type LoadedModel,
  loadTestModel,
  parseSse,
  TEST_SIGNING_SECRET,
  type TestOrigin,
  waitFor,
} from './test-support.ts'

let loaded: LoadedModel
let origin: TestOrigin
const body = JSON.stringify({ prompt: 'The jury', sampling: { maxTokens: 2, seed: 1 } })

beforeAll(async () => {
  loaded = await loadTestModel()
  origin = createTestOrigin(loaded)
})
afterAll(async () => {
  await loaded?.engine.release()
})

const send = (headers: Record<string, string>, text = body, app = origin.app) =>
  app.request('http://origin.test/v1/generate', { method: 'POST', body: text, headers })

async function expectRefused(res: Response, code: string) {
  expect(res.status).toBe(401)
  expect(await res.json()).toMatchObject({ error: { code } })
}

describe('request signatures', () => {
  it('accepts a signed request once and refuses its replay', async () => {
    const headers = await signRequest(TEST_SIGNING_SECRET, 'POST', '/v1/generate', body)
    expect((await send(headers)).status).toBe(200)
    await expectRefused(await send(headers), 'replayed_request')
  })

  it('refuses a tampered body, another path, a stale timestamp, a wrong secret and no signature', async () => {
    const signed = await signRequest(TEST_SIGNING_SECRET, 'POST', '/v1/generate', body)
    await expectRefused(await send(signed, body.replace('"seed":1', '"seed":2')), 'bad_signature')
    const forScore = await signRequest(TEST_SIGNING_SECRET, 'POST', '/v1/score', body)
    await expectRefused(await send(forScore), 'bad_signature')
    const old = await signRequest(TEST_SIGNING_SECRET, 'POST', '/v1/generate', body, Date.now() - 5 * 60_000)
    await expectRefused(await send(old), 'stale_request')
    const wrong = await signRequest('another-secret-0123456789', 'POST', '/v1/generate', body)
    await expectRefused(await send(wrong), 'bad_signature')
    await expectRefused(await send({ 'content-type': 'application/json' }), 'unsigned')
    // score is guarded the same way; an unsigned bad body is refused for the signature first
    await expectRefused(await origin.post('/v1/score', '{', { signed: false }), 'unsigned')
  })

  it('refuses a future timestamp beyond the skew, and tampered timestamp, nonce or method', async () => {
    const future = await signRequest(
      TEST_SIGNING_SECRET,
      'POST',
      '/v1/generate',
      body,
      Date.now() + 5 * 60_000,
    )
    await expectRefused(await send(future), 'stale_request')
    // Within the skew either way is accepted (clocks differ): 30 s ahead and 30 s behind.
    for (const offset of [30_000, -30_000]) {
      const near = await signRequest(TEST_SIGNING_SECRET, 'POST', '/v1/generate', body, Date.now() + offset)
      expect((await send(near)).status).toBe(200)
    }
    const h = SIGNATURE_HEADERS
    const signed = await signRequest(TEST_SIGNING_SECRET, 'POST', '/v1/generate', body)
    // Moving the timestamp (to outlive the replay window) breaks the signature.
    const moved = { ...signed, [h.timestamp]: String(Number(signed[h.timestamp]) + 1000) }
    await expectRefused(await send(moved), 'bad_signature')
    // A fresh nonce on an old signature (to dodge the replay check) breaks it too.
    const renonced = { ...signed, [h.nonce]: `${signed[h.nonce]}0` }
    await expectRefused(await send(renonced), 'bad_signature')
    // Malformed timestamps are refused without computing anything.
    for (const ts of ['', '1e12', '-1', ' 1', 'NaN', '9'.repeat(17)])
      await expectRefused(
        await send({ ...signed, [h.timestamp]: ts }),
        ts === '' ? 'unsigned' : 'stale_request',
      )
    // A garbled signature (wrong length, non-hex) is a bad signature, not a 500.
    for (const sig of ['', 'zz', 'f'.repeat(63), 'F'.repeat(64)])
      await expectRefused(
        await send({ ...signed, [h.signature]: sig }),
        sig === '' ? 'unsigned' : 'bad_signature',
      )
    // None of the refused attempts spent the nonce: the untouched request still goes through, once.
    expect((await send(signed)).status).toBe(200)
    await expectRefused(await send(signed), 'replayed_request')
    // The method is signed as well.
    const asGet = await signRequest(TEST_SIGNING_SECRET, 'GET', '/v1/generate', body)
    await expectRefused(await send(asGet), 'bad_signature')
  })

  it('answers unsigned requests only when configured for local development', async () => {
    const dev = createTestOrigin(loaded, { allowUnsigned: true, signingSecret: undefined })
    expect((await dev.post('/v1/generate', body, { signed: false })).status).toBe(200)
    expect(() => createTestOrigin(loaded, { signingSecret: undefined })).toThrow(/ORIGIN_SIGNING_SECRET/)
    const base = { WATERMARK_MASTER_SECRET: 'm'.repeat(16) }
    expect(() => readOriginConfig(base)).toThrow(/ORIGIN_SIGNING_SECRET/)
    expect(readOriginConfig({ ...base, ORIGIN_ALLOW_UNSIGNED: '1' })).toMatchObject({
      allowUnsigned: true,
      port: 8788,
      maxConcurrency: 2,
      maxQueue: 16,
    })
    expect(() => readOriginConfig({ ORIGIN_ALLOW_UNSIGNED: '1' })).toThrow(/WATERMARK_MASTER_SECRET/)
    expect(() => readOriginConfig({ ...base, ORIGIN_ALLOW_UNSIGNED: '1', ORIGIN_MAX_QUEUE: 'x' })).toThrow(
      /ORIGIN_MAX_QUEUE/,
    )
  })
})

describe('bounded concurrency', () => {
  it('queues beyond the slots, refuses beyond the queue with 503 + Retry-After, and frees cancelled slots', async () => {
    const small = createTestOrigin(loaded, { maxConcurrency: 1, maxQueue: 1 })
    const long = { prompt: 'The jury', sampling: { maxTokens: 400, minTokens: 400, seed: 5 }, stream: true }
    const running = await small.post('/v1/generate', long)
    const queued = await small.post('/v1/generate', long)
    expect(running.status).toBe(200)
    expect(queued.status).toBe(200)
    const health = await (await small.app.request('/health')).json()
    expect(health.queue).toMatchObject({ inFlight: 1, depth: 1 })

    const refused = await small.post('/v1/generate', { prompt: 'x', sampling: { maxTokens: 1 } })
    expect(refused.status).toBe(503)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(await refused.json()).toMatchObject({ error: { code: 'origin_busy' } })

    // the running stream has produced tokens; cancelling it hands the slot to the queued one
    const reader = running.body!.getReader()
    expect((await reader.read()).done).toBe(false)
    await reader.cancel()
    const queuedReader = queued.body!.getReader()
    expect((await queuedReader.read()).done).toBe(false) // it runs now
    await queuedReader.cancel()
    await waitFor(async () => (await (await small.app.request('/health')).json()).queue.inFlight === 0)

    // both slots are free again: a short request runs to its done event
    const after = await small.post('/v1/generate', { ...long, sampling: { maxTokens: 3, seed: 1 } })
    const events = parseSse(await after.text())
    expect(events.at(-1)?.event).toBe('done')
    const metrics = await (await small.app.request('/metrics')).text()
    expect(metrics).toMatch(/^watermark_generations_total\{scheme="none",outcome="cancelled"\} 2$/m)
    expect(metrics).toMatch(/^watermark_generations_total\{scheme="none",outcome="rejected"\} 1$/m)
    expect(metrics).toMatch(/^http_requests_total\{method="POST",route="\/v1\/generate",status="503"\} 1$/m)
  })
})
