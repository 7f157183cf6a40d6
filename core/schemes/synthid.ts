// SynthID-Text (Dathathri et al., Nature 2024): tournament sampling over g-values keyed on the
// previous ngramLen − 1 ids; detection by the mean (or weighted mean) g-value over n-grams whose
// context was not seen in the last `historySize` contexts. Both hash versions (table / 2025).
import { sha256 } from '@noble/hashes/sha2.js'
import { z } from 'zod'
import { seededRng } from '../rng.ts'
import type { ScoringKernel } from '../kernel/types.ts'
import {
  synthidContextHash,
  synthidContextHashesForSequence,
  synthidGValuesForTokens,
} from '../prf/synthid.ts'
import { binomialLogSf, normalLogSf } from '../stats/index.ts'
import { scoreSumResult, toInt32 } from './detection.ts'
import { keySchema, thresholdSchema, vocabSchema } from './params.ts'
import {
  checkLogits,
  finiteCandidates,
  isFastKernel,
  logitWindow,
  negligibleBelow,
  sampleCategorical,
  sampleSoftmax,
  softmaxInto,
} from './sampling.ts'
import {
  ContextRepetitionTracker,
  contextRepetitionMask,
  defaultSynthidWeights,
  eosNgramMask,
  tournamentUpdate,
} from './synthid-core.ts'
import type {
  Candidates,
  DetectOptions,
  DetectionResult,
  Rng,
  SchemeDeps,
  SequenceWatermarker,
  WatermarkScheme,
} from './types.ts'

export const synthidParamsSchema = z
  .object({
    /** Explicit per-layer keys (the references' form); otherwise derived from `key`. */
    keys: z.array(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)).min(1).max(64).optional(),
    key: keySchema.optional(),
    hash: z.enum(['table', '2025']),
    vocabSize: vocabSchema,
    ngramLen: z.number().int().min(1).max(32),
    depth: z.number().int().min(1).max(64),
    numLeaves: z.number().int().min(2).max(64),
    historySize: z
      .number()
      .int()
      .min(1)
      .max(1 << 20),
    scoring: z.enum(['mean', 'weighted-mean']),
    eosTokenId: z.number().int().optional(),
    pValueThreshold: thresholdSchema,
  })
  .strict()
  .refine((p) => p.keys !== undefined || p.key !== undefined, 'synthid needs `keys` or `key`')
export type SynthidParams = z.input<typeof synthidParamsSchema>

/** Per-layer keys from one 64-bit secret: SHA-256("synthid-keys" ‖ key ‖ layer), 53 bits each. */
export function deriveSynthidKeys(key: bigint, depth: number): number[] {
  const keys: number[] = []
  for (let l = 0; l < depth; l++) {
    const msg = new Uint8Array(12 + 8 + 4)
    msg.set(new TextEncoder().encode('synthid-keys'))
    const view = new DataView(msg.buffer)
    view.setBigUint64(12, key, false)
    view.setUint32(20, l, false)
    const d = new DataView(sha256(msg).buffer)
    keys.push(Number(d.getBigUint64(0, false) >> 11n))
  }
  return keys
}

interface NullModel {
  /** P(g = 1) per layer bit, averaged. */
  p0: number
  /** Var(Σ_l g) / (depth·p0·(1 − p0)): layer bits are not exactly independent (≈ 1.06 for 2025). */
  dispersion: number
}

const nullCache = new Map<string, NullModel>()

/**
 * The null distribution of one position's g-row, measured once per key set on 20,000 pseudo-random
 * n-grams (fixed seed). The mean-score test is then a binomial with the counts divided by the
 * dispersion (quasi-binomial): exact when the layers are independent, honest when they are not.
 */
function nullModel(
  kernel: ScoringKernel,
  variant: 'table' | '2025',
  keys: readonly number[],
  ngramLen: number,
): NullModel {
  const id = `${variant}|${ngramLen}|${keys.join(',')}`
  const cached = nullCache.get(id)
  if (cached) return cached
  const rng = seededRng(0x5eed)
  const depth = keys.length
  const samples = 20_000
  const ids = new Int32Array(samples + ngramLen - 1)
  for (let i = 0; i < ids.length; i++) ids[i] = Math.floor(rng() * 200_000)
  const g = new Uint8Array(samples * depth)
  kernel.synthidGValues(ids, ngramLen - 1, keys, variant, g)
  let sum = 0
  let sumSq = 0
  for (let p = 0; p < samples; p++) {
    let s = 0
    for (let l = 0; l < depth; l++) s += g[p * depth + l]
    sum += s
    sumSq += s * s
  }
  const mean = sum / samples
  const variance = sumSq / samples - mean * mean
  const p0 = mean / depth
  const model = { p0, dispersion: Math.max(1, variance / (depth * p0 * (1 - p0))) }
  nullCache.set(id, model)
  return model
}

export class SynthidScheme implements WatermarkScheme {
  readonly vocabSize: number
  readonly pValueThreshold: number
  readonly keys: readonly number[]
  private readonly p: z.output<typeof synthidParamsSchema>
  /** Kernel scratch for generation: the candidates' n-grams. */
  private seq = new Int32Array(0)

  constructor(
    readonly name: string,
    params: SynthidParams,
    private readonly deps: SchemeDeps,
  ) {
    this.p = synthidParamsSchema.parse(params)
    this.vocabSize = this.p.vocabSize
    this.pValueThreshold = this.p.pValueThreshold
    this.keys = this.p.keys ?? deriveSynthidKeys(this.p.key!, this.p.depth)
  }

  get depth(): number {
    return this.keys.length
  }

