// Unigram watermark (Zhao et al., "GPTWatermark"): one fixed keyed green list, no context, so an
// edit changes at most one green indicator. The list is randperm(V, key)[0 : ⌊γV⌋] (torch CPU),
// computed once per key. Detection counts each distinct token once by default.
import { z } from 'zod'
import { randperm } from '../prf/torch-mt19937.ts'
import { countedMask, firstSeen, redGreenResult, toInt32 } from './detection.ts'
import { deltaSchema, gammaSchema, hashKeySchema, thresholdSchema, vocabSchema } from './params.ts'
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
    let flags = new Uint8Array(0)
    const step = (c: Candidates, rng: Rng) => {
      const w = logitWindow(c, negligibleBelow(c.count, this.p.delta))
      if (flags.length < w.count) flags = new Uint8Array(c.count)
      for (let j = 0; j < w.count; j++) flags[j] = this.green[w.ids[j]]
      return sampleSoftmax(w, rng, flags, this.p.delta)
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
