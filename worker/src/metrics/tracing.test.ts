// Edge spans end to end: the app with the OpenTelemetry SDK registered as the Worker registers it
// (metrics/tracing.ts), an in-test OTLP/HTTP receiver, and a fake origin over HTTP. The spans must
// arrive with their names, kinds, attributes and parent links; the caller's trace must continue
// through the edge to the origin's traceparent; and no text or secret may be in what is exported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFakeOrigin, type FakeOrigin } from '../../../test/fake-origin.ts'
import { attributesOf, type OtlpSpan, startOtlpReceiver } from '../../../test/otlp-receiver.ts'
import { memoryDeps } from '../../../test/reliability/harness.ts'
import { type AppDeps, createApp } from '../app.ts'
import { createOriginClient } from '../origin-client.ts'
import type { MemoryStore } from '../store.ts'
import { basicAuth } from './exposition.ts'
import { type EdgeTracing, edgeTracingConfig, startEdgeTracing } from './tracing.ts'

const SIGNING = 'tracing-test-origin-signing-secret'
const TEXT = 'The Fulton County Grand Jury said Friday an investigation of the election produced no evidence.'
const CALLER = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentId: '00f067aa0ba902b7' }

let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>
let origin: FakeOrigin
const originTraceparents: (string | null)[] = []
let tracing: EdgeTracing
let app: ReturnType<typeof createApp>
let deps: AppDeps & { store: MemoryStore }
let apiKey: string

beforeAll(async () => {
  receiver = await startOtlpReceiver()
  origin = await startFakeOrigin(SIGNING)
  const config = edgeTracingConfig({
    OTLP_TRACES_URL: `${receiver.url}/v1/traces`,
    OTLP_TRACES_SAMPLE_RATE: '1',
    GRAFANA_INSTANCE_ID: '424242',
    GRAFANA_TOKEN: 'glc_tracing_test_token',
  })!
  tracing = startEdgeTracing(config)
  deps = memoryDeps({
    origin: createOriginClient({
      url: origin.url,
      signingSecret: SIGNING,
      timeoutMs: 5000,
      fetch: (url, init) => {
        originTraceparents.push(new Headers(init?.headers).get('traceparent'))
        return fetch(url, init)
      },
    }),
    metrics: { flushTraces: tracing.flush },
  })
  app = createApp(deps)
  const tenant = await deps.store.createTenant('traced')
  apiKey = (await deps.store.createApiKey(tenant.id))!.key
  await deps.store.createKey({
    id: 'wk_traced',
    tenantId: tenant.id,
    scheme: 'vllm-gumbel',
    params: { pValueThreshold: 1e-9 },
    tokenizer: 'qwen3',
  })
})

afterAll(async () => {
  await tracing?.shutdown()
  await origin?.close()
  await receiver?.close()
})

