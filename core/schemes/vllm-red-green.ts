// vLLM's Philox red/green watermark (branch `red_green.py`): green iff u(key, context, token) < γ
// in float32 — a per-token Bernoulli(γ), not a fixed ⌊γV⌋ list. Soft bias δ, exact binomial test.
import { z } from 'zod'
import { philoxUniformsForCandidates, splitKey } from '../prf/philox.ts'
import { countedMask, firstSeen, redGreenResult, toInt32 } from './detection.ts'
import {
  contextWidthSchema,
  deltaSchema,
  gammaSchema,
  keySchema,
  thresholdSchema,
  vocabSchema,
} from './params.ts'
import { checkLogits, sampleCategorical, softmax } from './sampling.ts'
import type {
  DetectOptions,
  DetectionResult,
  SchemeDeps,
  SequenceWatermarker,
  WatermarkScheme,
} from './types.ts'
import { GeneratedContext } from './vllm-context.ts'

export const vllmRedGreenParamsSchema = z
  .object({
    key: keySchema,
    vocabSize: vocabSchema,
    gamma: gammaSchema,
    delta: deltaSchema,
    contextWidth: contextWidthSchema,
    pValueThreshold: thresholdSchema,
  })
  .strict()
export type VllmRedGreenParams = z.input<typeof vllmRedGreenParamsSchema>

export class VllmRedGreenScheme implements WatermarkScheme {
  readonly vocabSize: number
  readonly pValueThreshold: number
  private readonly p: z.output<typeof vllmRedGreenParamsSchema>
  private readonly gammaF32: number

  constructor(
    readonly name: string,
    params: VllmRedGreenParams,
    private readonly deps: SchemeDeps,
  ) {
    this.p = vllmRedGreenParamsSchema.parse(params)
    this.vocabSize = this.p.vocabSize
    this.pValueThreshold = this.p.pValueThreshold
    this.gammaF32 = Math.fround(this.p.gamma)
  }

  detect(input: Int32Array | readonly number[], options: DetectOptions = {}): DetectionResult {
    const tokens = toInt32(input)
    const n = tokens.length
    const { k0, k1 } = splitKey(this.p.key)
    const u = new Float32Array(n)
    this.deps.kernel.philoxUniforms(tokens, this.p.contextWidth, k0, k1, u)
    const green = new Uint8Array(n)
    for (let i = 0; i < n; i++) green[i] = u[i] < this.gammaF32 ? 1 : 0
    const first = firstSeen(this.deps.kernel, tokens, this.p.contextWidth, false, options.dedup ?? true)
    return redGreenResult({
      scheme: this.name,
      tokens,
      green,
      counted: countedMask(n, 0, first),
      gamma: this.p.gamma,
      threshold: options.pValueThreshold ?? this.pValueThreshold,
      options,
      scorable: () => true,
    })
  }

  watermarker(): SequenceWatermarker {
    const key = splitKey(this.p.key)
    const ctx = new GeneratedContext(this.p.contextWidth)
    return {
      next: (logits, rng) => {
        checkLogits(logits, this.vocabSize)
        const biased = Float32Array.from(logits)
        if (!ctx.isRepeated()) {
          const u = philoxUniformsForCandidates(key, ctx.current(), new Float32Array(biased.length))
          for (let v = 0; v < biased.length; v++) if (u[v] < this.gammaF32) biased[v] += this.p.delta
        }
        const token = sampleCategorical(softmax(biased), rng)
        ctx.push(token)
        return token
      },
    }
  }
}
