// Gumbel-max / EXP (Aaronson) as vLLM's native watermarking does it: token = argmax(logits + G)
// with G = −log(−log u), u from the Philox PRF over the last `contextWidth` generated ids.
// Detection: S = Σ −ln(1 − u) over de-duplicated contexts, p = P[Gamma(T, 1) ≥ S].
// The dual-key variant (speculative decoding) mixes two derived keys with weight α.
import { z } from 'zod'
import { deriveWatermarkKey, philoxUniformsForCandidates, splitKey } from '../prf/philox.ts'
import { gammaLogQ, gammaLogSfInt } from '../stats/index.ts'
import { countedMask, firstSeen, scoreSumResult, toInt32 } from './detection.ts'
import { contextWidthSchema, keySchema, thresholdSchema, vocabSchema } from './params.ts'
import { argmax, checkLogits, sampleCategorical, softmax } from './sampling.ts'
import type {
  DetectOptions,
  DetectionResult,
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
    return {
      next: (logits, rng) => {
        checkLogits(logits, this.vocabSize)
        let token: number
        if (ctx.isRepeated()) {
          token = sampleCategorical(softmax(logits), rng) // unwatermarked row, as vLLM's ordinary sampler
        } else {
          // Dual key: route each token to key B with probability α.
          const key = alpha !== null && rng() < alpha ? keys[1] : keys[0]
          const u = philoxUniformsForCandidates(key, ctx.current(), new Float32Array(logits.length))
          const noisy = new Float32Array(logits.length)
          for (let v = 0; v < logits.length; v++)
            noisy[v] = logits[v] + Math.fround(-Math.log(Math.fround(-Math.log(u[v]))))
          token = argmax(noisy)
        }
        ctx.push(token)
        return token
      },
    }
  }
}
