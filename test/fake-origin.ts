// A fake generation origin for the edge's tests (the only fake the edge's tests allow): a Node HTTP
// server on 127.0.0.1 that speaks the protocol of core/generation/protocol.ts deterministically,
// checks the edge's signatures with the real verifier, and misbehaves on demand.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type GenerateRequest,
  GenerateRequestSchema,
  type GenerateResult,
} from '../core/generation/protocol.ts'
import { NonceCache, type SignatureFailure, verifyRequest } from '../core/keys/request-signing.ts'
import { memoryCache } from '../worker/adapters/cache.ts'
import type { AppDeps } from '../worker/src/app.ts'
import type { OriginClient } from '../worker/src/origin-client.ts'
import { memoryRateLimiter } from '../worker/src/rate-limit.ts'
import type { Store } from '../worker/src/store.ts'

export type FakeMode =
  /** Streams `tokens` tokens, then done. */
  | 'ok'
  /** Waits `delayMs` before the response headers. */
  | 'slow'
  /** 503 with Retry-After: 7. */
  | 'busy'
  /** 500 with an error envelope. */
  | 'fail'
  /** 400 with the origin's error envelope (e.g. an unknown model). */
  | 'reject'
  /** Two tokens, then an `error` event. */
  | 'error-mid'
  /** Two tokens, then the connection is destroyed. */
  | 'cut-mid'
  /** Two tokens, then silence with the connection open. */
  | 'stall-mid'
  /** One token, then waits for release() before the rest (proves the edge does not buffer). */
  | 'hold'
  /** Like 'ok', but reports (and applies) no watermark whatever was asked. */
  | 'ignore-watermark'

export interface SeenRequest {
  method: string
  path: string
  body: string
  /** Null when the signature verified. */
  signature: SignatureFailure | null
  request: GenerateRequest | null
}

export interface FakeOrigin {
  url: string
  mode: FakeMode
  /** Tokens per generation in 'ok' mode (fewer when sampling.maxTokens is smaller). */
  tokens: number
  delayMs: number
  readonly requests: SeenRequest[]
  /** Streams the edge closed before the fake finished them (cancellation reached the origin). */
  readonly abandoned: number
  /** Lets a 'hold' stream continue. */
  release(): void
  close(): Promise<void>
}

const WORDS = ['the', 'jury', 'said', 'that', 'city', 'of', 'atlanta', 'election', 'was', 'conducted']

