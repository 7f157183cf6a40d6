// What the origin's route handlers share: the model, the limiter, metrics, the watermark resolver
// and the engine (which may still be loading).
import type { TextTokenizer } from '../core/tokenizers/registry.ts'
import type { ModelSpec } from '../models/registry.ts'
import type { OriginDeps } from './app.ts'
import type { Engine } from './engine/types.ts'
import { ApiError, ERROR_CODES } from './errors.ts'
import { BusyError, type ConcurrencyLimiter } from './limiter.ts'
import type { OriginMetrics } from './metrics.ts'
import { createWatermarkResolver, type WatermarkResolver } from './watermarks.ts'

/** What the route handlers share. */
export interface OriginContext {
  model: ModelSpec
  tokenizer: TextTokenizer
  limiter: ConcurrencyLimiter
  metrics: OriginMetrics
  resolveWatermark: WatermarkResolver
  /** The loaded engine; throws 503 if the load failed. `waited` says whether this call had to wait. */
  engine(): Promise<{ engine: Engine; waited: boolean }>
  /** Seconds a refused client should wait, from recent generation times and the queue. */
  retryAfterSeconds(): number
  /** Records one finished run's wall time (ms) for retryAfterSeconds. */
  recordRunMs(ms: number): void
}

/** The shared state of one app; records the model load's metrics when the engine settles. */
export function createOriginContext(
  deps: OriginDeps,
  limiter: ConcurrencyLimiter,
  metrics: OriginMetrics,
): OriginContext {
  let loaded: Engine | undefined
  const ready = Promise.resolve(deps.engine).then(
    (engine) => {
      loaded = engine
      metrics.modelLoads.inc({ model: deps.model.id, outcome: 'success' })
      metrics.modelLoadDuration.observe({ model: deps.model.id }, engine.loadMs / 1000)
      return engine
    },
    (err: unknown) => {
      metrics.modelLoads.inc({ model: deps.model.id, outcome: 'error' })
      console.error(`origin: loading model "${deps.model.id}" failed`, err)
      throw new ApiError(503, ERROR_CODES.modelUnavailable, `model "${deps.model.id}" failed to load`)
    },
  )
  ready.catch(() => undefined) // surfaced per request
  let runMsAverage = 1000
  return {
    model: deps.model,
    tokenizer: deps.tokenizer,
    limiter,
    metrics,
    resolveWatermark: createWatermarkResolver(deps.masterSecret, deps.model.vocabSize, deps.kernel),
    async engine() {
      if (loaded) return { engine: loaded, waited: false }
      return { engine: await ready, waited: true }
    },
    retryAfterSeconds() {
      const waves = (limiter.queueDepth + limiter.inFlight) / limiter.maxConcurrent
      return Math.min(60, Math.max(1, Math.ceil((waves * runMsAverage) / 1000)))
    },
    recordRunMs(ms) {
      runMsAverage = 0.8 * runMsAverage + 0.2 * ms
    },
  }
}

/** A slot for model work, or 503 origin_busy with Retry-After when the queue is full. */
export function acquireSlot(ctx: OriginContext, signal: AbortSignal, scheme?: string): Promise<() => void> {
  try {
    return ctx.limiter.acquire(signal)
  } catch (err) {
    if (!(err instanceof BusyError)) throw err
    if (scheme !== undefined) ctx.metrics.generations.inc({ scheme, outcome: 'rejected' })
    throw new ApiError(503, ERROR_CODES.originBusy, 'the origin is at capacity; retry later', {
      'retry-after': String(ctx.retryAfterSeconds()),
    })
  }
}
