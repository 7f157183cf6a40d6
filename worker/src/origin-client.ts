// The edge's client for the generation origin: signed requests (core/keys/request-signing.ts), a
// first-byte timeout, an idle timeout while streaming, a circuit breaker, and the origin's SSE events
// handed on one by one as they arrive. It always asks the origin to stream, so a long generation
// still answers within the first-byte timeout and a stalled one is noticed between tokens.
import { z } from 'zod'
import type {
  GenerateEvent,
  GenerateRequest,
  GenerateResult,
  ScoreRequest,
  ScoreResult,
} from '../../core/generation/protocol.ts'
import { signRequest } from '../../core/keys/request-signing.ts'
import { CircuitBreaker, type BreakerOptions } from './circuit-breaker.ts'
import { ApiError } from './errors.ts'
import { SseDecoder } from './sse.ts'
import { continueTrace, formatTraceparent, parseTraceparent } from './trace-context.ts'

/** How a generation ended, as recorded (generations.outcome). */
export type GenerationOutcome =
  | 'success'
  | 'error'
  | 'timeout'
  | 'unavailable'
  | 'busy'
  | 'cut'
  | 'cancelled'
  | 'rejected'

/** A failure talking to the origin: rendered as the error envelope, recorded with its outcome. */
export class OriginError extends ApiError {
  constructor(
    status: ApiError['status'],
    code: string,
    message: string,
    readonly outcome: GenerationOutcome,
    headers: Record<string, string> = {},
  ) {
    super(status, code, message, headers)
  }
}

export interface OriginClientOptions extends BreakerOptions {
  /** Base URL of the origin, e.g. http://127.0.0.1:8788. */
  url: string
  /** Shared HMAC secret; signs every request, never sent. */
  signingSecret: string
  /** Connect + queue + response headers (default 15 s). */
  timeoutMs?: number
  /** Longest silence between two chunks of a stream (default 60 s). */
  idleTimeoutMs?: number
  fetch?: typeof fetch
}

/** Per-call options of the origin client. */
export interface OriginCallOptions {
  /**
   * The caller's W3C `traceparent` (the edge's hop, worker/src/trace-context.ts): sent on (as version
   * 00), so the origin's spans join the caller's trace. Absent or invalid: a new trace starts here.
   */
  traceparent?: string
}

export interface OriginGeneration {
  /** The origin's events in order, ending with `done` or `error`; throws OriginError if cut. */
  events: AsyncGenerator<GenerateEvent>
  /** Stops the origin's work (closes the connection). */
  cancel(): void
}

export interface OriginClient {
  /** Starts a generation; throws OriginError when the origin is refused, down, busy or rejects it. */
  generate(
    request: GenerateRequest,
    signal?: AbortSignal,
    options?: OriginCallOptions,
  ): Promise<OriginGeneration>
  /** Runs a generation to its end: the `done` result, or the OriginError of its `error` event. */
  complete(
    request: GenerateRequest,
    signal?: AbortSignal,
    options?: OriginCallOptions,
  ): Promise<GenerateResult>
  /** Per-token log-probabilities and perplexity of a text under the origin's model (POST /v1/score). */
  score(request: ScoreRequest, signal?: AbortSignal, options?: OriginCallOptions): Promise<ScoreResult>
  /** Resolves when the origin's /health answers 2xx within the timeout. */
  health(): Promise<void>
  readonly breaker: CircuitBreaker
}

const TokenEvent = z.object({ index: z.number().int(), token: z.number().int(), text: z.string() })
const DoneEvent = z
  .object({
    id: z.string(),
    model: z.string(),
    text: z.string(),
    tokens: z.array(z.number().int()),
    finishReason: z.enum(['stop', 'length', 'eos']),
    usage: z.object({ promptTokens: z.number().int().min(0), completionTokens: z.number().int().min(0) }),
    watermark: z.object({ keyId: z.string(), scheme: z.string() }).nullable(),
    timing: z.object({
      loadMs: z.number().optional(),
      firstTokenMs: z.number(),
      totalMs: z.number(),
      tokensPerSecond: z.number(),
    }),
  })
  .loose()
const ErrorEnvelope = z.object({ error: z.object({ code: z.string().max(100), message: z.string() }) })

const clip = (s: string) => (s.length > 500 ? `${s.slice(0, 500)}…` : s)
const retryAfter = (value: string | null) => {
  const s = Number(value)
  return String(Number.isFinite(s) && s >= 1 ? Math.min(Math.ceil(s), 3600) : 1)
}

