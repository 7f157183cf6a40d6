/**
 * @module
 * Resampling patterns drawn once and reused. A bootstrap resample of n units is fully described
 * by how often it draws each unit (a Multinomial(n; 1/n, …, 1/n) count vector), whatever the
 * units hold. The pattern is stored as prefix sums, so the number of draws that land in any
 * contiguous range of units (a block of a sorted sample) is one subtraction.
 *
 * Every estimate of a summary that resamples n units in the same stream reuses the same B
 * patterns (common random numbers). Each interval on its own is an ordinary bootstrap interval;
 * only their Monte-Carlo errors are correlated, which leaves each interval's coverage unchanged
 * and makes differences between cells less noisy. Streams that must be independent within one
 * estimate (the positives and the negatives of an AUC) use different stream names.
 */
import { seededRng } from '../rng.ts'
import { deriveSeed } from './bootstrap.ts'

/** Cached prefix values (4 bytes each) a `ResampleCounts` keeps before evicting the oldest. */
const DEFAULT_CACHE_VALUES = 16_000_000

/**
 * B resampling patterns per (stream, n), drawn on first use from a seed derived from both.
 *
 * @example
 * const counts = new ResampleCounts(42, 1000)
 * const prefix = counts.prefix(2000, 'positive') // prefix[i·1000 + b]: resample b's draws on units < i
 */
export class ResampleCounts {
  readonly seed: number
  readonly resamples: number
  private readonly cache = new Map<string, Int32Array>()
  private cached = 0

  constructor(
    seed: number,
    resamples: number,
    private readonly cacheValues = DEFAULT_CACHE_VALUES,
  ) {
    this.seed = seed
    this.resamples = resamples
  }

  /**
   * Prefix sums of the B count vectors for n units, unit-major (shape (n + 1) × B):
   * prefix[i·B + b] is how many of resample b's n draws fell on units 0..i − 1. The B resamples
   * of one boundary are contiguous, so a kernel that loops over resamples innermost streams
   * through memory with independent accumulators.
   */
  prefix(n: number, stream: string): Int32Array {
    const key = `${stream}/${n}`
    const hit = this.cache.get(key)
    if (hit !== undefined) return hit
    const out = drawPrefix(n, this.resamples, deriveSeed(this.seed, `resample/${key}`))
    this.cache.set(key, out)
    this.cached += out.length
    // Oldest first (a Map iterates in insertion order); the newest entry always stays.
    for (const [k, v] of this.cache) {
      if (this.cached <= this.cacheValues || k === key) break
      this.cache.delete(k)
      this.cached -= v.length
    }
    return out
  }
}

function drawPrefix(n: number, resamples: number, seed: number): Int32Array {
  const rng = seededRng(seed)
  const out = new Int32Array((n + 1) * resamples)
  const counts = new Int32Array(n)
  for (let b = 0; b < resamples; b++) {
    counts.fill(0)
    for (let i = 0; i < n; i++) counts[Math.floor(rng() * n)]++
    for (let i = 0; i < n; i++) out[(i + 1) * resamples + b] = out[i * resamples + b] + counts[i]
  }
  return out
}
