// Issue 6's "done when", with real isolates: the deployable bundle (wrangler deploy --dry-run) runs as
// two Workers in one workerd — two isolates that share no memory — bound to one MetricsHub Durable
// Object, over the real PostgreSQL (Neon driver through the WebSocket proxy) and a fake generation
// origin. After a short load through both, one scrape of /metrics must show every runbook metric of the
// edge with the exact totals of both isolates, not of the one that answered the scrape.
import { Miniflare } from 'miniflare'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate } from '../../scripts/migrate.ts'
import { type NeonProxy, startNeonProxy } from '../../scripts/neon-ws-proxy.ts'
import { type FakeOrigin, startFakeOrigin } from '../fake-origin.ts'
import { parseSamples } from '../prometheus-text.ts'
import { buildWorkerBundle, type WorkerBundle } from '../worker-bundle.ts'
import { createTestDatabase } from './services.ts'

const ADMIN = 'isolates-admin-token'
const SCRAPE = 'isolates-scrape-token'
const SIGNING = 'isolates-origin-signing-secret'
// A random key judges human text at p <= 1e-9: a false "watermarked" would be a bug, not chance.
const STRICT = { pValueThreshold: 1e-9 }
const HUMAN = [
  'The Fulton County Grand Jury said Friday an investigation of recent primary elections produced no evidence.',
  'The jury further said in term-end presentments that the City Executive Committee deserves praise.',
]

let db: Awaited<ReturnType<typeof createTestDatabase>>
let proxy: NeonProxy
let origin: FakeOrigin
let mf: Miniflare
let bundle: WorkerBundle
type Fetcher = { fetch(url: string, init?: RequestInit): Promise<Response> }
let edgeA: Fetcher
let edgeB: Fetcher

beforeAll(async () => {
  db = await createTestDatabase()
  const pool = new pg.Pool({ connectionString: db.url, max: 1 })
  await migrate(pool as never)
  await pool.end()
  proxy = await startNeonProxy({ log: () => {} })
  origin = await startFakeOrigin(SIGNING)
  bundle = buildWorkerBundle('wmlab-isolates-')
  const worker = (name: string, hub: { className: string; scriptName?: string }) =>
    bundle.worker(
      {
        WATERMARK_MASTER_SECRET: 'isolates-master-secret-0123456789',
        ADMIN_TOKEN: ADMIN,
        METRICS_SCRAPE_TOKEN: SCRAPE,
        DATABASE_URL: db.url,
        NEON_WS_PROXY: proxy.url,
        ORIGIN_URL: origin.url,
        ORIGIN_SIGNING_SECRET: SIGNING,
        RATE_LIMIT_PER_MINUTE: '100000',
      },
      { name, durableObjects: { METRICS_HUB: { ...hub, useSQLite: true } } },
    )
  mf = new Miniflare({
    // The workers' request logs are not this test's subject (test/reliability covers their content).
    handleRuntimeStdio: (stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) => {
      stdout.resume()
      stderr.resume()
    },
    workers: [
      worker('edge-a', { className: 'MetricsHub' }),
      // The second isolate reaches the same hub class, exactly like a second isolate in production.
      worker('edge-b', { className: 'MetricsHub', scriptName: 'edge-a' }),
    ],
  })
  await mf.ready
  edgeA = (await mf.getWorker('edge-a')) as unknown as Fetcher
  edgeB = (await mf.getWorker('edge-b')) as unknown as Fetcher
}, 120_000)

afterAll(async () => {
  await mf?.dispose()
  await origin?.close()
  await proxy?.close()
  await db?.drop()
  bundle?.remove()
})

