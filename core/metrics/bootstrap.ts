/**
 * @module
 * Seeded percentile bootstrap (Efron & Tibshirani 1993, ch. 13): resample with replacement,
 * recompute the statistic, and report the (1 − c)/2 and (1 + c)/2 quantiles of the resampled
 * values. Three designs: one sample, two samples resampled separately (stratified: the
 * watermarked and null sets of an AUC), and pairs resampled together (the paired perplexity
 * difference). Randomness comes only from `seededRng`, so an interval is a pure function of its
 * inputs and seed. These are the reference implementations; the summariser uses exact fast paths
 * with the same distributions: bootstrap-proportion.ts (TPR, FPR), bootstrap-auc.ts and
 * bootstrap-means.ts on shared resampling patterns (resample-counts.ts).
 */
import type { Interval } from '../experiments/types.ts'
import { seededRng } from '../rng.ts'

export interface BootstrapOptions {
  /** Number of resamples B (≥ 1). */
  resamples: number
  /** Seed of the resampling stream; see {@link deriveSeed} for one stream per estimate. */
  seed: number
  /** Two-sided coverage c in (0, 1), e.g. 0.95. */
  confidence: number
}

/**
 * Percentile bootstrap interval of a one-sample statistic. Null when n < 2: one value resamples
 * to itself and says nothing about spread. Resamples whose statistic is NaN are dropped.
 *
 * @example
 * bootstrapCi([3, 1, 4, 1, 5], mean, { resamples: 1000, seed: 7, confidence: 0.95 })
 */
export function bootstrapCi(
  values: ArrayLike<number>,
  statistic: (sample: Float64Array) => number,
  options: BootstrapOptions,
): Interval | null {
  checkOptions(options)
  const n = values.length
  if (n < 2) return null
  const rng = seededRng(options.seed)
  const sample = new Float64Array(n)
  const stats = new Float64Array(options.resamples)
  for (let b = 0; b < options.resamples; b++) {
    for (let i = 0; i < n; i++) sample[i] = values[Math.floor(rng() * n)]
    stats[b] = statistic(sample)
  }
  return percentileInterval(stats, options.confidence)
}

/**
 * Stratified two-sample bootstrap: each resample draws n₊ positives from the positives and n₋
 * negatives from the negatives, so the class sizes stay fixed (the right design for an AUC, whose
 * classes were sampled separately). Null when either sample has fewer than 2 values.
 *
 * @example
 * stratifiedBootstrapCi(wmScores, nullScores, auc, { resamples: 1000, seed: 1, confidence: 0.95 })
 */
export function stratifiedBootstrapCi(
  positives: ArrayLike<number>,
  negatives: ArrayLike<number>,
  statistic: (positives: Float64Array, negatives: Float64Array) => number,
  options: BootstrapOptions,
): Interval | null {
  checkOptions(options)
  const nPos = positives.length
  const nNeg = negatives.length
  if (nPos < 2 || nNeg < 2) return null
  const rng = seededRng(options.seed)
  const pos = new Float64Array(nPos)
  const neg = new Float64Array(nNeg)
  const stats = new Float64Array(options.resamples)
  for (let b = 0; b < options.resamples; b++) {
    for (let i = 0; i < nPos; i++) pos[i] = positives[Math.floor(rng() * nPos)]
    for (let j = 0; j < nNeg; j++) neg[j] = negatives[Math.floor(rng() * nNeg)]
    stats[b] = statistic(pos, neg)
  }
  return percentileInterval(stats, options.confidence)
}

/**
 * Paired bootstrap: resamples indices i and keeps (aᵢ, bᵢ) together, so the interval of a
 * difference reflects the within-pair correlation (same prompt, with and without watermark).
 * Null when there are fewer than 2 pairs.
 *
 * @example
 * pairedBootstrapCi(pplWatermarked, pplPlain, meanDifference, { resamples: 1000, seed: 3, confidence: 0.95 })
 */
export function pairedBootstrapCi(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  statistic: (a: Float64Array, b: Float64Array) => number,
  options: BootstrapOptions,
): Interval | null {
  checkOptions(options)
  if (a.length !== b.length)
    throw new RangeError(`paired samples differ in length: ${a.length} vs ${b.length}`)
  const n = a.length
  if (n < 2) return null
  const rng = seededRng(options.seed)
  const ra = new Float64Array(n)
  const rb = new Float64Array(n)
  const stats = new Float64Array(options.resamples)
  for (let r = 0; r < options.resamples; r++) {
    for (let i = 0; i < n; i++) {
      const k = Math.floor(rng() * n)
      ra[i] = a[k]
      rb[i] = b[k]
    }
    stats[r] = statistic(ra, rb)
  }
  return percentileInterval(stats, options.confidence)
}

/** Arithmetic mean (0 for an empty sample). */
export function mean(values: ArrayLike<number>): number {
  let s = 0
  for (let i = 0; i < values.length; i++) s += values[i]
  return values.length === 0 ? 0 : s / values.length
}

/** Mean of the pairwise differences aᵢ − bᵢ (equal to mean(a) − mean(b), with less round-off). */
export function meanDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] - b[i]
  return a.length === 0 ? 0 : s / a.length
}

/**
 * The percentile interval of bootstrap replicates: the type-7 (linear interpolation) quantiles at
 * (1 − c)/2 and (1 + c)/2. NaN replicates are ignored; null when none is left. Sorts a copy.
 */
export function percentileInterval(replicates: ArrayLike<number>, confidence: number): Interval | null {
  const sorted = Float64Array.from(replicates).sort()
  let n = sorted.length
  while (n > 0 && Number.isNaN(sorted[n - 1])) n-- // a typed-array sort puts NaN last
  if (n === 0) return null
  return {
    low: quantileSorted(sorted, n, (1 - confidence) / 2),
    high: quantileSorted(sorted, n, (1 + confidence) / 2),
  }
}

/** Type-7 quantile of the first n entries of an ascending array. */
function quantileSorted(sorted: ArrayLike<number>, n: number, q: number): number {
  const h = (n - 1) * q
  const lo = Math.floor(h)
  const hi = Math.min(lo + 1, n - 1)
  const x = sorted[lo]
  const y = sorted[hi]
  return x === y ? x : x + (h - lo) * (y - x)
}

/**
 * One seed per estimate: FNV-1a of `label` mixed with the experiment seed. Each interval draws
 * from its own stream, so adding an attack or a cell never changes the other intervals.
 *
 * @example
 * deriveSeed(42, 'auc/3/none/human')
 */
export function deriveSeed(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0
  h = Math.imul(h ^ Math.floor(seed / 4294967296), 0x01000193) >>> 0
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0
  return h
}

/** Rejects options that would make every interval meaningless; names the field and value. */
export function checkOptions(options: BootstrapOptions): void {
  const { resamples, confidence, seed } = options
  if (!(Number.isInteger(resamples) && resamples >= 1 && resamples <= 1_000_000)) {
    throw new RangeError(`resamples must be an integer in [1, 1000000], got ${resamples}`)
  }
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`confidence must be in (0, 1), got ${confidence}`)
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`)
}
