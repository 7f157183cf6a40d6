// The fuzzing of fuzz-routes.test.ts, shorter, against the real PostgreSQL store through the production
// driver (@neondatabase/serverless via the local WebSocket proxy): what the in-memory store accepts,
// Postgres may not (NUL characters in text, lone surrogates, jsonb limits, id CHECK constraints). For
// every route that writes: no 5xx, the error envelope, rejected requests change no row, and every
// accepted detection and generation leaves exactly one audit row (the tenant stores text, so hostile
// text reaches the database). The experiments routes, which exist only here, get the full 10,000
// bodies each with the properties of fuzz-routes.test.ts (time bound, prototype pollution).
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bodies,
  fuzzContext,
  pathIds,
  percentEncode,
  type RouteTarget,
  routeTargets,
  strings,
} from './arbitraries.ts'
import {
  ADMIN_TOKEN,
  type App,
  call,
  callWithin,
  createApp,
  envelopeProblems,
  countingOrigin,
  memoryDeps,
  openApi,
  postgresDeps,
  postgresFixture,
  prototypePollution,
} from './harness.ts'

const RUNS = Number(process.env.FUZZ_PG_RUNS ?? 250)
/** Experiments exist only on PostgreSQL, so their routes get the full 10,000 bodies here. */
const EXPERIMENT_RUNS = Number(process.env.FUZZ_EXPERIMENT_RUNS ?? 10_000)
const SEED = 20_261_129
const collectedDoc = await openApi(createApp(memoryDeps()))
/** No experiments request may take longer (the slowest legitimate one writes a spec and its jobs). */
const REQUEST_BOUND_MS = 5000

let fx: Awaited<ReturnType<typeof postgresFixture>>
let deps: ReturnType<typeof postgresDeps>
let app: App
let doc: any
let origin: ReturnType<typeof countingOrigin>

beforeAll(async () => {
  fx = await postgresFixture()
  origin = countingOrigin()
  deps = postgresDeps(fx.url, { origin })
  app = createApp(deps)
  doc = await openApi(app)
})

afterAll(async () => {
  await deps?.drain()
  await fx?.close()
})

/** Every row count, and which keys are revoked: what a rejected request must leave as it was. */
async function state(): Promise<string> {
  await deps.drain() // background writes of earlier, accepted requests land first
  const [r] = await fx.sql(`SELECT
    (SELECT count(*) FROM tenants) AS tenants,
    (SELECT count(*) FROM api_keys) AS api_keys,
    (SELECT string_agg(id || ':' || status, ',' ORDER BY id) FROM watermark_keys) AS keys,
    (SELECT count(*) FROM detections) AS detections,
    (SELECT count(*) FROM generations) AS generations,
    (SELECT string_agg(id || ':' || status, ',' ORDER BY id) FROM experiments) AS experiments`)
  return JSON.stringify(r)
}

const WRITES = new Set([
  'POST /admin/tenants',
  'POST /admin/tenants/{id}/api-keys',
  'POST /v1/keys',
  'POST /v1/detect',
  'POST /v1/detect/batch',
  'POST /v1/generate',
  'POST /v1/completions',
  'POST /v1/chat/completions',
  'DELETE /v1/keys/{id}',
  'POST /v1/keys/{id}/rotate',
  'POST /v1/experiments',
  'POST /v1/experiments/{id}/cancel',
  'POST /v1/experiments/{id}/resume',
])

// Read-only routes on PostgreSQL: fuzzed for 5xx, hangs and the envelope (fuzz-routes.test.ts cannot:
// experiments need the database).
const READS = new Set(['GET /v1/experiments', 'GET /v1/experiments/{id}', 'GET /v1/experiments/{id}/export'])