const call = (edge: Fetcher, path: string, body?: unknown, bearer?: string) =>
  edge.fetch(`http://edge.test${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })

describe('metrics aggregated across two real isolates', () => {
  it('one scrape shows every runbook metric of the edge with the totals of both isolates', async () => {
    const tenant = await call(edgeA, '/admin/tenants', { name: 'isolates' }, ADMIN)
    expect(tenant.status).toBe(201)
    const { apiKey } = (await tenant.json()) as { apiKey: string }
    const key = await call(
      edgeA,
      '/v1/keys',
      { scheme: 'vllm-gumbel', tokenizer: 'qwen3', params: STRICT },
      apiKey,
    )
    expect(key.status).toBe(201)

    // Isolate A: one text four times (1 miss, 3 hits). Isolate B has its own result cache here (no
    // Upstash): each of two texts twice (2 misses, 2 hits), plus one request with a wrong key.
    const statuses: number[] = []
    for (let i = 0; i < 4; i++)
      statuses.push((await call(edgeA, '/v1/detect', { text: HUMAN[0] }, apiKey)).status)
    for (const text of [HUMAN[0], HUMAN[0], HUMAN[1], HUMAN[1]])
      statuses.push((await call(edgeB, '/v1/detect', { text }, apiKey)).status)
    expect(statuses).toEqual(Array(8).fill(200))
    expect((await call(edgeB, '/v1/detect', { text: HUMAN[0] }, 'not-a-key')).status).toBe(401)
    // Generations: 2 through A, 3 through B, all watermarked with the tenant's key.
    for (const [edge, n] of [
      [edgeA, 2],
      [edgeB, 3],
    ] as const)
      for (let i = 0; i < n; i++) {
        const res = await call(
          edge,
          '/v1/generate',
          { prompt: 'The jury said', sampling: { seed: i, maxTokens: 4 } },
          apiKey,
        )
        expect(res.status).toBe(200)
        await res.text()
      }

    // An isolate flushes every 5 s or 1,000 requests (metrics/recorder.ts): after 5 s, one more request to
    // B sends B's batch; the scrape on A flushes A's own batch before answering.
    await new Promise((r) => setTimeout(r, 5_200))
    const healthB = await call(edgeB, '/health')
    await healthB.text()
    const scrape = await call(edgeA, '/metrics', undefined, SCRAPE)
    expect(scrape.status).toBe(200)
    const m = parseSamples(await scrape.text())

    const req = (method: string, route: string, status: number) =>
      m[`http_requests_total{method="${method}",route="${route}",status="${status}"}`]
    expect(req('POST', '/admin/tenants', 201)).toBe(1)
    expect(req('POST', '/v1/keys', 201)).toBe(1)
    expect(req('POST', '/v1/detect', 200)).toBe(8) // 4 in A + 4 in B
    expect(req('POST', '/v1/detect', 401)).toBe(1)
    expect(req('POST', '/v1/generate', 200)).toBe(5)
    expect(req('GET', '/health', healthB.status)).toBe(1)
    expect(m['http_request_duration_seconds_count{route="/v1/detect"}']).toBe(9)
    expect(m['http_request_duration_seconds_bucket{route="/v1/detect",le="+Inf"}']).toBe(9)
    expect(m['http_request_duration_seconds_sum{route="/v1/detect"}']).toBeGreaterThan(0)
    expect(m['watermark_detections_total{scheme="vllm-gumbel",verdict="not_watermarked"}']).toBe(8)
    expect(m['watermark_detections_total{scheme="vllm-gumbel",verdict="watermarked"}'] ?? 0).toBe(0)
    // Every detection's evidence: human text under a random key, nowhere near the 1e-9 threshold.
    expect(m['watermark_detection_pvalue_neg_log10_count{scheme="vllm-gumbel"}']).toBe(8)
    expect(m['watermark_detection_pvalue_neg_log10_bucket{scheme="vllm-gumbel",le="8"}']).toBe(8)
    expect(m['watermark_generations_total{scheme="vllm-gumbel",outcome="success"}']).toBe(5)
    expect(m.cache_hits_total).toBe(5)
    expect(m.cache_misses_total).toBe(3)
    expect(m.cache_hit_rate).toBeCloseTo(5 / 8, 10)
    // In flight at the scrape: the scrape itself in A, nothing in B (its last batch reported 0).
    expect(m.active_connections).toBe(1)
    // Probed by B's /health and by the scrape; the hub keeps the latest from any isolate.
    expect(m['dependency_up{dependency="db"}']).toBe(1)
    expect(m['dependency_up{dependency="cache"}']).toBe(1)
    expect(m['dependency_up{dependency="origin"}']).toBe(1)
    // Batches from both isolates were applied (and none counted twice).
    expect(m['metrics_hub_batches_total{result="applied"}']).toBeGreaterThanOrEqual(2)
    expect(m['metrics_hub_batches_total{result="duplicate"}'] ?? 0).toBe(0)
  }, 60_000)
})
