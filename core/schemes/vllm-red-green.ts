// vLLM's Philox red/green watermark (branch `red_green.py`): green iff u(key, context, token) < γ
// in float32 — a per-token Bernoulli(γ), not a fixed ⌊γV⌋ list. Soft bias δ, exact binomial test.
import { z } from 'zod'
import { philoxContextState, philoxTokenWord, philoxUniform, splitKey } from '../prf/philox.ts'
import { countedMask, firstSeen, redGreenResult, toInt32 } from './detection.ts'
import {
  contextWidthSchema,
  deltaSchema,
  gammaSchema,
  keySchema,
  thresholdSchema,
  vocabSchema,
} from './params.ts'
import { checkLogits, finiteCandidates, logitWindow, negligibleBelow, sampleSoftmax } from './sampling.ts'
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
    const state = new Uint32Array(4)
    let flags = new Uint8Array(0)
    const step = (c: Candidates, rng: Rng) => {
      let token: number
      if (ctx.isRepeated()) {
        token = sampleSoftmax(logitWindow(c, negligibleBelow(c.count, 0)), rng) // no bias on repeated rows
      } else {
        // The green bit is one Philox word per candidate, so only the window's ids need one.
        const w = logitWindow(c, negligibleBelow(c.count, this.p.delta))
        if (flags.length < w.count) flags = new Uint8Array(c.count)
        const context = ctx.current()
        philoxContextState(key, context.length, (i) => context[i], state)
        for (let j = 0; j < w.count; j++) {
          flags[j] = philoxUniform(philoxTokenWord(key, state, w.ids[j])) < this.gammaF32 ? 1 : 0
        }
        token = sampleSoftmax(w, rng, flags, this.p.delta)
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