  /** g-values (positions × depth) of every full n-gram, from the scoring kernel. */
  gValues(tokens: Int32Array): Uint8Array {
    const positions = Math.max(0, tokens.length - this.p.ngramLen + 1)
    const g = new Uint8Array(positions * this.depth)
    if (positions > 0) this.deps.kernel.synthidGValues(tokens, this.p.ngramLen - 1, this.keys, this.p.hash, g)
    return g
  }

  detect(input: Int32Array | readonly number[], options: DetectOptions = {}): DetectionResult {
    const tokens = toInt32(input)
    const n = tokens.length
    const depth = this.depth
    const offset = this.p.ngramLen - 1
    const g = this.gValues(tokens)
    const positions = g.length / depth
    const ids = Array.from(tokens)
    const repeat =
      (options.dedup ?? true)
        ? contextRepetitionMask(
            synthidContextHashesForSequence(this.p.hash, this.keys, ids, this.p.ngramLen),
            this.p.historySize,
          )
        : new Uint8Array(positions).fill(1)
    const eos = eosNgramMask(ids, this.p.ngramLen, this.p.eosTokenId)
    const weighted = this.p.scoring === 'weighted-mean'
    const w = weighted ? defaultSynthidWeights(depth) : new Float64Array(depth).fill(1)
    const scores = new Float64Array(n)
    const counted = new Uint8Array(n)
    for (let p = 0; p < positions; p++) {
      let s = 0
      for (let l = 0; l < depth; l++) if (g[p * depth + l]) s += w[l]
      scores[p + offset] = s
      counted[p + offset] = repeat[p] & eos[p]
    }
    const model = nullModel(this.deps.kernel, this.p.hash, this.keys, this.p.ngramLen)
    // Mean: quasi-binomial on the ones; weighted mean: normal approximation with the null moments.
    const logPOf = weighted
      ? (sum: number, count: number) => {
          let sq = 0
          for (let l = 0; l < depth; l++) sq += w[l] * w[l]
          const sd = Math.sqrt(count * sq * model.p0 * (1 - model.p0) * model.dispersion)
          return normalLogSf((sum - count * depth * model.p0) / sd)
        }
      : (sum: number, count: number) =>
          binomialLogSf(
            Math.round(sum / model.dispersion),
            Math.round((count * depth) / model.dispersion),
            model.p0,
          )
    const result = scoreSumResult({
      scheme: this.name,
      tokens,
      scores,
      counted,
      threshold: options.pValueThreshold ?? this.pValueThreshold,
      options,
      scorable: (i) => i >= offset,
      logPOf,
      zOf: (sum, count) =>
        (sum - count * depth * model.p0) /
        Math.sqrt(count * depth * model.p0 * (1 - model.p0) * model.dispersion),
    })
    // Report the mean g-value (the references' score) rather than the raw sum.
    result.statistic = result.scored === 0 ? 0 : result.statistic / (result.scored * depth)
    if (result.perToken) for (const t of result.perToken) if (t.score !== null) t.score /= depth
    return result
  }

  watermarker(): SequenceWatermarker {
    // The context starts as zeros and only generated ids enter it (as the references' state).
    const context: number[] = new Array(this.p.ngramLen - 1).fill(0)
    const history = new ContextRepetitionTracker(this.p.historySize)
    const depth = this.depth
    // Each layer multiplies a probability by at most numLeaves (and conserves the total).
    const boost = depth * Math.log(this.p.numLeaves)
    let probs = new Float64Array(0)
    let g = new Uint8Array(0)
    const step = (c: Candidates, rng: Rng) => {
      let token: number
      if (history.seen(synthidContextHash(this.p.hash, this.keys, context))) {
        token = sampleSoftmax(logitWindow(c, negligibleBelow(c.count, 0)), rng)
      } else {
        const w = logitWindow(c, negligibleBelow(c.count, boost))
        if (probs.length < w.count) {
          probs = new Float64Array(c.count)
          g = new Uint8Array(c.count * depth)
        }
        const p = softmaxInto(w, probs.subarray(0, w.count))
        this.candidateGValues(context, w, g)
        token = w.ids[sampleCategorical(tournamentUpdate(p, g, depth, this.p.numLeaves, p), rng)]
      }
      context.push(token)
      context.shift()
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

  /** g-values (candidate × depth) of the candidates after `context`, into `out`. */
  private candidateGValues(context: readonly number[], w: Candidates, out: Uint8Array): void {
    const ids = w.ids.subarray(0, w.count)
    if (!isFastKernel(this.deps.kernel)) {
      synthidGValuesForTokens(this.p.hash, this.keys, context, ids, out)
      return
    }
    // The kernel scores n-grams of a sequence: lay out [context, candidate] per candidate and score
    // every ngramLen-th position (each candidate's), in chunks so the scratch stays small.
    const stride = this.p.ngramLen
    const depth = this.depth
    const chunk = Math.min(KERNEL_CHUNK, ids.length)
    if (this.seq.length < chunk * stride) this.seq = new Int32Array(chunk * stride)
    for (let at = 0; at < ids.length; at += chunk) {
      const m = Math.min(chunk, ids.length - at)
      for (let j = 0; j < m; j++) {
        for (let k = 0; k < stride - 1; k++) this.seq[j * stride + k] = context[k]
        this.seq[j * stride + stride - 1] = ids[at + j]
      }
      this.deps.kernel.synthidGValues(
        this.seq.subarray(0, m * stride),
        stride - 1,
        this.keys,
        this.p.hash,
        out.subarray(at * depth, (at + m) * depth),
        stride,
      )
    }
  }
}

/** Candidates per kernel call when laying out n-grams for the WASM kernel. */
const KERNEL_CHUNK = 512