const protocolError = (message: string) => new OriginError(502, 'origin_protocol_error', message, 'error')
const cancelled = () => new OriginError(502, 'cancelled', 'the request was cancelled', 'cancelled')
const timeout = (message: string) => new OriginError(504, 'origin_timeout', message, 'timeout')

function parseEvent(event: string, data: string): GenerateEvent | null {
  const schema =
    event === 'token' ? TokenEvent : event === 'done' ? DoneEvent : event === 'error' ? ErrorEnvelope : null
  if (!schema) return null // unknown events are the origin's to add; comments keep-alive
  let json: unknown
  try {
    json = JSON.parse(data)
  } catch {
    json = undefined
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) throw protocolError(`the origin sent a malformed "${event}" event`)
  return { event, data: parsed.data } as GenerateEvent
}

const ScoreResultSchema = z.object({
  model: z.string(),
  tokens: z.array(z.number().int()),
  logprobs: z.array(z.number().nullable()),
  entropies: z.array(z.number()),
  perplexity: z.number().nullable(),
})

/** The error for an origin answer that is not an event stream, and whether it shows the origin alive. */
function notAStream(res: Response, body: string): { error: OriginError; alive: boolean } {
  if (res.status === 503 || res.status === 429)
    // Busy is backpressure from a live origin, not a failure.
    return {
      alive: true,
      error: new OriginError(
        503,
        'origin_busy',
        'the generation origin is at capacity; retry later',
        'busy',
        {
          'retry-after': retryAfter(res.headers.get('retry-after')),
        },
      ),
    }
  if (res.ok) return { alive: false, error: protocolError('the origin did not answer with an event stream') }
  if (res.status >= 500)
    return {
      alive: false,
      error: new OriginError(
        502,
        'origin_error',
        `the generation origin failed (HTTP ${res.status})`,
        'error',
      ),
    }
  if (res.status === 401 || res.status === 403)
    // The edge's own configuration (signing secret, clock) is wrong: not the client's fault.
    return {
      alive: true,
      error: new OriginError(
        502,
        'origin_rejected_signature',
        'the origin rejected the edge’s signature',
        'error',
      ),
    }
  let envelope: z.infer<typeof ErrorEnvelope> | null = null
  try {
    envelope = ErrorEnvelope.parse(JSON.parse(body))
  } catch {
    envelope = null
  }
  const message = envelope?.error.message ?? `the origin rejected the request (HTTP ${res.status})`
  return {
    alive: true,
    error: new OriginError(
      res.status as ApiError['status'],
      envelope?.error.code ?? 'origin_rejected',
      clip(message),
      'rejected',
    ),
  }
}

/**
 * A client with its own breaker; create one per isolate (module scope in the Worker) so the breaker
 * sees every request the isolate sends.
 *
 * @example
 * const origin = createOriginClient({ url: 'http://127.0.0.1:8788', signingSecret })
 * const gen = await origin.generate(GenerateRequestSchema.parse({ prompt: 'Once', stream: true }))
 * for await (const ev of gen.events) console.log(ev.event)
 */
