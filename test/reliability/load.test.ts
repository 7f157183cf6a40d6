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
import { formatReport, httpEdgeTarget, type LoadTarget, runLoad, startLoadTarget } from './load.ts'

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
