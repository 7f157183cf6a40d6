// The metrics path inside workerd: requests through the app are counted in the isolate, flushed to the
// MetricsHub Durable Object, aggregated with batches from other isolates (once per batch id), served
// at /metrics behind the scrape token, and pushed as OTLP by the hub's alarm.
import { env, runDurableObjectAlarm, SELF } from 'cloudflare:test'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { parseSamples } from '../../test/prometheus-text.ts'

const SCRAPE_TOKEN = 'dev-metrics-token' // worker/vitest.config.ts bindings, local development only

// The key is random per run; at vLLM's default p <= 0.01 one run in a hundred would call this human
// text watermarked. At 1e-9 a false call means a real bug.
const STRICT = { pValueThreshold: 1e-9 }

const post = (path: string, body: unknown, key?: string) =>
  SELF.fetch(`http://lab.test${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  })

const scrape = async () => {
  const res = await SELF.fetch('http://lab.test/metrics', {
    headers: { authorization: `Bearer ${SCRAPE_TOKEN}` },
  })
  expect(res.status).toBe(200)
  return parseSamples(await res.text())
}

const hub = () => (env as any).METRICS_HUB.get((env as any).METRICS_HUB.idFromName('global'))
const ingest = async (batches: unknown[]) =>
  (await (
    await hub().fetch('https://metrics-hub/ingest', { method: 'POST', body: JSON.stringify({ batches }) })
  ).json()) as {
    applied: string[]
    duplicate: string[]
  }

afterEach(() => vi.restoreAllMocks())

describe('metrics in workerd', () => {
  it('refuses /metrics without the scrape token', async () => {
    expect((await SELF.fetch('http://lab.test/metrics')).status).toBe(401)
    const wrong = await SELF.fetch('http://lab.test/metrics', { headers: { authorization: 'Bearer nope' } })
    expect(wrong.status).toBe(401)
  })

  it('counts requests, detections and cache lookups, aggregated with other isolates by the hub', async () => {
    const t = await post('/admin/tenants', { name: 'metrics' }, 'dev-admin-token')
    const { apiKey } = (await t.json()) as { apiKey: string }
    expect(
      (await post('/v1/keys', { scheme: 'vllm-gumbel', tokenizer: 'qwen3', params: STRICT }, apiKey)).status,
    ).toBe(201)
    const text = { text: 'The Fulton County Grand Jury said Friday an investigation took place.' }
    for (let i = 0; i < 3; i++) expect((await post('/v1/detect', text, apiKey)).status).toBe(200)
    expect((await post('/v1/detect', text, 'wrong-key')).status).toBe(401)
    expect(
      (
        await SELF.fetch('http://lab.test/v1/keys/wk_nope', {
          headers: { authorization: `Bearer ${apiKey}` },
        })
      ).status,
    ).toBe(404)
    expect((await SELF.fetch('http://lab.test/nowhere')).status).toBe(404)

    const before = await scrape()
    expect(before['http_requests_total{method="POST",route="/v1/detect",status="200"}']).toBe(3)
    expect(before['http_requests_total{method="POST",route="/v1/detect",status="401"}']).toBe(1)
    expect(before['http_requests_total{method="GET",route="/v1/keys/:id",status="404"}']).toBe(1)
    expect(before['http_requests_total{method="GET",route="unmatched",status="404"}']).toBe(1)
    expect(before['http_requests_total{method="POST",route="/admin/tenants",status="201"}']).toBe(1)
    expect(Object.keys(before).some((k) => k.includes('wk_nope') || k.includes('/nowhere'))).toBe(false)
    expect(before['http_request_duration_seconds_count{route="/v1/detect"}']).toBe(4)
    expect(before['watermark_detections_total{scheme="vllm-gumbel",verdict="not_watermarked"}']).toBe(3)
    expect(before.cache_misses_total).toBe(1)
    expect(before.cache_hits_total).toBe(2)
    expect(before.cache_hit_rate).toBeCloseTo(2 / 3)
    expect(before['dependency_up{dependency="cache"}']).toBe(1) // probed by the scrape
    expect(before.active_connections).toBe(1) // the scrape itself

    // Another isolate's batch, delivered twice (a retry after a lost response): counted once.
    const other = {
      id: 'isolate-b:1',
      isolate: 'isolate-b',
      seq: 1,
      at: Date.now(),
      counters: [
        ['http_requests_total', { method: 'POST', route: '/v1/detect', status: '200' }, 5],
        ['cache_hits_total', {}, 4],
      ],
      histograms: [],
      gauges: [['active_connections', {}, 2]],
    }
    expect(await ingest([other])).toMatchObject({ applied: ['isolate-b:1'] })
    expect(await ingest([other])).toMatchObject({ applied: [], duplicate: ['isolate-b:1'] })
    const after = await scrape()
    expect(after['http_requests_total{method="POST",route="/v1/detect",status="200"}']).toBe(8)
    expect(after.cache_hits_total).toBe(6)
    expect(after.active_connections).toBe(3)
    expect(after['metrics_hub_batches_total{result="duplicate"}']).toBe(1)
    expect(after['http_requests_total{method="GET",route="/metrics",status="200"}']).toBe(1) // the first scrape
  })

  it("pushes OTLP to Grafana Cloud from the hub's alarm", async () => {
    await SELF.fetch('http://lab.test/health') // makes sure the hub holds data and has an alarm
    await scrape()
    const calls: { url: string; auth: string | null; body: any }[] = []
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const req = new Request(input as RequestInfo, init)
      calls.push({ url: req.url, auth: req.headers.get('authorization'), body: await req.json() })
      return new Response('{}', { status: 200 })
    })
    expect(await runDurableObjectAlarm(hub())).toBe(true)
    expect(calls).toHaveLength(1)
    const [call] = calls
    expect(call.url).toBe('https://otlp.test/otlp/v1/metrics')
    expect(call.auth).toBe(`Basic ${btoa('123456:test-grafana-token')}`)
    const metrics = call.body.resourceMetrics[0].scopeMetrics[0].metrics as { name: string; sum?: any }[]
    const requests = metrics.find((m) => m.name === 'http_requests_total')!
    expect(requests.sum.aggregationTemporality).toBe(2)
    const health = requests.sum.dataPoints.find((p: any) =>
      p.attributes.some((a: any) => a.key === 'route' && a.value.stringValue === '/health'),
    )
    expect(health.asDouble).toBe(1)
  })

  it('exports the spans of a sampled request, nested through AsyncLocalStorage in workerd', async () => {
    const t = await post('/admin/tenants', { name: 'traced' }, 'dev-admin-token')
    const { apiKey } = (await t.json()) as { apiKey: string }
    await post('/v1/keys', { scheme: 'vllm-gumbel', tokenizer: 'qwen3', params: STRICT }, apiKey)
    const bodies: any[] = []
    const realFetch = globalThis.fetch
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const req = new Request(input as RequestInfo, init)
      if (!req.url.startsWith('https://otlp.test/otlp/v1/traces'))
        return realFetch(input as RequestInfo, init)
      expect(req.headers.get('authorization')).toBe(`Basic ${btoa('123456:test-grafana-token')}`)
      bodies.push(await req.json())
      return new Response('{}', { status: 200 })
    })
    const traceId = '0af7651916cd43dd8448eb211c80319c'
    const res = await SELF.fetch('http://lab.test/v1/detect', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${apiKey}`,
        traceparent: `00-${traceId}-b7ad6b7169203331-01`,
      },
      body: JSON.stringify({ text: 'A sampled request through the edge, traced end to end.' }),
    })
    expect(res.status).toBe(200)
    await vi.waitFor(() => {
      const names = bodies.flatMap((b) => b.resourceSpans[0].scopeSpans[0].spans.map((s: any) => s.name))
      expect(names).toContain('POST /v1/detect')
      expect(names).toContain('cache.set')
    })
    const spans = bodies.flatMap((b) => b.resourceSpans[0].scopeSpans[0].spans)
    const server = spans.find((s: any) => s.name === 'POST /v1/detect')
    expect(server.traceId).toBe(traceId)
    expect(server.parentSpanId).toBe('b7ad6b7169203331')
    const detect = spans.find((s: any) => s.name === 'watermark.detect')
    expect(detect.parentSpanId).toBe(server.spanId)
    for (const name of ['db.watermark_keys', 'cache.get', 'cache.set'])
      expect(spans.find((s: any) => s.name === name).parentSpanId, name).toBe(detect.spanId)
    expect(res.headers.get('traceparent')).toBe(`00-${traceId}-${server.spanId}-01`)
  })
})
