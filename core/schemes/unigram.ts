// Unigram watermark (Zhao et al., "GPTWatermark"): one fixed keyed green list, no context, so an
// edit changes at most one green indicator. The list is randperm(V, key)[0 : ⌊γV⌋] (torch CPU),
// computed once per key. Detection counts each distinct token once by default.
import { z } from 'zod'
import { randperm } from '../prf/torch-mt19937.ts'
import { countedMask, firstSeen, redGreenResult, toInt32 } from './detection.ts'
import { deltaSchema, gammaSchema, hashKeySchema, thresholdSchema, vocabSchema } from './params.ts'
import { checkLogits, sampleCategorical, softmax } from './sampling.ts'
import type {
  DetectOptions,
  DetectionResult,
  SchemeDeps,
  SequenceWatermarker,
  WatermarkScheme,
} from './types.ts'

export const unigramParamsSchema = z
  .object({
    key: hashKeySchema,
    vocabSize: vocabSchema,
    gamma: gammaSchema,
    delta: deltaSchema,
    pValueThreshold: thresholdSchema,
  })
  .strict()
export type UnigramParams = z.input<typeof unigramParamsSchema>

export class UnigramScheme implements WatermarkScheme {
  readonly vocabSize: number
  readonly pValueThreshold: number
  private readonly p: z.output<typeof unigramParamsSchema>
  /** green[v] = 1 for the ⌊γV⌋ green ids. */
  private readonly green: Uint8Array
  private readonly greenCount: number

  constructor(
    readonly name: string,
    params: UnigramParams,
    private readonly deps: SchemeDeps,
  ) {
    this.p = unigramParamsSchema.parse(params)
    this.vocabSize = this.p.vocabSize
    this.pValueThreshold = this.p.pValueThreshold
    this.greenCount = Math.floor(this.p.gamma * this.p.vocabSize)
    const perm = randperm(this.p.key, this.p.vocabSize)
    this.green = new Uint8Array(this.p.vocabSize)
    for (let i = 0; i < this.greenCount; i++) this.green[perm[i]] = 1
  }

  detect(input: Int32Array | readonly number[], options: DetectOptions = {}): DetectionResult {
    const tokens = toInt32(input)
    const n = tokens.length
    const green = new Uint8Array(n)
    for (let i = 0; i < n; i++)
      green[i] = tokens[i] >= 0 && tokens[i] < this.vocabSize ? this.green[tokens[i]] : 0
    const first = firstSeen(this.deps.kernel, tokens, 0, true, options.dedup ?? true)
    return redGreenResult({
      scheme: this.name,
      tokens,
      green,
      counted: countedMask(n, 0, first),
      gamma: this.greenCount / this.vocabSize,
      threshold: options.pValueThreshold ?? this.pValueThreshold,
      options,
      scorable: () => true,
    })
  }

  watermarker(): SequenceWatermarker {
    return {
      next: (logits, rng) => {
        checkLogits(logits, this.vocabSize)
        const biased = Float32Array.from(logits)
        for (let v = 0; v < biased.length; v++) if (this.green[v]) biased[v] += this.p.delta
        return sampleCategorical(softmax(biased), rng)
      },
    }
  }
}
