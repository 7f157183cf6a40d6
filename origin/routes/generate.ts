// POST /v1/generate: validate, take a slot (or 503 origin_busy), run the generation loop, answer JSON
// or stream SSE events (token*, then done or error). A client that goes away stops the loop and
// frees its slot; a failure after the first byte ends the stream with an `error` event.
import type { Context } from 'hono'
import {
  type GenerateEvent,
  type GenerateRequest,
  GenerateRequestSchema,
  type GenerateResult,
} from '../../core/generation/protocol.ts'
import type { TokenPiece } from '../completion-text.ts'
import { acquireSlot, type OriginContext } from '../context.ts'
import { ApiError, ERROR_CODES } from '../errors.ts'
import {
  checkPlan,
  type GenerationPlan,
  generateResult,
  promptIds,
  randomSeed,
  runGeneration,
  settleSampling,
} from '../generate.ts'
import { readJsonBody } from '../request-body.ts'
import { eventStream } from '../sse.ts'
import { randomHex } from '../../core/keys/hex.ts'

// an SSE comment now and then keeps proxies and the edge's idle timeout from closing a queued stream
const KEEP_ALIVE_MS = 10_000

/** 400 unknown_model unless the request names the served model (or none). */
export function checkModel(ctx: OriginContext, requested: string | undefined): void {
  if (requested !== undefined && requested !== ctx.model.id)
    throw new ApiError(
      400,
      ERROR_CODES.unknownModel,
      `this origin serves model "${ctx.model.id}", not "${requested}"`,
    )
}

async function planFor(ctx: OriginContext, request: GenerateRequest, raw: unknown): Promise<GenerationPlan> {
  checkModel(ctx, request.model)
  const rawSampling = (raw as { sampling?: Record<string, unknown> }).sampling
  const sampling = settleSampling(request.sampling, rawSampling, ctx.model.generation)
  const watermark = request.watermark
    ? { keyId: request.watermark.keyId, scheme: await ctx.resolveWatermark(request.watermark) }
    : null
  const plan = { promptIds: promptIds(ctx.model, ctx.tokenizer, request), sampling, watermark }
  checkPlan(ctx.model, plan)
  return { ...plan, seed: sampling.seed ?? randomSeed() }
}

const failureEnvelope = (err: unknown) =>
  err instanceof ApiError
    ? err.toEnvelope()
    : {
        error: {
          code: ERROR_CODES.generationFailed,
          message: 'the model failed while generating; the origin log has the details',
        },
      }

export async function generateRoute(ctx: OriginContext, c: Context): Promise<Response> {
  const startedAt = performance.now()
  const { parsed: request, raw } = await readJsonBody(c, GenerateRequestSchema)
  const plan = await planFor(ctx, request, raw)
  const scheme = plan.watermark?.scheme.name ?? 'none'
  const stop = new AbortController()
  const requestSignal = c.req.raw.signal
  const onRequestAbort = () => stop.abort(requestSignal.reason)
  requestSignal.addEventListener('abort', onRequestAbort, { once: true })
  let slot: Promise<() => void>
  try {
    slot = acquireSlot(ctx, stop.signal, scheme)
  } catch (err) {
    requestSignal.removeEventListener('abort', onRequestAbort)
    throw err
  }
  slot.catch(() => undefined) // a waiter aborted in the queue; handled where the slot is awaited
  const id = `gen_${randomHex(8)}`

  /** Runs the generation in its slot; counts the outcome. */
  const execute = async (onPiece?: (piece: TokenPiece) => void): Promise<GenerateResult> => {
    try {
      const release = await slot
      const queuedMs = performance.now() - startedAt
      try {
        const { engine, waited } = await ctx.engine()
        const run = runGeneration({ engine, model: ctx.model, tokenizer: ctx.tokenizer }, plan, {
          signal: stop.signal,
          onStep: (ms) => ctx.metrics.tokenDuration.observe({ scheme }, ms / 1000),
        })
        let step = await run.next()
        while (!step.done) {
          onPiece?.(step.value)
          step = await run.next()
        }
        const result = generateResult(id, ctx.model, plan, step.value, {
          startedAt,
          queuedMs,
          loadMs: waited ? engine.loadMs : undefined,
        })
        ctx.metrics.generations.inc({ scheme, outcome: 'success' })
        ctx.metrics.generationTokens.inc({ scheme }, result.usage.completionTokens)
        ctx.metrics.timeToFirstToken.observe({ scheme }, result.timing.firstTokenMs / 1000)
        return result
      } finally {
        release()
        ctx.recordRunMs(performance.now() - startedAt - queuedMs)
      }
    } catch (err) {
      const outcome = stop.signal.aborted ? 'cancelled' : 'error'
      ctx.metrics.generations.inc({ scheme, outcome })
      if (outcome === 'error' && !(err instanceof ApiError))
        console.error(`origin: generation ${id} failed`, err)
      throw err
    } finally {
      requestSignal.removeEventListener('abort', onRequestAbort)
    }
  }

  if (!request.stream) {
    try {
      return c.json(await execute())
    } catch (err) {
      if (err instanceof ApiError) throw err
      const envelope = failureEnvelope(err)
      throw new ApiError(500, ERROR_CODES.generationFailed, envelope.error.message)
    }
  }

  return eventStream(async (emit, signal) => {
    signal.addEventListener('abort', () => stop.abort(signal.reason), { once: true })
    let waiting = true
    slot.then(
      () => (waiting = false),
      () => (waiting = false),
    )
    const keepAlive = setInterval(() => waiting && emit({ comment: 'queued' }), KEEP_ALIVE_MS)
    try {
      const result = await execute((piece) => emit({ event: 'token', data: piece }))
      emit({ event: 'done', data: result } satisfies GenerateEvent)
    } catch (err) {
      emit({ event: 'error', data: failureEnvelope(err) })
    } finally {
      clearInterval(keepAlive)
    }
  })
}
