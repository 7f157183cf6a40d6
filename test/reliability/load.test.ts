// CI-sized fixed-rate load: 2,000 detections at 60 req/s (sized to pass beside the rest of the suite on a
// loaded 2-core CI machine; 200 req/s timed out there) against the edge app over HTTP
// (@hono/node-server on 127.0.0.1) with the real PostgreSQL store; one request in ten is a text never
// seen before (a cache miss, scored, and an audit row through the Neon driver). Asserts 0 errors and
// every audit row written, and reports the latency percentiles. The long run: bench/load.bench.ts.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { formatReport, type LoadTarget, runLoad, startLoadTarget } from './load.ts'

let target: LoadTarget

beforeAll(async () => {
  target = await startLoadTarget()
})
afterAll(async () => {
  await target?.close()
})

it('2,000 detections at 60 req/s: 0 errors, every audit row written', async () => {
  const report = await runLoad(target, { total: 2000, rate: 60, missEvery: 10 })
  console.log(formatReport(report))
  expect(report.statuses, report.failures.join('\n')).toEqual({ 200: 2000 })
  expect(report.errors).toBe(0)
  expect(report.misses).toBe(200)
  expect(report.auditRows).toBe(report.misses)
  // The load really was fixed-rate (the generator kept up), so the percentiles mean what they say.
  expect(report.achievedRate).toBeGreaterThan(55)
})