const post = (path: string, body: unknown, traceparent?: string) =>
  app.request(path, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${apiKey}`,
      'content-type': 'application/json',
      ...(traceparent ? { traceparent } : {}),
    },
    body: JSON.stringify(body),
  })

const exports = () => receiver.received.map((r) => ({ authorization: r.headers.authorization, body: r.raw }))
const received = () => receiver.spans()
const attr = (span: OtlpSpan, key: string) => attributesOf(span.attributes)[key]

describe('edge spans at an OTLP receiver', () => {
  it('exports the request, detection, cache, database and origin spans with their parents', async () => {
    const traceparent = `00-${CALLER.traceId}-${CALLER.parentId}-01`
    const detect = await post('/v1/detect', { text: TEXT }, traceparent)
    expect(detect.status).toBe(200)
    const detectHop = detect.headers.get('traceparent')!
    const gen = await post(
      '/v1/generate',
      { prompt: 'The jury said', sampling: { seed: 1, maxTokens: 3 } },
      traceparent,
    )
    expect(gen.status).toBe(200)
    await gen.text()
    await new Promise((r) => setTimeout(r, 50)) // the audit rows' background writes end their spans
    await tracing.flush()

    expect(exports().length).toBeGreaterThan(0)
    expect(exports().every((e) => e.authorization === basicAuth('424242', 'glc_tracing_test_token'))).toBe(
      true,
    )
    const spans = received()
    const byName = (name: string) => spans.filter((s) => s.name === name)
    const [server] = byName('POST /v1/detect')
    expect(server).toBeDefined()
    // The caller's trace continues: same trace id, the caller's span as parent, kind SERVER (2).
    expect(server.traceId).toBe(CALLER.traceId)
    expect(server.parentSpanId).toBe(CALLER.parentId)
    expect(server.kind).toBe(2)
    expect(attr(server, 'http.route')).toBe('/v1/detect')
    expect(Number(attr(server, 'http.response.status_code'))).toBe(200)
    // The response's traceparent names the exported server span.
    expect(detectHop).toBe(`00-${CALLER.traceId}-${server.spanId}-01`)

    const [detectSpan] = byName('watermark.detect').filter((s) => s.parentSpanId === server.spanId)
    expect(detectSpan).toBeDefined()
    expect(attr(detectSpan, 'wmlab.scheme')).toBe('vllm-gumbel')
    expect(attr(detectSpan, 'wmlab.cache')).toBe('miss')
    for (const child of ['db.watermark_keys', 'cache.get', 'cache.set', 'db.insert_detection']) {
      const s = byName(child).find((x) => x.parentSpanId === detectSpan.spanId)
      expect(s, child).toBeDefined()
      expect(s!.traceId).toBe(CALLER.traceId)
    }
    expect(byName('db.api_key').some((s) => s.parentSpanId === server.spanId)).toBe(true)

    // Generation: a CLIENT span (3) around the origin call, whose id the origin receives as parent.
    const genServer = byName('POST /v1/generate')[0]
    const client = byName('origin.generate').find((s) => s.parentSpanId === genServer.spanId)!
    expect(client.kind).toBe(3)
    expect(attr(client, 'wmlab.scheme')).toBe('vllm-gumbel')
    expect(originTraceparents.at(-1)).toBe(`00-${CALLER.traceId}-${client.spanId}-01`)

    // Nothing exported quotes the text, the API key, the master secret or the Grafana token.
    const all = exports()
      .map((e) => e.body)
      .join('\n')
    for (const secret of [TEXT.slice(0, 30), apiKey, deps.masterSecret, 'glc_tracing_test_token'])
      expect(all).not.toContain(secret)
  })

  it('marks a cache hit on the lookup span', async () => {
    receiver.received.length = 0
    const res = await post('/v1/detect', { text: TEXT })
    expect(((await res.json()) as { cache: string }).cache).toBe('hit')
    await tracing.flush()
    const spans = received()
    expect(attr(spans.find((s) => s.name === 'cache.get')!, 'wmlab.cache_hit')).toBe(true)
    expect(attr(spans.find((s) => s.name === 'watermark.detect')!, 'wmlab.cache')).toBe('hit')
    expect(spans.some((s) => s.name === 'cache.set')).toBe(false)
  })

  it('keeps spans when the endpoint fails and sends them with the next flush', async () => {
    receiver.received.length = 0
    receiver.refuseNext(1)
    expect((await post('/v1/detect', { text: `${TEXT} Again.` })).status).toBe(200)
    await tracing.flush()
    await tracing.flush()
    // The first POST was refused (503) and carried the request's span; a later one resent it.
    const servers = exports().map(
      (e) => (JSON.parse(e.body).resourceSpans as unknown[]).length > 0 && e.body.includes('POST /v1/detect'),
    )
    expect(servers[0]).toBe(true)
    expect(servers.slice(1)).toContain(true)
    expect(received().filter((s) => s.name === 'POST /v1/detect')).toHaveLength(2)
  })

  it('marks a failed span with the error code, not its message', async () => {
    receiver.received.length = 0
    const res = await post('/v1/detect', { text: TEXT, keyId: 'wk_does_not_exist' })
    expect(res.status).toBe(404)
    await tracing.flush()
    const failed = received().find((s) => s.name === 'watermark.detect')!
    expect(failed.status?.code).toBe(2)
    expect(attr(failed, 'error.type')).toBe('key_not_found')
    expect(
      exports()
        .map((e) => e.body)
        .join(''),
    ).not.toContain('wk_does_not_exist')
  })

  it('reads its configuration strictly', () => {
    expect(edgeTracingConfig({})).toBeNull()
    expect(() => edgeTracingConfig({ OTLP_TRACES_URL: 'ftp://x' })).toThrow(/http/)
    expect(() => edgeTracingConfig({ OTLP_TRACES_URL: 'https://x', OTLP_TRACES_SAMPLE_RATE: '2' })).toThrow(
      /\[0, 1\]/,
    )
    expect(edgeTracingConfig({ OTLP_TRACES_URL: 'https://x' })).toMatchObject({
      sampleRate: 0.1,
      headers: {},
    })
  })
})
