// CI-sized fixed-rate load, 2,000 detections each, one request in ten a text never seen before (a cache
// miss, scored, and an audit row through the Neon driver into the real PostgreSQL):
//  - the edge app over HTTP (@hono/node-server on 127.0.0.1) at 60 req/s (sized to pass beside the rest
//    of the suite on a loaded 2-core CI machine; 200 req/s timed out there);
//  - the deployable Worker bundle in workerd (Miniflare, its MetricsHub Durable Object) at 100 req/s,
//    over keep-alive connections as API clients hold them.
// Each asserts 0 errors and every audit row written, and reports the latency percentiles. The long
// runs: bench/load.bench.ts (20,000 at 500 req/s, also against wrangler dev).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BundledEdge, startBundledEdge } from '../worker-bundle.ts'
import {
  formatReport,
  formatVerdicts,
  httpEdgeTarget,
  judgeLoad,
  type LoadTarget,
  runLoad,
  startLoadTarget,
} from './load.ts'

async function expectClean(target: LoadTarget, rate: number) {
  const report = await runLoad(target, { total: 2000, rate, missEvery: 10 })
  console.log(formatReport(report))
  expect(report.statuses, report.failures.join('\n')).toEqual({ 200: 2000 })
  expect(report.errors).toBe(0)
  expect(report.misses).toBe(200)
  expect(report.auditRows).toBe(report.misses)
  // The load really was fixed-rate (the generator kept up), so the percentiles mean what they say.
  expect(report.achievedRate).toBeGreaterThan(rate * 0.9)
}

describe('Node server', () => {
  let target: LoadTarget
  beforeAll(async () => {
    target = await startLoadTarget()
  })
  afterAll(async () => {
    await target?.close()
  })

  it('2,000 detections at 60 req/s: 0 errors, every audit row written', () => expectClean(target, 60))
})

describe('the deployable Worker in workerd', () => {
  let edge: BundledEdge
  let target: LoadTarget
  beforeAll(async () => {
    // Miniflare gives every request one cf-connecting-ip: lift the per-address limit with the per-key one.
    edge = await startBundledEdge({ RATE_LIMIT_PER_MINUTE: '100000', RATE_LIMIT_PER_IP_PER_MINUTE: '100000' })
    target = httpEdgeTarget(edge)
  }, 120_000)
  afterAll(async () => {
    await target?.close()
    await edge?.stop()
  })

  it('2,000 detections at 100 req/s: 0 errors, every audit row written', () => expectClean(target, 100))
})

describe('the report', () => {
  /** A server answering one request at a time, each after `delayMs` (0: at once, concurrently). */
  async function serverAnsweringEvery(delayMs: number) {
    const http = await import('node:http')
    let queue = Promise.resolve()
    const server = http.createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        if (delayMs === 0) return res.end('{"cache":"hit"}')
        queue = queue.then(
          () =>
            new Promise<void>((r) =>
              setTimeout(() => {
                res.end('{"cache":"hit"}')
                r()
              }, delayMs),
            ),
        )
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as { port: number }
    const target: LoadTarget = {
      url: `http://127.0.0.1:${port}/v1/detect`,
      headers: { 'content-type': 'application/json' },
      databaseUrl: '',
      auditRows: async () => 0,
      settle: async () => undefined,
      close: async () => void (await new Promise((r) => server.close(r))),
    }
    return target
  }

  it('tells a target that kept up from one that fell behind the offered rate', async () => {
    const quick = await serverAnsweringEvery(0)
    const slow = await serverAnsweringEvery(20) // at most 50 answers a second
    try {
      const kept = await runLoad(quick, { total: 200, rate: 200 })
      expect(kept.answeredRate).toBeGreaterThan(180)
      expect(kept.maxInFlight).toBeLessThan(50)
      expect(formatReport(kept)).not.toContain('fell behind')

      const behind = await runLoad(slow, { total: 200, rate: 200 })
      expect(behind.errors).toBe(0)
      expect(behind.answeredRate).toBeLessThan(60)
      // Sent at 200/s, answered at 50/s: most of the second's requests were waiting at once.
      expect(behind.maxInFlight).toBeGreaterThan(100)
      expect(formatReport(behind)).toContain('fell behind the offered rate')

      // The bench's verdict: each cache outcome's P95 against issue 3's targets (hits 3 ms, misses 15 ms).
      const judged = (hit: number, miss: number) =>
        judgeLoad({
          ...kept,
          byCache: { hit: { ...kept.latency, p95: hit }, miss: { ...kept.latency, p95: miss } },
        })
      expect(judged(3, 15).every((v) => v.met)).toBe(true)
      expect(
        judged(3.1, 15)
          .filter((v) => !v.met)
          .map((v) => v.name),
      ).toEqual(['cache hit P95 ms'])
      expect(
        judged(3, 15.1)
          .filter((v) => !v.met)
          .map((v) => v.name),
      ).toEqual(['cache miss P95 ms'])
      expect(formatVerdicts(judged(3.1, 2))).toContain('NOT MET  cache hit P95 ms: 3.1 (target ≤ 3)')
      // No miss was measured (the servers only answer "hit"): that is not a pass.
      expect(judgeLoad(kept).find((v) => v.name === 'cache miss P95 ms')!.met).toBe(false)
      // Errors and lost audit rows fail the bar whatever the latency.
      const lossy = { ...kept, errors: 1, misses: 3, auditRows: 2 }
      expect(
        judgeLoad(lossy)
          .filter((v) => !v.met)
          .map((v) => v.name),
      ).toEqual(expect.arrayContaining(['errors', 'lost audit rows']))
    } finally {
      await quick.close()
      await slow.close()
    }
  })
})
