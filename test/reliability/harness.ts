// Shared setup for the reliability and security tests: the edge app built in-process (createApp) with
// the real core, WASM kernel and tokenizers, over the in-memory store or the real PostgreSQL through
// the production driver (@neondatabase/serverless via scripts/neon-ws-proxy.ts), and a fake generation
// origin speaking the origin's SSE protocol through the real origin client.
import pg from 'pg'
import WebSocket from 'ws'
import { loadTokenizer } from '../../cli/tokenizers-node.ts'
import { migrate } from '../../scripts/migrate.ts'
import { type NeonProxy, startNeonProxy } from '../../scripts/neon-ws-proxy.ts'
import { loadWasmKernel } from '../../wasm/node.ts'
import { type Cache, memoryCache } from '../../worker/adapters/cache.ts'
import { openExperimentStore } from '../../worker/adapters/experiments-db.ts'
import { configureNeonForLocalProxy } from '../../worker/adapters/neon.ts'
import { type AppDeps, createApp } from '../../worker/src/app.ts'
import { withAvailability } from '../../worker/src/db-availability.ts'
import type { ExperimentMessage } from '../../worker/src/experiments/consumer.ts'
import { createOriginClient, type OriginClient } from '../../worker/src/origin-client.ts'
import { openPostgresStore } from '../../worker/src/pg-store.ts'
import { memoryRateLimiter } from '../../worker/src/rate-limit.ts'
import { MemoryStore, type Store } from '../../worker/src/store.ts'
import { createTestDatabase } from '../integration/services.ts'

export const ADMIN_TOKEN = 'reliability-admin-token-7f3a9c1e5b'
export const MASTER_SECRET = 'reliability-master-secret-2d8e4b6a0c9f1357'
export const ORIGIN_SECRET = 'reliability-origin-signing-secret-91ab'

export type App = ReturnType<typeof createApp>

/** Deps like production's (maxTokens, body limit) with in-memory adapters and a limiter that never trips. */
export function memoryDeps(overrides: Partial<AppDeps> = {}): AppDeps & { store: MemoryStore } {
  const store = new MemoryStore()
  const cache: Cache = memoryCache()
  return {
    store,
    openStore: () => store,
    cache,
    tokenizer: async (id: string) => loadTokenizer(id),
    kernel: loadWasmKernel,
    masterSecret: MASTER_SECRET,
    revokedGraceSeconds: 3600,
    maxTokens: 16_384,
    adminToken: ADMIN_TOKEN,
    maxBodyBytes: 1024 * 1024,
    rateLimiter: memoryRateLimiter(1e12),
    checks: { cache: async () => cache.get('ping') },
    origin: fakeOrigin(),
    ...overrides,
  }
}

/**
 * A generation origin that answers every request with a short, well-formed SSE stream (two tokens,
 * then `done`, watermarked with the key the request asked for), through the real origin client
 * (signing, SSE decoding, circuit breaker).
 */
export function fakeOrigin(): OriginClient {
  const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
  return createOriginClient({
    url: 'http://origin.test',
    signingSecret: ORIGIN_SECRET,
    timeoutMs: 5000,
    fetch: async (_url, init) => {
      const request = JSON.parse(String(init?.body ?? '{}')) as {
        watermark?: { keyId: string; scheme: string }
      }
      const watermark = request.watermark
        ? { keyId: request.watermark.keyId, scheme: request.watermark.scheme }
        : null
      const body =
        frame('token', { index: 0, token: 785, text: 'The' }) +
        frame('token', { index: 1, token: 3974, text: ' end' }) +
        frame('done', {
          id: 'or_1',
          model: 'fake-model',
          text: 'The end',
          tokens: [785, 3974],
          finishReason: 'stop',
          usage: { promptTokens: 3, completionTokens: 2 },
          watermark,
          timing: { firstTokenMs: 1, totalMs: 2, tokensPerSecond: 1000 },
        })
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } })
    },
  })
}

export interface Reply {
  status: number
  headers: Headers
  text: string
  body: any
}

export interface CallOptions {
  key?: string
  body?: unknown
  /** A body sent as is (a string, or raw bytes that need not be UTF-8). */
  raw?: string | Uint8Array
  type?: string
  headers?: Record<string, string>
}

const background = new Set<Promise<unknown>>()
/**
 * The Workers execution context, as workerd gives it: every request's background work (audit rows,
 * cache writes, the end of its Postgres pool) is handed to waitUntil, and `settled()` waits for it.
 */
export const executionCtx = {
  waitUntil(p: Promise<unknown>) {
    background.add(p)
    p.catch(() => undefined).finally(() => background.delete(p))
  },
  passThroughOnException() {},
  props: {},
}

/** Waits until every request's background work has settled (in rounds: work may start more work). */
export async function settled(): Promise<void> {
  for (let i = 0; i < 100 && background.size > 0; i++) await Promise.allSettled([...background])
}

/** One request through app.request (no network); the body is parsed when it is JSON. */
export async function call(app: App, method: string, path: string, opts: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers }
  if (opts.key) headers.authorization = `Bearer ${opts.key}`
  const body = opts.raw ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined)
  if (body !== undefined) headers['content-type'] ??= opts.type ?? 'application/json'
  const res = await app.request(
    path,
    { method, headers, body: body as BodyInit | undefined },
    undefined,
    executionCtx,
  )
  const text = await res.text()
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  return { status: res.status, headers: res.headers, text, body: parsed }
}

