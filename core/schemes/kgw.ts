// KGW red/green lists (Kirchenbauer et al.) with torch-CPU MT19937 greenlists, in the seeding
// variants of the references: lm-watermarking `lefthash`/`selfhash`, HF `selfhash`, MarkLLM KGW.
// Greenlist = randperm(V, seed)[0 : ⌊γV⌋]; detection is an exact binomial test of the green count.
import { z } from 'zod'
import { wrapInt64 } from '../prf/int64.ts'
import { MT19937, inRandpermPrefixMt, int64SeedMod, randperm, torchSeed } from '../prf/torch-mt19937.ts'
import { countedMask, redGreenResult, toInt32 } from './detection.ts'
import {
  contextWidthSchema,
  deltaSchema,
  gammaSchema,
  hashKeySchema,
  thresholdSchema,
  vocabSchema,
} from './params.ts'
import { checkLogits, sampleCategorical, softmax, topIds } from './sampling.ts'
import type { DetectOptions, SchemeDeps, SequenceWatermarker, WatermarkScheme } from './types.ts'

export const kgwParamsSchema = z
  .object({
    seeding: z.enum(['lefthash', 'selfhash', 'hf-selfhash', 'markllm']),
    vocabSize: vocabSchema,
    gamma: gammaSchema,
    delta: deltaSchema,
    hashKey: hashKeySchema,
    /** h: ids the seed depends on (self-hash variants count the candidate itself). */
    contextWidth: contextWidthSchema,
    /** Self-hash generation tests only the top candidates (lm-watermarking 41, HF 40). */
    selfHashCandidates: z.number().int().min(1).max(1000),
    /** Seed of lm-watermarking's fixed hashint table; HF seeds its table with the hashing key. */
    tableSeed: hashKeySchema.optional(),
    pValueThreshold: thresholdSchema,
  })
  .strict()
export type KgwParams = z.input<typeof kgwParamsSchema>

const TABLE_SIZE = 1_000_003
const tableCache = new Map<string, Int32Array>()

/** randperm(1_000_003) under the given seed: the hashint table of the self-hash PRFs. */
function hashTable(seed: bigint): Int32Array {
  const k = seed.toString()
  let t = tableCache.get(k)
  if (!t) {
    t = randperm(seed, TABLE_SIZE)
    tableCache.set(k, t)
  }
  return t
}

const I64 = wrapInt64

export class KgwScheme implements WatermarkScheme {
  readonly vocabSize: number
  readonly pValueThreshold: number
  private readonly p: z.output<typeof kgwParamsSchema>
  private readonly greenCount: number
  private readonly table: Int32Array | null
  private readonly markllmPrf: Int32Array | null

  constructor(
    readonly name: string,
    params: KgwParams,
    private readonly deps: SchemeDeps,
  ) {
    this.p = kgwParamsSchema.parse(params)
    this.vocabSize = this.p.vocabSize
    this.pValueThreshold = this.p.pValueThreshold
    this.greenCount = Math.floor(this.p.gamma * this.p.vocabSize)
    const selfHash = this.p.seeding === 'selfhash' || this.p.seeding === 'hf-selfhash'
    this.table = selfHash ? hashTable(this.p.tableSeed ?? this.p.hashKey) : null
    this.markllmPrf = this.p.seeding === 'markllm' ? randperm(this.p.hashKey, this.p.vocabSize) : null
  }

  /** Self-hash variants put the scored token itself into its seed. */
  private get selfSalted(): boolean {
    return this.table !== null
  }

  /** Ids before the scored token that its seed needs. */
  private get lookback(): number {
    return this.selfSalted ? this.p.contextWidth - 1 : this.p.contextWidth
  }

