// Generation for a tenant: pick the watermark key (the tenant's own only), forward the request to the
// origin, hand its events on as they arrive, and record the outcome after the response. A stream the
// origin cuts ends with an error event, never as if it were complete.
import type { z } from '@hono/zod-openapi'
import {
  type GenerateEvent,
  type GenerateRequest,
  GenerateRequestSchema,
  type GenerateResult,
  type WatermarkSpec,
} from '../../core/generation/protocol.ts'
import { auditBuffer } from './audit-buffer.ts'
import { ApiError, errorBody } from './errors.ts'
import { newId } from './keys.ts'
import { type GenerationOutcome as MetricOutcome, recordGeneration } from './metrics/index.ts'
import { currentTraceparent, SpanKind, withSpan } from './metrics/trace.ts'
import { type GenerationOutcome, type OriginClient, OriginError } from './origin-client.ts'
import type { GenerateBodySchema } from './schemas.ts'
import { SSE_HEADERS, sseFrame } from './sse.ts'
import type { GenerationRecord, Store, Tenant } from './store.ts'

/** `keyId` value that asks for plain, unwatermarked sampling. */
export const NO_WATERMARK = 'none'

export interface GenerationContext {
  origin: OriginClient | null | undefined
  store: Store
  tenant: Tenant
  waitUntil(p: Promise<unknown>): void
  /** The client's request signal: the origin's work stops when the client goes away. */
  signal?: AbortSignal
  /** The edge's hop in the request's W3C trace (`c.get('traceparent')`): the origin continues it. */
  traceparent?: string
  endpoint: GenerationRecord['endpoint']
}

export interface Generation {
  /** The edge's id: the response id and the generations row id. */
  id: string
  watermark: WatermarkSpec | null
  /** Token events, then exactly one `done` or `error` event; never throws. */
  events: AsyncGenerator<GenerateEvent>
  cancel(): void
}

/**
 * The watermark for a request: an explicit key id (this tenant's, active), "none", or by default the
 * tenant's newest active key. Another tenant's key is 404, exactly like a key that does not exist.
 */
export async function resolveWatermark(
  store: Store,
  tenant: Tenant,
  keyId: string | undefined,
): Promise<WatermarkSpec | null> {
  if (keyId === NO_WATERMARK) return null
  if (keyId !== undefined) {
    const rec = await store.getKey(tenant.id, keyId)
    if (!rec) throw new ApiError(404, 'key_not_found', `no watermark key "${keyId}" for this tenant`)
    // Revoked keys stay detectable for the grace period, but new text must not carry them.
    if (rec.status !== 'active')
      throw new ApiError(410, 'key_revoked', `key "${keyId}" was revoked; generate with an active key`)
    return { keyId: rec.id, scheme: rec.scheme, params: rec.params }
  }
  const active = (await store.listKeys(tenant.id)).filter((k) => k.status === 'active')
  if (active.length === 0)
    throw new ApiError(
      422,
      'no_active_keys',
      `this tenant has no active watermark key; create one with POST /v1/keys, or send keyId "${NO_WATERMARK}"`,
    )
  // Stable sort: among equal timestamps the later-listed (later-created) key wins.
  const newest = active.reduce((a, b) => (Date.parse(b.createdAt) >= Date.parse(a.createdAt) ? b : a))
  return { keyId: newest.id, scheme: newest.scheme, params: newest.params }
}

/** The metric's coarser outcome label (watermark_generations_total). */
const METRIC_OUTCOME: Record<GenerationOutcome, MetricOutcome> = {
  success: 'success',
  timeout: 'timeout',
  cancelled: 'cancelled',
  busy: 'rejected',
  rejected: 'rejected',
  error: 'error',
  unavailable: 'error',
  cut: 'error',
}

/** HTTP status for an error event's code when the client is not streaming. */
export function statusForCode(code: string): ApiError['status'] {
  if (code === 'origin_timeout') return 504
  if (code === 'origin_unavailable' || code === 'origin_busy') return 503
  return 502
}

/**
 * Starts a generation at the origin. Refusals (origin down, busy, breaker open, request rejected)
 * throw ApiError before any byte is sent; afterwards every ending arrives as an event.
 */
