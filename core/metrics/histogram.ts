/**
 * @module
 * Histograms of −log10 p. Variants plotted together (watermarked, unwatermarked, human) share one
 * set of edges, so their bars line up and their counts compare bin by bin.
 */
import type { Histogram } from '../experiments/types.ts'

/** Bins a shared set of edges has at most, unless the caller asks otherwise. */
export const DEFAULT_MAX_BINS = 30

/**
 * −log10 p from ln p: 0 for p = 1, 300 for p = 1e-300. Values a rounding error put above ln 1 = 0
 * are read as p = 1.
 *
 * @example
 * negLog10P(Math.log(1e-5)) // 5
 */
export function negLog10P(logPValue: number): number {
  return Math.max(0, -logPValue / Math.LN10)
}

/**
 * Edges from 0 to the largest finite value over all samples, with a "nice" width (1, 2 or 5 × 10ᵏ)
 * so that at most `maxBins` bins cover it. [0, 1] when there is nothing above 0.
 *
 * @example
 * sharedEdges([[0.3, 4.2], [13]], 10) // [0, 2, 4, …, 14]
 */
export function sharedEdges(samples: readonly ArrayLike<number>[], maxBins = DEFAULT_MAX_BINS): number[] {
  if (!(Number.isInteger(maxBins) && maxBins >= 1)) {
    throw new RangeError(`maxBins must be a positive integer, got ${maxBins}`)
  }
  let hi = 0
  for (const s of samples) for (let i = 0; i < s.length; i++) if (s[i] > hi && s[i] < Infinity) hi = s[i]
  if (hi === 0) return [0, 1]
  const width = niceWidth(hi / maxBins)
  const bins = Math.max(1, Math.min(maxBins, Math.ceil(hi / width)))
  // toPrecision trims the binary round-off of i × width (3 × 0.1 = 0.30000000000000004).
  return Array.from({ length: bins + 1 }, (_, i) => Number((i * width).toPrecision(12)))
}

/**
 * Counts of `values` in the bins of `edges`: bin i holds edges[i] ≤ v < edges[i + 1]; the last bin
 * is closed and takes everything above it (an infinite −log10 p included), the first everything
 * below. NaN is not counted.
 *
 * @example
 * histogram([0, 1.5, 2, 9], [0, 1, 2, 3]) // counts [1, 1, 2]
 */
export function histogram(values: ArrayLike<number>, edges: readonly number[]): Histogram {
  const bins = edges.length - 1
  if (bins < 1) throw new RangeError(`edges need at least 2 entries, got ${edges.length}`)
  const counts = new Array<number>(bins).fill(0)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (Number.isNaN(v)) continue
    // Binary search for the last edge ≤ v, so values exactly on an edge never depend on round-off.
    let lo = 0
    let hi = bins - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (edges[mid] <= v) lo = mid
      else hi = mid - 1
    }
    counts[lo]++
  }
  return { edges: edges.slice(), counts }
}

/**
 * One histogram of −log10 p per sample of ln p values, all on shared edges.
 *
 * @example
 * const [wm, plain, human] = pValueHistograms([wmLogP, plainLogP, humanLogP])
 */
export function pValueHistograms(
  logPSamples: readonly ArrayLike<number>[],
  maxBins = DEFAULT_MAX_BINS,
): Histogram[] {
  const scores = logPSamples.map((s) => Float64Array.from(s, negLog10P))
  const edges = sharedEdges(scores, maxBins)
  return scores.map((s) => histogram(s, edges))
}

function niceWidth(raw: number): number {
  const scale = 10 ** Math.floor(Math.log10(raw))
  for (const m of [1, 2, 5, 10]) if (m * scale >= raw) return m * scale
  return 10 * scale
}