  /**
   * The torch seed (before manual_seed's 32-bit truncation) for the greenlist that decides
   * `ids[end]` (self-hash) or follows ids[end − h .. end − 1] (left-hash).
   */
  seedAt(ids: ArrayLike<number>, end: number): bigint {
    const key = this.p.hashKey
    const h = this.p.contextWidth
    switch (this.p.seeding) {
      case 'lefthash': {
        // additive_prf: Python ints (no int64 wrap): key · Σ context.
        let sum = 0n
        for (let i = end - h; i < end; i++) sum += BigInt(ids[i])
        return pyMod(key * sum)
      }
      case 'markllm': {
        // f_time: prf[(Π context) % V] with Python ints; seed = key · f.
        let prod = 1n
        for (let i = end - h; i < end; i++) prod *= BigInt(ids[i])
        const f = this.markllmPrf![Number(pyModN(prod, BigInt(this.p.vocabSize)))]
        return key * BigInt(f)
      }
      default: {
        // anchored min-hash: min over the window (candidate included) of key·hashint(x_i)·hashint(candidate),
        // as int64 tensor arithmetic that wraps; the min is over signed values.
        const t = this.table!
        const hashint = (x: number) => BigInt(t[((x % TABLE_SIZE) + TABLE_SIZE) % TABLE_SIZE] + 1)
        const anchor = hashint(ids[end])
        let min: bigint | null = null
        for (let i = end - h + 1; i <= end; i++) {
          const v = I64(I64(key * hashint(ids[i])) * anchor)
          if (min === null || v < min) min = v
        }
        return int64SeedMod(min!)
      }
    }
  }

  detect(
    input: Int32Array | readonly number[],
    options: DetectOptions = {},
  ): ReturnType<WatermarkScheme['detect']> {
    const tokens = toInt32(input)
    const n = tokens.length
    const lookback = this.lookback
    const seeds = new Uint32Array(n)
    for (let i = lookback; i < n; i++) seeds[i] = torchSeed(this.seedAt(tokens, i))
    const green = new Uint8Array(n)
    this.deps.kernel.mtGreen(seeds, tokens, this.vocabSize, this.greenCount, green)
    for (let i = 0; i < Math.min(lookback, n); i++) green[i] = 0
    // De-duplicate by PRF input, not by n-gram: the green bit is a function of (seed, token) alone,
    // and min-hash seeds collapse many n-grams onto one seed (often the candidate's own term), so
    // n-gram de-duplication would still count the same Bernoulli draw many times and make the
    // binomial p-value anti-conservative on natural text.
    let first: Uint8Array | null = null
    if (options.dedup ?? true) {
      first = new Uint8Array(n)
      const seen = new Map<number, Set<number>>()
      for (let i = lookback; i < n; i++) {
        let tokensForSeed = seen.get(seeds[i])
        if (!tokensForSeed) {
          tokensForSeed = new Set()
          seen.set(seeds[i], tokensForSeed)
        }
        if (!tokensForSeed.has(tokens[i])) {
          tokensForSeed.add(tokens[i])
          first[i] = 1
        }
      }
    }
    return redGreenResult({
      scheme: this.name,
      tokens,
      green,
      counted: countedMask(n, lookback, first),
      gamma: this.greenCount / this.vocabSize,
      threshold: options.pValueThreshold ?? this.pValueThreshold,
      options,
      scorable: (i) => i >= lookback,
    })
  }

  watermarker(prompt: readonly number[] = []): SequenceWatermarker {
    const history = [...prompt]
    const mt = new MT19937(0)
    return {
      next: (logits, rng) => {
        checkLogits(logits, this.vocabSize)
        const biased = Float32Array.from(logits)
        const n = history.length
        if (n >= this.lookback) {
          if (this.selfSalted) {
            // Self-salt: a candidate is biased only if it is green under its own seed.
            const window = history.slice(n - this.lookback)
            for (const c of topIds(logits, this.p.selfHashCandidates)) {
              if (logits[c] === -Infinity) continue
              mt.reseed(torchSeed(this.seedAt([...window, c], this.lookback)))
              if (inRandpermPrefixMt(mt, this.vocabSize, this.greenCount, c)) biased[c] += this.p.delta
            }
          } else {
            const perm = randperm(this.seedAt(history, n), this.vocabSize)
            for (let i = 0; i < this.greenCount; i++) biased[perm[i]] += this.p.delta
          }
        }
        const token = sampleCategorical(softmax(biased), rng)
        history.push(token)
        return token
      },
    }
  }
}

const U64 = (1n << 64n) - 1n
const pyMod = (x: bigint) => pyModN(x, U64)
function pyModN(x: bigint, m: bigint): bigint {
  const r = x % m
  return r < 0n ? r + m : r
}
