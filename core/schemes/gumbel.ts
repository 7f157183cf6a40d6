// Gumbel-max / EXP (Aaronson) as vLLM's native watermarking does it: token = argmax(logits + G)
// with G = −log(−log u), u from the Philox PRF over the last `contextWidth` generated ids.
// Detection: S = Σ −ln(1 − u) over de-duplicated contexts, p = P[Gamma(T, 1) ≥ S].
// The dual-key variant (speculative decoding) mixes two derived keys with weight α.
import { z } from 'zod'
import {
  type PhiloxKey,
  deriveWatermarkKey,
  philoxContextState,
  philoxTokenWord,
  philoxUniform,
  splitKey,
} from '../prf/philox.ts'
import { gammaLogQ, gammaLogSfInt } from '../stats/index.ts'
import { countedMask, firstSeen, scoreSumResult, toInt32 } from './detection.ts'
import { contextWidthSchema, keySchema, thresholdSchema, vocabSchema } from './params.ts'
import {
  checkLogits,
  finiteCandidates,
  logitWindow,
  maxLogit,
  negligibleBelow,
  sampleSoftmax,
} from './sampling.ts'
import type {
  Candidates,
  DetectOptions,
  DetectionResult,
  Rng,
  SchemeDeps,
  SequenceWatermarker,
  WatermarkScheme,
} from './types.ts'
import { GeneratedContext } from './vllm-context.ts'

export const gumbelParamsSchema = z
  .object({
    key: keySchema,
    vocabSize: vocabSchema,
    contextWidth: contextWidthSchema,
    /** Dual-key only: probability of key B (vLLM main: 0.1). null = single key. */
    alpha: z.number().min(0).max(1).nullable(),
    pValueThreshold: thresholdSchema,
    /** Generation-time repeated-context skipping (vLLM deduplicate_contexts scope) and its history bound. */
    deduplicateContexts: z.enum(['none', 'single_turn', 'all']),
    maxHistory: z.number().int().positive().nullable(),
  })
  .strict()
export type GumbelParams = z.input<typeof gumbelParamsSchema>

/** vLLM's p-value for a dual-key score: the Gamma shape and scale shrink by the mixture variance. */
function dualKeyLogP(sum: number, count: number, alpha: number): number {
  const variance = (1 - alpha) ** 2 + alpha ** 2
  if (alpha === 0 || alpha === 0.5 || alpha === 1)
    return gammaLogSfInt(sum / variance, Math.round(count / variance))
  return gammaLogQ(count / variance, sum / variance)
}

export class GumbelScheme implements WatermarkScheme {
  readonly vocabSize: number
  readonly pValueThreshold: number
  private readonly p: z.output<typeof gumbelParamsSchema>
  /** Philox keys: one, or [key A (weight 1 − α), key B (weight α)]. */
  private readonly keys: bigint[]

  constructor(
    readonly name: string,
    params: GumbelParams,
    private readonly deps: SchemeDeps,
  ) {
    this.p = gumbelParamsSchema.parse(params)
    this.vocabSize = this.p.vocabSize
    this.pValueThreshold = this.p.pValueThreshold
    this.keys =
      this.p.alpha === null
        ? [this.p.key]
        : [deriveWatermarkKey(this.p.key, 'key_a'), deriveWatermarkKey(this.p.key, 'key_b')]
  }

  private uniforms(tokens: Int32Array, key: bigint): Float32Array {
    const { k0, k1 } = splitKey(key)
    const u = new Float32Array(tokens.length)
    this.deps.kernel.philoxUniforms(tokens, this.p.contextWidth, k0, k1, u)
    return u
  }