describe('fuzzing the routes that write, on PostgreSQL', () => {
  const names = () => routeTargets(doc).filter((t) => WRITES.has(t.route) || READS.has(t.route))

  it('covers the writing routes the app has', () => {
    expect(names().map((t) => t.route)).toEqual(
      expect.arrayContaining([
        'POST /admin/tenants',
        'POST /v1/keys',
        'POST /v1/detect',
        'POST /v1/detect/batch',
        'POST /v1/experiments',
        'GET /v1/experiments/{id}/export',
      ]),
    )
  })

  it('no 5xx, the error envelope, no change on rejection, one audit row per accepted request', async () => {
    for (const target of names() as RouteTarget[]) {
      // A tenant that stores text (so hostile text reaches the detections/generations tables).
      const boot = await call(app, 'POST', '/admin/tenants', {
        key: ADMIN_TOKEN,
        body: { name: `actor ${target.route}`, storeText: true },
      })
      expect(boot.status).toBe(201)
      const actor = boot.body.apiKey as string
      const tenantId = boot.body.tenant.id as string
      const keyIds: string[] = []
      for (const scheme of ['kgw-lefthash', 'unigram']) {
        keyIds.push((await call(app, 'POST', '/v1/keys', { key: actor, body: { scheme } })).body.id)
      }
      const ctx = fuzzContext(doc, keyIds)
      const arb = fc.tuple(
        target.method === 'POST' ? bodies(target.schema, ctx, deps.maxBodyBytes) : fc.constant(undefined),
        target.hasId ? pathIds(ctx.interesting) : fc.constant(''),
      )
      let misses = 0 // detections computed (not from the cache): each writes one audit row
      const callsBefore = origin.calls
      const statuses: Record<number, number> = {}
      const result = await fc.check(
        fc.asyncProperty(arb, async ([body, id]) => {
          const before = await state()
          const headers: Record<string, string> = {
            authorization: `Bearer ${target.admin ? ADMIN_TOKEN : actor}`,
          }
          if (body?.type) headers['content-type'] = body.type
          const r = await call(app, target.method, target.path(id), { headers, raw: body?.bytes })
          statuses[r.status] = (statuses[r.status] ?? 0) + 1
          const what = `${target.route} ${id.slice(0, 80)} [${body?.label}] ${body?.bytes ? Buffer.from(body.bytes).toString('utf8').slice(0, 200) : ''} → ${r.status} ${r.text.slice(0, 300)}`
          expect(r.status, what).toBeLessThan(500)
          if (r.status >= 400) {
            expect(envelopeProblems(r), what).toEqual([])
            expect(await state(), `${what}: a rejected request changed rows`).toBe(before)
          } else if (target.route === 'POST /v1/detect' && r.body.cache === 'miss') misses++
          else if (target.route === 'POST /v1/detect/batch')
            misses += r.body.results.filter((x: { cache?: string }) => x.cache === 'miss').length
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      )
      if (result.failed)
        throw new Error(
          `${target.route}: ${JSON.stringify(result.counterexample).slice(0, 800)}\n${String(result.errorInstance)}`,
        )
      console.log(`${target.route} on PostgreSQL: ${JSON.stringify(statuses)}`)
      await deps.drain()
      const [rows] = await fx.sql(
        `SELECT (SELECT count(*)::int FROM detections WHERE tenant_id = $1) AS detections,
                (SELECT count(*)::int FROM generations WHERE tenant_id = $1) AS generations`,
        [tenantId],
      )
      // 0 lost: one row per computed detection, one per generation the origin was asked for.
      expect(rows.detections, target.route).toBe(misses)
      expect(rows.generations, target.route).toBe(origin.calls - callsBefore)
    }
  })
})

describe('fuzzing every experiments route, 10,000 bodies each, on PostgreSQL', () => {
  const validSpec = (name: string, samples: number) => ({
    name,
    grid: { schemes: [{ scheme: 'kgw-lefthash' }] },
    samples,
  })

  // Named at collection time from the document (the same for any store); run against the PostgreSQL app.
  const experimentRoutes = () => routeTargets(collectedDoc).filter((t) => t.route.includes('/v1/experiments'))

  /** The experiments' rows and the queue: what a rejected request must leave as it was. */
  async function experimentsState(): Promise<string> {
    await deps.drain()
    const [r] = await fx.sql(`SELECT
      (SELECT string_agg(id || ':' || status, ',' ORDER BY id) FROM experiments) AS experiments,
      (SELECT count(*) FROM experiment_samples) AS samples,
      (SELECT count(*) FROM experiment_jobs) AS jobs`)
    return `${JSON.stringify(r)} queued ${deps.queued.length}`
  }

  it('covers every experiments route of the OpenAPI document', () => {
    expect(experimentRoutes().map((t) => t.route)).toEqual(
      expect.arrayContaining([
        'POST /v1/experiments',
        'GET /v1/experiments/{id}',
        'GET /v1/experiments/{id}/export',
        'POST /v1/experiments/{id}/cancel',
        'POST /v1/experiments/{id}/resume',
      ]),
    )
  })

  it.each(experimentRoutes().map((t) => t.route))(
    '%s: no 5xx, no hang, error envelope, no prototype pollution, rejected requests change nothing',
    async (route) => {
      const target = experimentRoutes().find((t) => t.route === route) as RouteTarget
      const actor = (
        await call(app, 'POST', '/admin/tenants', {
          key: ADMIN_TOKEN,
          body: { name: `experiments ${route}` },
        })
      ).body.apiKey as string
      // Real experiments of the actor's, so ids name something that exists (and can be cancelled).
      const keyId = (await call(app, 'POST', '/v1/keys', { key: actor, body: { scheme: 'kgw-lefthash' } }))
        .body.id as string
      const experimentIds: string[] = []
      for (const name of ['fuzzed one', 'fuzzed two']) {
        const created = await call(app, 'POST', '/v1/experiments', { key: actor, body: validSpec(name, 2) })
        expect(created.status, created.text).toBe(201)
        experimentIds.push(created.body.id)
      }
      const ctx = fuzzContext(doc, [keyId, ...experimentIds])
      // Hostile bodies, and one in twenty a valid spec with a fuzzed name, so acceptance is fuzzed too.
      const valid = fc
        .tuple(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.integer({ min: 1, max: 3 }))
        .map(([name, samples]) => ({
          bytes: new TextEncoder().encode(JSON.stringify(validSpec(name, samples))),
          type: 'application/json',
          label: 'valid spec',
        }))
      const arb = fc.tuple(
        target.method === 'POST'
          ? fc.oneof(
              { arbitrary: bodies(target.schema, ctx, deps.maxBodyBytes), weight: 19 },
              { arbitrary: valid, weight: 1 },
            )
          : fc.constant(undefined),
        target.hasId ? pathIds(ctx.interesting) : fc.constant(''),
        // The export's ?format=: the two formats, anything else, or absent (the default).
        route.endsWith('/export')
          ? fc.oneof(
              fc.constantFrom('?format=csv', '?format=jsonl', ''),
              strings(ctx.interesting, false).map((q) => `?format=${percentEncode(String(q))}`),
            )
          : fc.constant(''),
      )
      const statuses: Record<number, number> = {}
      let maxMs = 0
      // State changes only when a request is accepted: read it once, and again after each acceptance.
      let state = await experimentsState()
      const t0 = performance.now()
      const result = await fc.check(
        fc.asyncProperty(arb, async ([body, id, query]) => {
          const headers: Record<string, string> = { authorization: `Bearer ${actor}` }
          if (body?.type) headers['content-type'] = body.type
          const started = performance.now()
          const r = await callWithin(REQUEST_BOUND_MS * 2, app, target.method, target.path(id) + query, {
            headers,
            raw: body?.bytes,
          })
          const ms = performance.now() - started
          maxMs = Math.max(maxMs, ms)
          statuses[r.status] = (statuses[r.status] ?? 0) + 1
          const what = `${route} ${id.slice(0, 80)}${query.slice(0, 80)} [${body?.label}] → ${r.status} ${r.text.slice(0, 300)}`
          expect(r.status, what).toBeLessThan(500)
          expect(ms, `${what}: took ${ms.toFixed(0)} ms`).toBeLessThan(REQUEST_BOUND_MS)
          expect(prototypePollution(), what).toEqual([])
          if (r.status >= 400) {
            expect(envelopeProblems(r), what).toEqual([])
            if (target.method !== 'GET')
              expect(await experimentsState(), `${what}: changed state`).toBe(state)
          } else if (target.method !== 'GET') state = await experimentsState()
        }),
        { numRuns: EXPERIMENT_RUNS, seed: SEED, endOnFailure: true },
      )
      if (result.failed)
        throw new Error(
          `${route}: ${JSON.stringify(result.counterexample).slice(0, 800)}\n${String(result.errorInstance)}`,
        )
      expect(result.numRuns).toBe(EXPERIMENT_RUNS)
      // Reads change nothing at all, checked once over the whole run.
      if (target.method === 'GET') expect(await experimentsState()).toBe(state)
      console.log(
        `${route} on PostgreSQL: ${EXPERIMENT_RUNS} bodies in ${((performance.now() - t0) / 1000).toFixed(1)} s, max ${maxMs.toFixed(0)} ms; ${JSON.stringify(statuses)}`,
      )
      // The generator was refused by validation, and got past it.
      expect(Object.keys(statuses).some((s) => Number(s) >= 400)).toBe(true)
      expect(Object.keys(statuses).some((s) => Number(s) < 300)).toBe(true)
    },
    600_000, // 10,000 requests: ~35 s alone, several times that beside the rest of the suite
  )
})
