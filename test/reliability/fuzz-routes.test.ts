// Property-based fuzzing (fast-check) of every JSON route of the edge app, built in-process with
// createApp over the in-memory store. The routes come from /openapi.json (so new routes are fuzzed as
// they land) plus the admin bootstrap route, which is not in the document. Bodies follow each route's
// published JSON schema with hostile values mixed in — wrong types, huge numbers, deep nesting, long
// strings, invalid UTF-8 bytes, lone surrogates, control characters, prototype-pollution keys — and some
// are not JSON at all. Properties checked for every request: no 5xx, no hang (a time bound), every 4xx
// is exactly {error:{code,message}}, and a rejected request changes no state (tenants, API keys,
// watermark keys, audit rows; Object.prototype never polluted).
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MemoryStore } from '../../worker/src/store.ts'
import {
  ADMIN_TOKEN,
  type App,
  call,
  callWithin,
  createApp,
  envelopeProblems,
  memoryDeps,
  newTenant,
  openApi,
  prototypePollution,
  type Reply,
  settled,
} from './harness.ts'
import { type Body, bodies, fuzzContext, pathIds, type RouteTarget, routeTargets } from './arbitraries.ts'

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000)
const SEED = 20_261_128
/** No single request may take longer (2 busy cores; the slowest legitimate ones score ~50k tokens). */
const REQUEST_BOUND_MS = 5000

// ---- The app under test

const deps = memoryDeps()
const store = deps.store as MemoryStore
/**
 * Every write the store takes, in order. MemoryStore changes state only through these methods, so
 * "a rejected request changed nothing" is "the journal did not grow" (revokeKey counts only when it
 * changed a key). Cheaper than serialising the store around each of the 100,000 requests.
 */
const journal: string[] = []
for (const method of [
  'createTenant',
  'createApiKey',
  'createKey',
  'insertDetection',
  'recordGeneration',
] as const) {
  const original = store[method].bind(store) as (...a: unknown[]) => Promise<unknown>
  ;(store as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    const out = await original(...args)
    if (out !== null) journal.push(method) // null: nothing written (createApiKey for no such tenant)
    return out
  }
}
const revoke = store.revokeKey.bind(store)
store.revokeKey = async (tenantId, keyId) => {
  const before = JSON.stringify(await store.getKey(tenantId, keyId))
  const out = await revoke(tenantId, keyId)
  if (JSON.stringify(out) !== before) journal.push('revokeKey')
  return out
}
const app: App = createApp(deps)
// The routes of this version of the app, from its OpenAPI document: tests are named from it.
const doc = await openApi(app)
let actor: string
let victim: string
let victimKeyIds: string[]
let actorKeyIds: string[]
const stats: Record<
  string,
  {
    statuses: Record<number, number>
    labels: Record<string, number>
    maxMs: number
    ms: number
    checkMs: number
  }
> = {}

beforeAll(async () => {
  victim = await newTenant(app, 'victim')
  victimKeyIds = []
  for (const scheme of ['kgw-lefthash', 'vllm-gumbel']) {
    const r = await call(app, 'POST', '/v1/keys', { key: victim, body: { scheme } })
    victimKeyIds.push(r.body.id)
  }
})

afterAll(() => {
  for (const [route, s] of Object.entries(stats)) {
    console.log(
      `${route}: ${JSON.stringify(s.statuses)} max ${s.maxMs.toFixed(0)} ms, requests ${(s.ms / 1000).toFixed(1)} s of ${(s.checkMs / 1000).toFixed(1)} s; bodies ${JSON.stringify(s.labels)}`,
    )
  }
})