/** The problems with an error body (empty when it is exactly `{error:{code,message}}` with strings). */
export function envelopeProblems(r: Reply): string[] {
  const b = r.body
  const problems: string[] = []
  if (!r.headers.get('content-type')?.startsWith('application/json')) problems.push('not application/json')
  if (!b || typeof b !== 'object' || Array.isArray(b))
    return [...problems, `body is not an object: ${r.text}`]
  if (Object.keys(b).join() !== 'error') problems.push(`top-level keys ${Object.keys(b).join()}`)
  const e = b.error
  if (!e || typeof e !== 'object') return [...problems, 'no error object']
  if (Object.keys(e).sort().join() !== 'code,message') problems.push(`error keys ${Object.keys(e).join()}`)
  if (typeof e.code !== 'string' || !/^[a-z_]{1,64}$/.test(e.code)) problems.push(`code ${e.code}`)
  if (typeof e.message !== 'string' || e.message.length === 0) problems.push('empty message')
  return problems
}

/** Creates a tenant through the admin route; returns its API key. */
export async function newTenant(app: App, name: string): Promise<string> {
  const r = await call(app, 'POST', '/admin/tenants', { key: ADMIN_TOKEN, body: { name } })
  if (r.status !== 201) throw new Error(`tenant bootstrap failed: ${r.status} ${r.text}`)
  return r.body.apiKey as string
}

/** The app's OpenAPI document (so tests cover whichever routes exist when they run). */
export async function openApi(app: App): Promise<any> {
  return (await app.request('/openapi.json')).json()
}

/**
 * A fresh, migrated database, the Neon proxy in front of it, and the driver pointed at the proxy.
 * `sql` goes to Postgres directly (not through the proxy), so it works while the proxy is stopped.
 */
export async function postgresFixture(): Promise<{
  url: string
  proxy: NeonProxy
  sql(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>
  /** Stops the proxy: the app's database is unreachable until startProxy(). */
  stopProxy(): Promise<void>
  /** Starts the proxy again on the same port. */
  startProxy(): Promise<void>
  close(): Promise<void>
}> {
  const db = await createTestDatabase()
  const pool = new pg.Pool({ connectionString: db.url, max: 2 })
  pool.on('error', () => {})
  await migrate(pool as never)
  let proxy = await startNeonProxy({ log: () => {} })
  let running = true
  configureNeonForLocalProxy({ proxy: proxy.url, webSocketConstructor: WebSocket, coalesceWrites: false })
  return {
    url: db.url,
    get proxy() {
      return proxy
    },
    sql: async (text, params) => (await pool.query(text, params)).rows,
    async stopProxy() {
      if (running) await proxy.close()
      running = false
    },
    async startProxy() {
      if (!running) proxy = await startNeonProxy({ port: proxy.port, log: () => {} })
      running = true
    },
    async close() {
      await pool.end()
      if (running) await proxy.close()
      running = false
      await db.drop()
    },
  }
}

/**
 * Deps over the real Postgres store (a Neon pool per request, ended after the response). `drain()`
 * waits for every request's background work (audit rows, then the pool's end).
 */
export function postgresDeps(
  url: string,
  overrides: Partial<AppDeps> = {},
): AppDeps & { drain(): Promise<void>; queued: ExperimentMessage[] } {
  // Experiments on the real PostgreSQL; the queue producer records what it was sent (the consumer
  // path through a real queue is tested on the whole stack, test/stack.test.ts).
  const queued: ExperimentMessage[] = []
  return {
    ...memoryDeps({
      openStore: (waitUntil): Store => openPostgresStore(url, 3600, waitUntil),
      experiments: {
        open: () => withAvailability(openExperimentStore(url)),
        queue: {
          sendBatch: async (messages) => {
            for (const m of messages) queued.push(m.body)
          },
        },
        allowFaultInjection: false,
      },
      ...overrides,
    }),
    drain: settled,
    queued,
  }
}

/** fakeOrigin() that counts the generations it was asked for (`calls`). */
export function countingOrigin(): OriginClient & { readonly calls: number } {
  const origin = fakeOrigin()
  let calls = 0
  return {
    ...origin,
    generate: (...args) => {
      calls++
      return origin.generate(...args)
    },
    get calls() {
      return calls
    },
  }
}

/** Polls until `check` resolves true (effects written after the response, through waitUntil). */
export async function until(check: () => Promise<boolean>, timeoutMs = 10_000, stepMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, stepMs))
  }
}

/**
 * `call` with a hard deadline: a hang fails the fuzzing property that sent it, instead of the whole
 * test timing out without saying which request hung.
 */
export async function callWithin(
  deadlineMs: number,
  app: App,
  method: string,
  path: string,
  opts: CallOptions = {},
): Promise<Reply> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${deadlineMs} ms`)), deadlineMs)
  })
  try {
    return await Promise.race([call(app, method, path, opts), deadline])
  } finally {
    clearTimeout(timer)
  }
}

const prototypeNames = () =>
  [Object.prototype, Array.prototype, Function.prototype].map((p) =>
    Object.getOwnPropertyNames(p).sort().join(),
  )
const PROTOTYPES_AT_LOAD = prototypeNames()

/** What a request added to the built-in prototypes (`__proto__` / `constructor` pollution): empty when clean. */
export function prototypePollution(): string[] {
  const now = prototypeNames()
  const added = now.flatMap((names, i) =>
    names === PROTOTYPES_AT_LOAD[i] ? [] : [`prototype ${i}: ${names}`],
  )
  if (({} as Record<string, unknown>).polluted !== undefined) added.push('Object.prototype.polluted')
  return added
}

export { createApp }