export function createOriginClient(options: OriginClientOptions): OriginClient {
  const base = new URL(options.url)
  if (!/^https?:$/.test(base.protocol)) throw new Error(`ORIGIN_URL must be http(s), got ${base.protocol}`)
  if (options.signingSecret.length < 16)
    throw new Error('ORIGIN_SIGNING_SECRET must be at least 16 characters')
  const timeoutMs = options.timeoutMs ?? 15_000
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init))
  const breaker = new CircuitBreaker(options)
  const pathOf = (p: string) => `${base.pathname.replace(/\/$/, '')}${p}`

  /**
   * Sends a signed request; resolves at the response headers or throws OriginError (timeout / down).
   * Every request carries a valid `traceparent`; the signature covers method, path and body only.
   */
  async function send(
    method: string,
    path: string,
    body: string,
    controller: AbortController,
    call: OriginCallOptions = {},
  ) {
    const traceparent = formatTraceparent(parseTraceparent(call.traceparent) ?? continueTrace(null))
    const headers: Record<string, string> = {
      ...(await signRequest(options.signingSecret, method, path, body)),
      ...(body ? { 'content-type': 'application/json' } : {}),
      accept: 'text/event-stream, application/json',
      traceparent,
    }
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, timeoutMs)
    try {
      return await doFetch(new URL(path, base), {
        method,
        headers,
        body: body || undefined,
        signal: controller.signal,
      })
    } catch {
      if (timedOut) throw timeout(`the origin did not answer within ${timeoutMs} ms`)
      if (controller.signal.aborted) throw cancelled()
      throw new OriginError(
        503,
        'origin_unavailable',
        'the generation origin cannot be reached',
        'unavailable',
        {
          'retry-after': '1',
        },
      )
    } finally {
      clearTimeout(timer)
    }
  }

  async function* readEvents(res: Response, controller: AbortController): AsyncGenerator<GenerateEvent> {
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    const sse = new SseDecoder()
    let ended = false
    try {
      for (;;) {
        let timer: ReturnType<typeof setTimeout> | undefined
        const idle = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(timeout(`the origin sent nothing for ${idleTimeoutMs} ms`)),
            idleTimeoutMs,
          )
        })
        let chunk: ReadableStreamReadResult<Uint8Array>
        try {
          chunk = await Promise.race([reader.read(), idle])
        } finally {
          clearTimeout(timer)
        }
        const messages = chunk.done ? sse.end() : sse.push(decoder.decode(chunk.value, { stream: true }))
        for (const msg of messages) {
          const ev = parseEvent(msg.event, msg.data)
          if (!ev) continue
          if (ev.event !== 'token') ended = true
          yield ev
          if (ended) return
        }
        if (chunk.done) break
      }
      throw new OriginError(502, 'origin_stream_cut', 'the origin ended the stream before it finished', 'cut')
    } catch (e) {
      if (controller.signal.aborted && !(e instanceof OriginError)) throw cancelled()
      const err =
        e instanceof OriginError
          ? e
          : new OriginError(502, 'origin_stream_cut', 'the connection to the origin broke mid-stream', 'cut')
      if (err.outcome === 'cut' || err.outcome === 'timeout' || err.code === 'origin_protocol_error')
        breaker.failure()
      throw err
    } finally {
      // Closing the connection is how the origin learns to stop generating.
      if (!ended) controller.abort()
      reader.cancel().catch(() => undefined)
    }
  }

  async function generate(
    request: GenerateRequest,
    signal?: AbortSignal,
    call?: OriginCallOptions,
  ): Promise<OriginGeneration> {
    const refusal = breaker.admit()
    if (refusal)
      throw new OriginError(
        503,
        'origin_unavailable',
        `the generation origin is failing; retry in ${refusal.retryAfterSeconds} s`,
        'unavailable',
        { 'retry-after': String(refusal.retryAfterSeconds) },
      )
    const controller = new AbortController()
    const onAbort = () => controller.abort()
    signal?.addEventListener('abort', onAbort, { once: true })
    const settle = (ok: boolean | null) => {
      if (ok === true) breaker.success()
      else if (ok === false) breaker.failure()
      else breaker.release()
    }
    let res: Response
    try {
      res = await send(
        'POST',
        pathOf('/v1/generate'),
        JSON.stringify({ ...request, stream: true }),
        controller,
        call,
      )
    } catch (e) {
      settle((e as OriginError).outcome === 'cancelled' ? null : false)
      throw e
    }
    const type = res.headers.get('content-type') ?? ''
    if (res.ok && type.startsWith('text/event-stream') && res.body) {
      settle(true)
      return { events: readEvents(res, controller), cancel: onAbort }
    }
    const { error, alive } = notAStream(res, await res.text().catch(() => ''))
    settle(alive)
    throw error
  }

  async function complete(
    request: GenerateRequest,
    signal?: AbortSignal,
    call?: OriginCallOptions,
  ): Promise<GenerateResult> {
    const gen = await generate(request, signal, call)
    for await (const ev of gen.events) {
      if (ev.event === 'done') return ev.data
      if (ev.event === 'error')
        throw new OriginError(502, ev.data.error.code, `the origin failed: ${ev.data.error.message}`, 'error')
    }
    throw new OriginError(502, 'origin_stream_cut', 'the origin ended the stream before it finished', 'cut')
  }

  async function score(
    request: ScoreRequest,
    signal?: AbortSignal,
    call?: OriginCallOptions,
  ): Promise<ScoreResult> {
    const controller = new AbortController()
    signal?.addEventListener('abort', () => controller.abort(), { once: true })
    const res = await send('POST', pathOf('/v1/score'), JSON.stringify(request), controller, call)
    const body = await res.text().catch(() => '')
    if (!res.ok) throw notAStream(res, body).error
    const parsed = ScoreResultSchema.safeParse(JSON.parse(body || 'null'))
    if (!parsed.success) throw protocolError('the origin sent a malformed score result')
    return parsed.data
  }

  async function health() {
    const controller = new AbortController()
    const res = await send('GET', pathOf('/health'), '', controller)
    await res.body?.cancel()
    if (!res.ok) throw new Error(`origin health: HTTP ${res.status}`)
  }

  return { generate, complete, score, health, breaker }
}