/** Sends one request with a hard deadline: a hang fails the property instead of the test timing out. */
function send(method: string, path: string, body: Body | undefined, key: string): Promise<Reply> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` }
  if (body?.type) headers['content-type'] = body.type
  return callWithin(REQUEST_BOUND_MS * 2, app, method, path, { headers, raw: body?.bytes })
}

// Experiments exist only with PostgreSQL and a queue (503 experiments_unavailable here, by design):
// fuzz-postgres.test.ts fuzzes each of their routes with 10,000 bodies, with the same properties.
const targets = () => routeTargets(doc).filter((t) => !t.route.includes('/v1/experiments'))

describe('fuzzing every JSON route', () => {
  it('finds the routes to fuzz in the OpenAPI document', () => {
    const routes = targets().map((t) => t.route)
    for (const r of [
      'POST /v1/detect',
      'POST /v1/detect/batch',
      'POST /v1/keys',
      'POST /v1/keys/{id}/rotate',
      'POST /admin/tenants',
      'POST /admin/tenants/{id}/api-keys',
    ])
      expect(routes).toContain(r)
  })

  it.each(targets().map((t) => t.route))(
    '%s: no 5xx, no hang, error envelope, rejected requests change nothing',
    async (route) => {
      const target = targets().find((x) => x.route === route) as RouteTarget
      // A tenant of its own for each route, with one key of each kind detection and generation use.
      const boot = await call(app, 'POST', '/admin/tenants', {
        key: ADMIN_TOKEN,
        body: { name: `actor ${route}` },
      })
      actor = boot.body.apiKey
      const actorTenantId = boot.body.tenant.id as string
      actorKeyIds = []
      for (const scheme of ['kgw-lefthash', 'unigram']) {
        actorKeyIds.push((await call(app, 'POST', '/v1/keys', { key: actor, body: { scheme } })).body.id)
      }
      const ctx = fuzzContext(doc, [...victimKeyIds, ...actorKeyIds, actorTenantId, ADMIN_TOKEN.slice(0, 8)])
      const st = {
        statuses: {} as Record<number, number>,
        labels: {} as Record<string, number>,
        maxMs: 0,
        ms: 0,
        checkMs: 0,
      }
      stats[route] = st
      const arb = fc.tuple(
        target.schema || target.method === 'POST'
          ? bodies(target.schema, ctx, deps.maxBodyBytes)
          : fc.constant(undefined),
        target.hasId ? pathIds(ctx.interesting) : fc.constant(''),
      )
      const tCheck = performance.now()
      const result = await fc.check(
        fc.asyncProperty(arb, async ([body, id]) => {
          await settled() // earlier requests' background writes land before the count
          const before = journal.length
          const t0 = performance.now()
          const r = await send(target.method, target.path(id), body, target.admin ? ADMIN_TOKEN : actor)
          const ms = performance.now() - t0
          st.ms += ms
          st.maxMs = Math.max(st.maxMs, ms)
          st.statuses[r.status] = (st.statuses[r.status] ?? 0) + 1
          if (body) st.labels[body.label] = (st.labels[body.label] ?? 0) + 1
          const what = `${target.method} ${target.path(id).slice(0, 200)} [${body?.label}] → ${r.status} ${r.text.slice(0, 300)}`
          expect(r.status, what).toBeLessThan(500)
          expect(ms, `${what}: took ${ms.toFixed(0)} ms`).toBeLessThan(REQUEST_BOUND_MS)
          if (r.status >= 400) {
            expect(envelopeProblems(r), what).toEqual([])
            await settled() // background writes (waitUntil) would have landed now
            expect(journal.slice(before), `${what}: a rejected request changed state`).toEqual([])
          } else {
            expect(target.ok, what).toContain(r.status)
          }
          expect(prototypePollution(), what).toEqual([])
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      )
      st.checkMs = performance.now() - tCheck
      if (result.failed) {
        throw new Error(
          `${route}: ${result.counterexample ? JSON.stringify(result.counterexample).slice(0, 600) : ''}\n${String(result.errorInstance)}`,
        )
      }
      expect(result.numRuns).toBe(RUNS)
      // The generator reaches past validation: rejections, and (for routes that can succeed) successes.
      expect(Object.keys(st.statuses).some((s) => Number(s) >= 400)).toBe(true)
      if (!target.hasId || target.admin)
        expect(
          Object.keys(st.statuses).some((s) => Number(s) < 300),
          JSON.stringify(st),
        ).toBe(true)
      // The victim's keys are exactly the two created at the start, untouched.
      const victimKeys = await call(app, 'GET', '/v1/keys', { key: victim })
      expect(victimKeys.body.keys.map((k: { id: string; status: string }) => [k.id, k.status])).toEqual(
        victimKeyIds.map((id) => [id, 'active']),
      )
    },
  )
})
