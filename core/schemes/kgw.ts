// KGW red/green lists (Kirchenbauer et al.) with torch-CPU MT19937 greenlists, in the seeding
// variants of the references: lm-watermarking `lefthash`/`selfhash`, HF `selfhash`, MarkLLM KGW.
// Greenlist = randperm(V, seed)[0 : ⌊γV⌋]; detection is an exact binomial test of the green count.
import { z } from 'zod'
import { countedMask, redGreenResult, toInt32 } from './detection.ts'
import { KgwSeeder } from './kgw-seed.ts'
import {
  contextWidthSchema,
  deltaSchema,
  gammaSchema,
  hashKeySchema,
  thresholdSchema,
  vocabSchema,
} from './params.ts'
import {
  checkLogits,
  finiteCandidates,
  isFastKernel,
  logitWindow,
  negligibleBelow,
  sampleSoftmax,
  topIds,
} from './sampling.ts'
import type {
  Candidates,
  DetectOptions,
  Rng,
  SchemeDeps,
  SequenceWatermarker,
  WatermarkScheme,
} from './types.ts'

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

export class KgwScheme implements WatermarkScheme {
  readonly vocabSize: number
  readonly pValueThreshold: number
  private readonly p: z.output<typeof kgwParamsSchema>
  private readonly greenCount: number
  private readonly seeder: KgwSeeder
  /** Built on first generation use (detection never needs it). */
  private oneSeed: OneSeedGreenlist | null = null
  /** Self-hash memo: seed · V + token → green (a pure function of both, so caching is exact). */
  private readonly memo = new Map<number, number>()

  constructor(
    readonly name: string,
    params: KgwParams,
    private readonly deps: SchemeDeps,
  ) {
    this.p = kgwParamsSchema.parse(params)
    this.vocabSize = this.p.vocabSize
    this.pValueThreshold = this.p.pValueThreshold
    this.greenCount = Math.floor(this.p.gamma * this.p.vocabSize)
    this.seeder = new KgwSeeder(this.p)
  }

  /** Self-hash variants put the scored token itself into its seed. */
  private get selfSalted(): boolean {
    return this.seeder.selfSalted
  }

  /** Ids before the scored token that its seed needs. */
  private get lookback(): number {
    return this.seeder.lookback
  }

  /**
   * The torch seed (before manual_seed's 32-bit truncation) for the greenlist that decides
   * `ids[end]` (self-hash) or follows ids[end − h .. end − 1] (left-hash).
   */
  seedAt(ids: ArrayLike<number>, end: number): bigint {
    return this.seeder.seed(ids, end)
  }