  detect(input: Int32Array | readonly number[], options: DetectOptions = {}): DetectionResult {
    const tokens = toInt32(input)
    const n = tokens.length
    const alpha = this.p.alpha
    const scores = new Float64Array(n)
    const uA = this.uniforms(tokens, this.keys[0])
    if (alpha === null) {
      for (let i = 0; i < n; i++) scores[i] = -Math.log1p(-uA[i])
    } else {
      const uB = this.uniforms(tokens, this.keys[1])
      for (let i = 0; i < n; i++) scores[i] = (1 - alpha) * -Math.log1p(-uA[i]) + alpha * -Math.log1p(-uB[i])
    }
    const first = firstSeen(this.deps.kernel, tokens, this.p.contextWidth, false, options.dedup ?? true)
    return scoreSumResult({
      scheme: this.name,
      tokens,
      scores,
      counted: countedMask(n, 0, first),
      threshold: options.pValueThreshold ?? this.pValueThreshold,
      options,
      scorable: () => true,
      logPOf: alpha === null ? (s, t) => gammaLogSfInt(s, t) : (s, t) => dualKeyLogP(s, t, alpha),
      // Under H0 each score has mean 1 and variance 1 (Exp(1)); z is only a readable extra.
      zOf: alpha === null ? (s, t) => (s - t) / Math.sqrt(t) : undefined,
    })
  }

  watermarker(prompt: readonly number[] = []): SequenceWatermarker {
    const ctx = new GeneratedContext(
      this.p.contextWidth,
      this.p.maxHistory,
      this.p.deduplicateContexts,
      prompt,
    )
    const keys = this.keys.map(splitKey)
    const alpha = this.p.alpha
    const state = new Uint32Array(4)
    const step = (c: Candidates, rng: Rng) => {
      let token: number
      if (ctx.isRepeated()) {
        // unwatermarked row, as vLLM's ordinary sampler
        token = sampleSoftmax(logitWindow(c, negligibleBelow(c.count, 0)), rng)
      } else {
        // Dual key: route each token to key B with probability α.
        const key = alpha !== null && rng() < alpha ? keys[1] : keys[0]
        const context = ctx.current()
        philoxContextState(key, context.length, (i) => context[i], state)
        token = gumbelArgmax(c, key, state)
      }
      ctx.push(token)
      return token
    }
    return {
      next: (logits, rng) => {
        checkLogits(logits, this.vocabSize)
        return step(finiteCandidates(logits), rng)
      },
      nextFromCandidates: step,
    }
  }
}

/** vLLM's float32 noise −log(−log u). */
const gumbelNoise = (u: number) => Math.fround(-Math.log(Math.fround(-Math.log(u))))

// The noise is bounded because u is: u = ((w >>> 8) + 1) / (2^24 + 1) ∈ [1/(2^24 + 1), 2^24/(2^24 + 1)],
// so the noise lies in [≈ −2.81, ≈ 16.64]. The margins cover a Math.log that is not exactly monotone.
const NOISE_MAX = gumbelNoise(philoxUniform(0xffffffff)) + 1e-3
const NOISE_MIN = gumbelNoise(philoxUniform(0)) - 1e-3
/** Candidates this close to the top logit get their noise first, to set a high bar for the rest. */
const FIRST_BAND = 4

/**
 * argmax over the candidates of float32(logit + noise), ties to the lowest id (vLLM, torch.argmax).
 * A candidate whose logit + the largest possible noise stays below the best value found so far cannot
 * win, so it needs no PRF call: that bound is exact, not a tolerance. The top band goes first so the bar
 * is high early; typically only ids within ~17 nats of the top are evaluated.
 */
function gumbelArgmax(c: Candidates, key: PhiloxKey, state: Uint32Array): number {
  const { ids, logits, count } = c
  if (count === 0) throw new RangeError('gumbel: every logit is −Infinity')
  const max = maxLogit(c)
  let best = Math.fround(max + NOISE_MIN) // the top candidate reaches at least this
  let bestId = -1
  const consider = (j: number) => {
    if (Math.fround(logits[j] + NOISE_MAX) < best) return
    const v = Math.fround(logits[j] + gumbelNoise(philoxUniform(philoxTokenWord(key, state, ids[j]))))
    if (v > best || (v === best && (bestId < 0 || ids[j] < bestId))) {
      best = v
      bestId = ids[j]
    }
  }
  for (let j = 0; j < count; j++) if (logits[j] >= max - FIRST_BAND) consider(j)
  for (let j = 0; j < count; j++) if (logits[j] < max - FIRST_BAND) consider(j)
  return bestId
}
