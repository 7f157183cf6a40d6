// Generation beyond the origin's capacity, end to end: the edge app with the real origin client
// (signing, SSE, circuit breaker) in front of a real origin (brown-lm on CPU) served over HTTP on
// 127.0.0.1 with one slot and a queue of two. Twenty clients at once, streamed and not: every answer is
// a complete generation (200) or 503 with Retry-After and the error envelope, each well within a
// deadline (nothing hangs, nothing is a 500), and the origin ends with nothing in flight or queued.
import { type ServerType, serve } from '@hono/node-server'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestOrigin,
  type LoadedModel,
  loadTestModel,
  TEST_SIGNING_SECRET,
} from '../../origin/test-support.ts'
import { createOriginClient } from '../../worker/src/origin-client.ts'
import { type App, call, createApp, envelopeProblems, memoryDeps, newTenant, settled } from './harness.ts'

const CLIENTS = 20
/** No answer, refusal or full generation may take longer than this. */
const DEADLINE_MS = 20_000

let loaded: LoadedModel
let server: ServerType
let originApp: ReturnType<typeof createTestOrigin>['app']
let edge: App
let deps: ReturnType<typeof memoryDeps>
let apiKey: string

beforeAll(async () => {
  loaded = await loadTestModel()
  originApp = createTestOrigin(loaded, { maxConcurrency: 1, maxQueue: 2 }).app
  const port = await new Promise<number>((resolve) => {
    server = serve({ fetch: originApp.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
      resolve(info.port),
    )
  })
  deps = memoryDeps({
    origin: createOriginClient({ url: `http://127.0.0.1:${port}`, signingSecret: TEST_SIGNING_SECRET }),
  })
  edge = createApp(deps)
  apiKey = await newTenant(edge, 'overload')
})

afterAll(async () => {
  await new Promise((r) => server?.close(r))
  await loaded?.engine.release()
})

describe('generation beyond the origin’s limit (1 slot, queue 2)', () => {
  it.each([
    ['not streamed', false],
    ['streamed', true],
  ])('%s: 20 clients at once get 200 or 503 + Retry-After, none hangs', async (_how, stream) => {
    const t0 = performance.now()
    const answers = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        const r = await call(edge, 'POST', '/v1/generate', {
          key: apiKey,
          body: {
            prompt: `Client ${i} asks the jury`,
            keyId: 'none',
            stream,
            sampling: { maxTokens: 48, minTokens: 48, seed: i },
          },
        })
        return { ...r, ms: performance.now() - t0 }
      }),
    )
    const ok = answers.filter((a) => a.status === 200)
    const refused = answers.filter((a) => a.status !== 200)
    for (const a of ok) {
      if (stream) {
        expect(a.text).toMatch(/^event: done$/m)
        expect(a.text).not.toMatch(/^event: error$/m)
      } else expect(a.body.usage.completionTokens).toBe(48)
    }
    for (const a of refused) {
      expect(a.status, a.text).toBe(503)
      expect(envelopeProblems(a)).toEqual([])
      expect(['origin_busy', 'origin_unavailable']).toContain(a.body.error.code)
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThan(0)
    }
    // The slot and the queue were used (at least 1 + 2 generations) and the limit was reached.
    expect(ok.length).toBeGreaterThanOrEqual(3)
    expect(refused.length).toBeGreaterThan(0)
    expect(ok.length + refused.length).toBe(CLIENTS)
    for (const a of answers) expect(a.ms).toBeLessThan(DEADLINE_MS)
    console.log(
      `stream ${stream}: ${ok.length} generated, ${refused.length} refused (${[...new Set(refused.map((a) => a.body.error.code))].join(', ')}); slowest answer ${Math.round(Math.max(...answers.map((a) => a.ms)))} ms, slowest refusal ${Math.round(Math.max(...refused.map((a) => a.ms)))} ms`,
    )
    // Every request recorded once, with its outcome: the refusals as busy, never as a success.
    await settled()
    const rows = deps.store.generations.filter((g) => g.stream === stream)
    expect(rows.filter((g) => g.outcome === 'success')).toHaveLength(ok.length)
    expect(rows.filter((g) => g.outcome !== 'success').map((g) => g.errorCode)).toEqual(
      refused.map((a) => a.body.error.code),
    )
    // Nothing left running or waiting at the origin.
    const metrics = await (await originApp.request('/metrics')).text()
    expect(metrics).toMatch(/^origin_in_flight 0$/m)
    expect(metrics).toMatch(/^origin_queue_depth 0$/m)
  })
})