/** The token the fake emits at `index` for a request: deterministic in (seed, index). */
export function fakeToken(req: GenerateRequest, index: number) {
  const w = ((req.sampling.seed ?? 0) + index) % WORDS.length
  return { index, token: 1000 + w, text: ` ${WORDS[w]}` }
}

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function startFakeOrigin(secret: string, port = 0): Promise<FakeOrigin> {
  const nonces = new NonceCache()
  const sockets = new Set<import('node:net').Socket>()
  let releaseHold: () => void = () => {}
  let abandoned = 0
  const state = { mode: 'ok' as FakeMode, tokens: 5, delayMs: 0 }
  const requests: SeenRequest[] = []

  async function generate(req: GenerateRequest, res: http.ServerResponse) {
    const mode = state.mode
    if (mode === 'slow') await sleep(state.delayMs)
    if (mode === 'busy') return void res.writeHead(503, { 'retry-after': '7' }).end('{"error":{}}')
    if (mode === 'fail')
      return void res
        .writeHead(500)
        .end(JSON.stringify({ error: { code: 'engine_crashed', message: 'boom' } }))
    if (mode === 'reject')
      return void res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'model_not_found', message: `no model "${req.model}"` } }))
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    let finished = false
    res.on('close', () => {
      if (!finished) abandoned++
    })
    const full = ['ok', 'slow', 'hold', 'ignore-watermark'].includes(mode)
    const n = full ? Math.min(state.tokens, req.sampling.maxTokens) : 2
    let text = ''
    const tokens: number[] = []
    for (let i = 0; i < n; i++) {
      const t = fakeToken(req, i)
      text += t.text
      tokens.push(t.token)
      res.write(frame('token', t))
      if (mode === 'hold' && i === 0) await new Promise<void>((r) => (releaseHold = r))
      if (res.destroyed) return
    }
    if (mode === 'error-mid') {
      finished = true
      return void res.end(frame('error', { error: { code: 'engine_failed', message: 'the model crashed' } }))
    }
    if (mode === 'cut-mid') {
      // Let the tokens reach the edge first: destroy() drops whatever is still queued.
      await new Promise((r) => res.write('', r))
      await sleep(20)
      return void res.socket?.destroy()
    }
    if (mode === 'stall-mid') return // the edge's idle timeout has to notice
    const promptTokens = req.prompt
      ? req.prompt.split(/\s+/).filter(Boolean).length
      : req.messages!.reduce((s, m) => s + m.content.split(/\s+/).filter(Boolean).length + 2, 0)
    const result: GenerateResult = {
      id: 'origin-internal-id',
      model: req.model ?? 'brown-lm',
      text,
      tokens,
      finishReason: n === req.sampling.maxTokens ? 'length' : 'eos',
      usage: { promptTokens, completionTokens: n },
      watermark:
        req.watermark && mode !== 'ignore-watermark'
          ? { keyId: req.watermark.keyId, scheme: req.watermark.scheme }
          : null,
      timing: { firstTokenMs: 1, totalMs: 2, tokensPerSecond: 1000 },
    }
    finished = true
    res.end(frame('done', result))
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const headers = {
        get: (name: string) => (req.headers[name.toLowerCase()] as string | undefined) ?? null,
      }
      const signature = await verifyRequest(secret, req.method!, req.url!, body, headers, nonces)
      const parsed = req.method === 'POST' ? GenerateRequestSchema.safeParse(JSON.parse(body || '{}')) : null
      requests.push({
        method: req.method!,
        path: req.url!,
        body,
        signature,
        request: parsed?.success ? parsed.data : null,
      })
      if (signature) return void res.writeHead(401).end('{"error":{"code":"unauthorized","message":"bad"}}')
      if (req.method === 'GET' && req.url === '/health') return void res.writeHead(200).end('{"status":"ok"}')
      if (req.method !== 'POST' || req.url !== '/v1/generate' || !parsed?.success)
        return void res.writeHead(400).end('{"error":{"code":"invalid_request","message":"bad request"}}')
      await generate(parsed.data, res)
    })
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get mode() {
      return state.mode
    },
    set mode(m) {
      state.mode = m
    },
    get tokens() {
      return state.tokens
    },
    set tokens(n) {
      state.tokens = n
    },
    get delayMs() {
      return state.delayMs
    },
    set delayMs(ms) {
      state.delayMs = ms
    },
    requests,
    get abandoned() {
      return abandoned
    },
    release: () => releaseHold(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** A URL where nothing listens (a port that was just bound and released). */
export async function deadOriginUrl(): Promise<string> {
  const server = http.createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((r) => server.close(() => r()))
  return `http://127.0.0.1:${port}`
}

/**
 * The edge's dependencies for tests of the generation routes: the given store and origin client, an
 * in-memory cache and a generous limiter; no tokenizer or kernel (generation never needs them).
 */
export function generationDeps(store: Store, origin: OriginClient, extra: Partial<AppDeps> = {}): AppDeps {
  const unused = () => Promise.reject(new Error('generation needs no tokenizer or kernel'))
  return {
    openStore: () => store,
    cache: memoryCache(),
    tokenizer: unused,
    kernel: unused,
    masterSecret: 'master-secret-for-tests-0123456789',
    revokedGraceSeconds: 3600,
    maxTokens: 8192,
    adminToken: null,
    maxBodyBytes: 256 * 1024,
    rateLimiter: memoryRateLimiter(10_000),
    checks: {},
    origin,
    ...extra,
  }
}