export async function startGeneration(ctx: GenerationContext, request: GenerateRequest): Promise<Generation> {
  const origin = ctx.origin
  if (!origin)
    throw new ApiError(503, 'origin_not_configured', 'generation is not configured on this deployment')
  const t0 = Date.now()
  const id = newId('gn')
  const watermark = request.watermark
  const stream = request.stream
  let settle!: (rec: GenerationRecord) => void
  const recorded = new Promise<GenerationRecord>((resolve) => {
    settle = resolve
  })
  // Registered now, so the per-request store stays open until the row is written after the stream.
  ctx.waitUntil(
    // Retried; parked in the isolate if the database is down, written by a later request.
    recorded.then((rec) => auditBuffer.write(ctx.store, { kind: 'generation', row: rec })),
  )
  let finished = false
  const finish = (outcome: GenerationOutcome, fields: Partial<GenerationRecord> = {}) => {
    if (finished) return
    finished = true
    recordGeneration(watermark?.scheme ?? NO_WATERMARK, METRIC_OUTCOME[outcome])
    settle({
      id,
      tenantId: ctx.tenant.id,
      keyId: watermark?.keyId ?? null,
      scheme: watermark?.scheme ?? null,
      model: request.model ?? null,
      endpoint: ctx.endpoint,
      stream,
      promptTokens: null,
      completionTokens: 0,
      latencyMs: Date.now() - t0,
      firstTokenMs: null,
      finishReason: null,
      outcome,
      errorCode: null,
      ...fields,
      text: ctx.tenant.storeText ? (fields.text ?? null) : null,
    })
  }

  let upstream: Awaited<ReturnType<OriginClient['generate']>>
  try {
    // The span covers the call up to the origin's response headers; the stream is observed below.
    upstream = await withSpan(
      'origin.generate',
      { 'wmlab.model': request.model ?? 'default', 'wmlab.scheme': watermark?.scheme ?? NO_WATERMARK },
      () =>
        origin.generate(request, ctx.signal, {
          traceparent: ctx.traceparent && currentTraceparent(ctx.traceparent),
        }),
      SpanKind.CLIENT,
    )
  } catch (e) {
    const err = e instanceof OriginError ? e : null
    finish(err?.outcome ?? 'error', { errorCode: err?.code ?? 'internal_error' })
    throw e
  }

  async function* observe(): AsyncGenerator<GenerateEvent> {
    let text = ''
    let tokens = 0
    let firstTokenMs: number | null = null
    try {
      for await (const ev of upstream.events) {
        if (ev.event === 'token') {
          tokens++
          text += ev.data.text
          firstTokenMs ??= Date.now() - t0
          yield ev
        } else if (ev.event === 'done') {
          const result: GenerateResult = { ...ev.data, id }
          if (result.watermark?.keyId !== watermark?.keyId)
            // Text sold as watermarked must be: an origin that applied another key (or none) failed.
            throw new OriginError(
              502,
              'origin_protocol_error',
              'the origin did not apply the requested watermark',
              'error',
            )
          finish('success', {
            model: result.model,
            promptTokens: result.usage.promptTokens,
            completionTokens: result.usage.completionTokens,
            firstTokenMs,
            finishReason: result.finishReason,
            text: result.text,
          })
          yield { event: 'done', data: result }
          return
        } else {
          finish('error', { completionTokens: tokens, firstTokenMs, errorCode: ev.data.error.code, text })
          yield ev
          return
        }
      }
    } catch (e) {
      const err =
        e instanceof OriginError
          ? e
          : new OriginError(502, 'origin_stream_cut', 'the origin stream failed mid-way', 'cut')
      finish(err.outcome, { completionTokens: tokens, firstTokenMs, errorCode: err.code, text })
      yield { event: 'error', data: errorBody(err.code, err.message) }
    } finally {
      // Reached without a recorded ending only when the consumer stopped reading: the client left.
      finish('cancelled', { completionTokens: tokens, firstTokenMs, errorCode: 'cancelled', text })
    }
  }

  return { id, watermark, events: observe(), cancel: upstream.cancel }
}

/** Waits for the whole generation (non-streaming clients); an error event becomes an ApiError. */
export async function collectResult(gen: Generation): Promise<GenerateResult> {
  for await (const ev of gen.events) {
    if (ev.event === 'done') return ev.data
    if (ev.event === 'error') {
      const { code, message } = ev.data.error
      throw new ApiError(statusForCode(code), code, message, generationHeaders(gen))
    }
  }
  throw new ApiError(
    502,
    'origin_stream_cut',
    'the origin stream ended without a result',
    generationHeaders(gen),
  )
}

/**
 * An SSE response that pulls one origin event per read (no read-ahead beyond the stream's queue),
 * encoded by `encode`; cancelling it (the client hung up) stops the origin.
 */
export function eventStreamResponse(
  gen: Generation,
  encode: (ev: GenerateEvent) => Uint8Array[],
  headers: Record<string, string> = {},
): Response {
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Loop until something is enqueued: a pull that enqueues nothing is not called again.
      for (;;) {
        const next = await gen.events.next()
        if (next.done) {
          controller.close()
          return
        }
        const frames = encode(next.value)
        for (const f of frames) controller.enqueue(f)
        if (frames.length > 0) return
      }
    },
    async cancel() {
      gen.cancel()
      await gen.events.return(undefined)
    },
  })
  return new Response(body, { status: 200, headers: { ...SSE_HEADERS, ...headers } })
}

/** Headers that tell every generation response's id and watermark key. */
export function generationHeaders(gen: Generation): Record<string, string> {
  return {
    'x-wmlab-generation-id': gen.id,
    'x-wmlab-watermark-key': gen.watermark?.keyId ?? NO_WATERMARK,
  }
}

/** POST /v1/generate: the protocol's result as JSON, or its events as SSE (`stream: true`). */
export async function generateText(
  ctx: Omit<GenerationContext, 'endpoint'>,
  body: z.infer<typeof GenerateBodySchema>,
): Promise<Response> {
  const { keyId, ...rest } = body
  const watermark = await resolveWatermark(ctx.store, ctx.tenant, keyId)
  const request = GenerateRequestSchema.parse({ ...rest, watermark })
  const gen = await startGeneration({ ...ctx, endpoint: 'generate' }, request)
  if (!request.stream) return Response.json(await collectResult(gen), { headers: generationHeaders(gen) })
  return eventStreamResponse(
    gen,
    (ev) => [sseFrame(ev.event, JSON.stringify(ev.data))],
    generationHeaders(gen),
  )
}