  detect(
    input: Int32Array | readonly number[],
    options: DetectOptions = {},
  ): ReturnType<WatermarkScheme['detect']> {
    const tokens = toInt32(input)
    const n = tokens.length
    const lookback = this.lookback
    const seeds = new Uint32Array(n)
    this.seeder.seeds(tokens, seeds)
    // The green bit is a function of (seed, token) alone, so the kernel runs once per distinct pair.
    // De-duplication is by that PRF input too, not by n-gram: min-hash seeds collapse many n-grams onto
    // one seed (often the candidate's own term), so n-gram de-duplication would still count the same
    // Bernoulli draw many times and make the binomial p-value anti-conservative on natural text.
    const slot = new Int32Array(n)
    const pairSeeds = new Uint32Array(n)
    const pairTokens = new Int32Array(n)
    const isFirst = new Uint8Array(n)
    const bySeed = new Map<number, Map<number, number>>()
    let pairs = 0
    for (let i = lookback; i < n; i++) {
      let byToken = bySeed.get(seeds[i])
      if (!byToken) {
        byToken = new Map()
        bySeed.set(seeds[i], byToken)
      }
      const known = byToken.get(tokens[i])
      if (known !== undefined) slot[i] = known
      else {
        byToken.set(tokens[i], pairs)
        pairSeeds[pairs] = seeds[i]
        pairTokens[pairs] = tokens[i]
        slot[i] = pairs++
        isFirst[i] = 1
      }
    }
    const pairGreen = new Uint8Array(pairs)
    this.deps.kernel.mtGreen(
      pairSeeds.subarray(0, pairs),
      pairTokens.subarray(0, pairs),
      this.vocabSize,
      this.greenCount,
      pairGreen,
    )
    const green = new Uint8Array(n)
    for (let i = lookback; i < n; i++) green[i] = pairGreen[slot[i]]
    const first = (options.dedup ?? true) ? isFirst : null
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
    let flags = new Uint8Array(0)
    const step = (c: Candidates, rng: Rng) => {
      const w = logitWindow(c, negligibleBelow(c.count, this.p.delta))
      if (flags.length < w.count) flags = new Uint8Array(c.count)
      flags.fill(0, 0, w.count)
      const n = history.length
      if (n >= this.lookback) {
        if (this.selfSalted) this.selfSaltedFlags(history, w, flags)
        else this.greenFlags(this.seeder.seed32(history, n), w, flags)
      }
      const token = sampleSoftmax(w, rng, flags, this.p.delta)
      history.push(token)
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

  /** flags[j] = 1 iff candidate j is in the greenlist of one seed (left-hash, MarkLLM). */
  private greenFlags(seed: number, w: Candidates, flags: Uint8Array): void {
    if (isFastKernel(this.deps.kernel) && w.count <= KERNEL_PER_ID_MAX) {
      const seeds = new Uint32Array(w.count).fill(seed)
      this.deps.kernel.mtGreen(seeds, w.ids.subarray(0, w.count), this.vocabSize, this.greenCount, flags)
      return
    }
    this.oneSeed ??= new OneSeedGreenlist(this.vocabSize, this.greenCount)
    this.oneSeed.flags(seed, w.ids, w.count, flags)
  }

  /** Self-salt: the top candidates are each tested under their own seed; the others are never biased. */
  private selfSaltedFlags(history: readonly number[], w: Candidates, flags: Uint8Array): void {
    const top = topIds(w.logits.subarray(0, w.count), this.p.selfHashCandidates)
    const count = top.length
    const ids = new Int32Array(count)
    for (let k = 0; k < count; k++) ids[k] = w.ids[top[k]]
    const seeds = new Uint32Array(count)
    this.seeder.anchoredSeeds(history, ids, count, seeds)
    // Compact the memo misses to the front of seeds / ids for one kernel call.
    const todo: number[] = []
    for (let k = 0; k < count; k++) {
      const known = this.memo.get(seeds[k] * this.vocabSize + ids[k])
      if (known !== undefined) flags[top[k]] = known
      else {
        seeds[todo.length] = seeds[k]
        ids[todo.length] = ids[k]
        todo.push(top[k])
      }
    }
    if (todo.length === 0) return
    const green = new Uint8Array(todo.length)
    this.deps.kernel.mtGreen(seeds, ids.subarray(0, todo.length), this.vocabSize, this.greenCount, green)
    if (this.memo.size + todo.length > MEMO_MAX) this.memo.clear()
    for (let m = 0; m < todo.length; m++) {
      flags[todo[m]] = green[m]
      if (this.vocabSize <= MEMO_VOCAB_MAX) this.memo.set(seeds[m] * this.vocabSize + ids[m], green[m])
    }
  }
}

/** Up to this many ids, the WASM kernel's one-id-at-a-time membership test beats one tracking pass. */
const KERNEL_PER_ID_MAX = 6
/** Bound on the self-hash (seed, token) → green memo (≈ 5 MB). */
const MEMO_MAX = 1 << 16
/** seed · V + token stays an exact double (seed < 2^32) up to this vocabulary size. */
const MEMO_VOCAB_MAX = 1 << 21

/**
 * Green flags of many ids under ONE seed: id ∈ torch randperm(seed, V)[0 : prefix]. Runs the first
 * `prefix` Fisher–Yates steps once and follows every id's position (a bitmap marks the positions that
 * hold one), instead of building the permutation (V steps over a V-sized array) or walking the steps
 * once per id. The same MT19937 draws and `mt() % (V − i)` as randperm, so the flags are exact.
 */
class OneSeedGreenlist {
  private readonly state = new Int32Array(MT_N)
  /** 1 / (V − i): the modulo becomes a multiply and a one-step correction. */
  private readonly inverse: Float64Array
  /** Bit p set iff position p holds a tracked id (small enough to stay in L1). */
  private readonly marked: Int32Array
  /** position → slot + 1 of the id there, 0 = none */
  private readonly slotAt: Int32Array
  private posOf = new Int32Array(0)

  constructor(
    private readonly vocab: number,
    private readonly prefix: number,
  ) {
    this.inverse = new Float64Array(prefix)
    for (let i = 0; i < prefix; i++) this.inverse[i] = 1 / (vocab - i)
    this.marked = new Int32Array((vocab + 31) >>> 5)
    this.slotAt = new Int32Array(vocab)
  }

  flags(seed: number, ids: Int32Array, count: number, out: Uint8Array): void {
    const { state: s, inverse, marked, slotAt, vocab, prefix } = this
    if (this.posOf.length < count) this.posOf = new Int32Array(count)
    const posOf = this.posOf
    for (let j = 0; j < count; j++) {
      const p = ids[j]
      out[j] = 0
      posOf[j] = p
      slotAt[p] = j + 1
      marked[p >>> 5] |= 1 << (p & 31)
    }
    let left = count
    s[0] = seed
    for (let j = 1; j < MT_N; j++) s[j] = Math.imul(1812433253, s[j - 1] ^ (s[j - 1] >>> 30)) + j
    for (let i = 0; i < prefix && left > 0; ) {
      twist(s)
      const end = Math.min(MT_N, prefix - i)
      for (let k = 0; k < end; k++, i++) {
        let y = s[k]
        y ^= y >>> 11
        y ^= (y << 7) & TEMPER_B
        y ^= (y << 15) & TEMPER_C
        y ^= y >>> 18
        const r = y >>> 0
        // z = r % m: the quotient from the reciprocal is off by at most one either way (m ≥ 2, so q < 2^31)
        const m = vocab - i
        let z = r - ((r * inverse[i]) | 0) * m
        if (z < 0) z += m
        else if (z >= m) z -= m
        const t = i + z
        if ((((marked[t >>> 5] >>> (t & 31)) | (marked[i >>> 5] >>> (i & 31))) & 1) === 0) continue
        // Step i swaps positions i and t: the id at t is settled at i < prefix (green), the id at i moves to t.
        const a = slotAt[t]
        const b = slotAt[i]
        if (a !== 0) {
          out[a - 1] = 1
          slotAt[t] = 0
          marked[t >>> 5] &= ~(1 << (t & 31))
          left--
        }
        if (b !== 0 && t !== i) {
          slotAt[i] = 0
          marked[i >>> 5] &= ~(1 << (i & 31))
          slotAt[t] = b
          marked[t >>> 5] |= 1 << (t & 31)
          posOf[b - 1] = t
        }
      }
    }
    for (let j = 0; j < count; j++) {
      if (out[j]) continue
      const p = posOf[j]
      slotAt[p] = 0
      marked[p >>> 5] &= ~(1 << (p & 31))
    }
  }
}

// MT19937 as torch's CPU generator runs it (core/prf/torch-mt19937.ts), on an Int32Array in place.
const MT_N = 624
const MT_M = 397
const UPPER_MASK = 0x80000000 | 0
const LOWER_MASK = 0x7fffffff
const MATRIX_A = 0x9908b0df | 0
const TEMPER_B = 0x9d2c5680 | 0
const TEMPER_C = 0xefc60000 | 0

function twist(s: Int32Array): void {
  let k = 0
  for (; k < MT_N - MT_M; k++) {
    const y = (s[k] & UPPER_MASK) | (s[k + 1] & LOWER_MASK)
    s[k] = s[k + MT_M] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A)
  }
  for (; k < MT_N - 1; k++) {
    const y = (s[k] & UPPER_MASK) | (s[k + 1] & LOWER_MASK)
    s[k] = s[k + MT_M - MT_N] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A)
  }
  const y = (s[MT_N - 1] & UPPER_MASK) | (s[0] & LOWER_MASK)
  s[MT_N - 1] = s[MT_M - 1] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A)
}
