// KGW red/green lists (Kirchenbauer et al.) with torch-CPU MT19937 greenlists, in the seeding
// variants of the references: lm-watermarking `lefthash`/`selfhash`, HF `selfhash`, MarkLLM KGW.
// Greenlist = randperm(V, seed)[0 : ⌊γV⌋]; detection is an exact binomial test of the green count.
import { z } from 'zod'
import { countedMask, redGreenResult, toInt32 } from './detection.ts'
import { type GreenlistCache, isGreenIn, sharedGreenlists } from './greenlist-cache.ts'
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
  sampleGumbelLazy,
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
  /** ⌊γV⌋: the length of the greenlist prefix of the permutation. */
  readonly greenCount: number
  private readonly seeder: KgwSeeder
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
    this.greenPairs(bySeed, pairSeeds, pairTokens, pairGreen)
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

  /**
   * pairGreen[p] for every distinct (seed, token) pair. A seed whose greenlist is cached (or earns a
   * bitmap now) is answered from it; one that several tokens follow (after "the", ",", …) gets one
   * tracking pass for all of them; the others one membership walk per pair.
   */
  private greenPairs(
    bySeed: Map<number, Map<number, number>>,
    pairSeeds: Uint32Array,
    pairTokens: Int32Array,
    pairGreen: Uint8Array,
  ): void {
    const { kernel } = this.deps
    const trackMin = isFastKernel(kernel) ? KERNEL_PER_ID_MAX + 1 : 2
    const walk: number[] = []
    for (const [seed, byToken] of bySeed) {
      const bitmap = this.bitmapFor(seed, byToken.size)
      if (bitmap) {
        for (const [token, p] of byToken)
          pairGreen[p] = token >= 0 && token < this.vocabSize ? isGreenIn(bitmap, token) : 0
        continue
      }
      if (byToken.size < trackMin) {
        for (const p of byToken.values()) walk.push(p)
        continue
      }
      const ids = Int32Array.from(byToken.keys())
      const flags = new Uint8Array(ids.length)
      kernel.mtGreenOneSeed(seed, ids, this.vocabSize, this.greenCount, flags)
      let j = 0
      for (const p of byToken.values()) pairGreen[p] = flags[j++]
    }
    if (walk.length === 0) return
    const seeds = Uint32Array.from(walk, (p) => pairSeeds[p])
    const tokens = Int32Array.from(walk, (p) => pairTokens[p])
    const flags = new Uint8Array(walk.length)
    kernel.mtGreen(seeds, tokens, this.vocabSize, this.greenCount, flags)
    for (let j = 0; j < walk.length; j++) pairGreen[walk[j]] = flags[j]
  }

  watermarker(prompt: readonly number[] = []): SequenceWatermarker {
    const history = [...prompt]
    let flags = new Uint8Array(0)
    const step = (c: Candidates, rng: Rng) => {
      const w = logitWindow(c, negligibleBelow(c.count, this.p.delta))
      if (flags.length < w.count) flags = new Uint8Array(c.count)
      flags.fill(0, 0, w.count)
      const n = history.length
      let token: number
      if (n < this.lookback)
        token = sampleSoftmax(w, rng) // no context yet: nothing to bias
      else if (this.selfSalted) token = this.sampleSelfSalted(history, w, rng, flags)
      else token = this.sampleOneSeed(this.seeder.seed32(history, n), w, rng, flags)
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

  private get greenlists(): GreenlistCache | null {
    return this.deps.greenlists === undefined ? sharedGreenlists : this.deps.greenlists
  }

  /**
   * The cached greenlist bitmap of `seed`, building it once the seed has been asked for enough work
   * (`walks`: what answering without it costs now, in membership walks; see GreenlistCache);
   * undefined while it is not worth one.
   */
  private bitmapFor(seed: number, walks: number): Uint32Array | undefined {
    return this.cachedBitmap(seed) ?? this.admit(seed, walks)
  }

  private cachedBitmap(seed: number): Uint32Array | undefined {
    const cache = this.greenlists
    if (!cache || this.greenCount <= 0 || this.greenCount >= this.vocabSize) return undefined
    return cache.get(this.vocabSize, this.greenCount, seed)
  }

  /** Counts `walks` spent on an uncached seed; builds and caches its bitmap once that earns one. */
  private admit(seed: number, walks: number): Uint32Array | undefined {
    const cache = this.greenlists
    if (!cache || this.greenCount <= 0 || this.greenCount >= this.vocabSize) return undefined
    if (!cache.recurring(this.vocabSize, this.greenCount, seed, walks)) return undefined
    const bitmap = new Uint32Array(Math.ceil(this.vocabSize / 32))
    this.deps.kernel.mtGreenBitmap(seed, this.vocabSize, this.greenCount, bitmap)
    cache.set(this.vocabSize, this.greenCount, seed, bitmap)
    return bitmap
  }

  /**
   * Left-hash, MarkLLM: every candidate shares one seed. Up to GUMBEL_CANDIDATES of them (top-k, top-p),
   * a Gumbel-max draw needs only a few of their flags (≈ 1.6 membership walks per step at γ = 0.5, ≈ 2.5
   * at γ = 0.25 on brown-lm's top-k 50 rows, where a tracking pass follows all of them). A larger window
   * (unfiltered sampling) gets every flag at once and the inverse-CDF draw; a cached greenlist answers
   * either. Which draw runs depends on the window alone, never on the cache, so the same request always
   * gives the same text.
   */
  private sampleOneSeed(seed: number, w: Candidates, rng: Rng, flags: Uint8Array): number {
    const ids = w.ids
    if (w.count > GUMBEL_CANDIDATES) {
      const bitmap = this.bitmapFor(seed, TRACKING_PASS_WALKS)
      if (bitmap) for (let j = 0; j < w.count; j++) flags[j] = isGreenIn(bitmap, ids[j])
      else
        this.deps.kernel.mtGreenOneSeed(
          seed,
          ids.subarray(0, w.count),
          this.vocabSize,
          this.greenCount,
          flags,
        )
      return sampleSoftmax(w, rng, flags, this.p.delta)
    }
    const bitmap = this.cachedBitmap(seed)
    if (bitmap) for (let j = 0; j < w.count; j++) flags[j] = isGreenIn(bitmap, ids[j])
    const top = topIds(w.logits.subarray(0, w.count), w.count)
    let walks = 0
    const passWalks = this.deps.kernel.trackingPassWalks ?? TRACKING_PASS_COST_WALKS
    const resolve = (contenders: readonly number[]) => {
      if (bitmap) return contenders.length
      // About 1/γ leaders are walked before one turns out green and wins: past a tracking pass's cost
      // in walks, one pass settles every contender instead.
      const all = Math.min(contenders.length, 1 / (this.greenCount / this.vocabSize)) > passWalks
      const js = all ? contenders.map((k) => top[k]) : [top[contenders[0]]]
      const out = new Uint8Array(js.length)
      const at = new Int32Array(js.length)
      for (let m = 0; m < js.length; m++) at[m] = ids[js[m]]
      if (all) this.deps.kernel.mtGreenOneSeed(seed, at, this.vocabSize, this.greenCount, out)
      else this.deps.kernel.mtGreen(Uint32Array.of(seed), at, this.vocabSize, this.greenCount, out)
      for (let m = 0; m < js.length; m++) flags[js[m]] = out[m]
      walks += all ? TRACKING_PASS_COST_WALKS : 1
      return js.length
    }
    const token = sampleGumbelLazy(w, rng, top, resolve, flags, this.p.delta)
    // The walks this seed actually cost count toward its bitmap (built for its next steps).
    if (walks > 0) this.admit(seed, walks)
    return token
  }

  /**
   * Self-salt: the top candidates are each tested under their own seed; the others are never biased.
   * Each test is a membership walk of up to γV draws, so they run lazily: only the ones it takes to
   * know which token a Gumbel-max draw picks (sampleGumbelLazy: ≈ 2.5 per step on top-k 50 rows).
   */
  private sampleSelfSalted(history: readonly number[], w: Candidates, rng: Rng, flags: Uint8Array): number {
    const top = topIds(w.logits.subarray(0, w.count), this.p.selfHashCandidates)
    const ids = new Int32Array(top.length)
    for (let k = 0; k < top.length; k++) ids[k] = w.ids[top[k]]
    const seeds = new Uint32Array(top.length)
    this.seeder.anchoredSeeds(history, ids, top.length, seeds)
    const green = new Uint8Array(1)
    // The leader's flag: from the memo, else one walk under its own seed.
    const resolve = ([k]: readonly number[]) => {
      const key = seeds[k] * this.vocabSize + ids[k]
      let g = this.memo.get(key)
      if (g === undefined) {
        this.deps.kernel.mtGreen(
          seeds.subarray(k, k + 1),
          ids.subarray(k, k + 1),
          this.vocabSize,
          this.greenCount,
          green,
        )
        g = green[0]
        if (this.memo.size >= MEMO_MAX) this.memo.clear()
        if (this.vocabSize <= MEMO_VOCAB_MAX) this.memo.set(key, g)
      }
      flags[top[k]] = g
      return 1
    }
    return sampleGumbelLazy(w, rng, top, resolve, flags, this.p.delta)
  }
}

/**
 * Up to this many ids under one seed, the WASM kernel's membership walk per id (≈ 0.9 ns per step,
 * ≈ 0.875·γV steps: 35 µs at V = 151,936, γ = 0.25) beats one tracking pass over all of them (≈ 2.2 ns
 * per step, γV steps: 72–87 µs) — bench/greenlist-tracking.bench.ts.
 */
const KERNEL_PER_ID_MAX = 2
/** One-seed generation draws Gumbel-max, resolving flags lazily, over windows of up to this many candidates. */
export const GUMBEL_CANDIDATES = 64
/** A tracking pass (or a bitmap) costs about this many membership walks. */
const TRACKING_PASS_WALKS = 4
/**
 * A tracking pass over a few ids costs about this many single-id walks in the WASM kernel (100 vs 50 µs
 * at γ = 0.25, 199 vs 63 µs at γ = 0.5 at V = 151,936: bench/greenlist-tracking.bench.ts); a kernel
 * with faster walks says so (ScoringKernel.trackingPassWalks).
 */
const TRACKING_PASS_COST_WALKS = 2.5
/** Bound on the self-hash (seed, token) → green memo (≈ 5 MB). */
const MEMO_MAX = 1 << 16
/** seed · V + token stays an exact double (seed < 2^32) up to this vocabulary size. */
const MEMO_VOCAB_MAX = 1 << 21
