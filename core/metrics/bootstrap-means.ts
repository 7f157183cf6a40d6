/**
 * @module
 * Bootstrap of several means that resamples the shared unit once. In an experiment the unit is
 * the sample (one prompt): its watermarked and unwatermarked perplexities, their difference and
 * its diversity scores are columns of one table. Resampling rows keeps each row's columns
 * together, so a difference column is the paired bootstrap of `pairedBootstrapCi`, and one
 * set of resampling patterns serves every column instead of one stream per statistic.
 */
import type { Interval } from '../experiments/types.ts'
import { type BootstrapOptions, checkOptions, percentileInterval } from './bootstrap.ts'
import { ResampleCounts } from './resample-counts.ts'

/**
 * Percentile intervals of the mean of each column, from resampling rows with replacement.
 * Columns have one entry per row; NaN marks a missing value, and a resample's mean is taken over
 * the values present in it (a resample that holds none is dropped for that column). A column
 * with fewer than 2 present values gets null. Pass `counts` to share resampling patterns across
 * estimates (stream 'units'); its seed and resample count then replace those of `options`.
 *
 * @example
 * // rows = samples; columns = [pplWatermarked, pplPlain, pplWatermarked − pplPlain]
 * bootstrapMeansCi([w, u, d], { resamples: 1000, seed: 9, confidence: 0.95 })
 */
export function bootstrapMeansCi(
  columns: readonly ArrayLike<number>[],
  options: BootstrapOptions,
  counts: ResampleCounts = new ResampleCounts(options.seed, options.resamples),
): (Interval | null)[] {
  checkOptions(options)
  const k = columns.length
  const n = k === 0 ? 0 : columns[0].length
  for (const c of columns) {
    if (c.length !== n) throw new RangeError(`columns differ in length: ${c.length} vs ${n}`)
  }
  // Column-major, missing values as 0 with weight 0; a column with none missing needs no weights.
  const values = columns.map((col) => Float64Array.from(col, (v) => (Number.isNaN(v) ? 0 : v)))
  const present = values.map((_, c) => countPresent(columns[c]))
  const weights = columns.map((col, c) =>
    present[c] === n ? null : Float64Array.from(col, (v) => (Number.isNaN(v) ? 0 : 1)),
  )
  const live = present.map((p) => p >= 2)
  if (!live.some(Boolean)) return live.map(() => null)

  const prefix = counts.prefix(n, 'units')
  const B = counts.resamples
  // Unit by unit, every resample at once: sums[c][b] += (draws of unit i in b) · x[c][i].
  const sums = columns.map(() => new Float64Array(B))
  const taken = weights.map((w) => (w === null ? null : new Float64Array(B)))
  const drawn = new Float64Array(B)
  for (let i = 0; i < n; i++) {
    const lo = i * B
    const hi = lo + B
    for (let b = 0; b < B; b++) drawn[b] = prefix[hi + b] - prefix[lo + b]
    for (let c = 0; c < k; c++) {
      if (!live[c]) continue
      const w = weights[c]
      if (w !== null && w[i] === 0) continue
      axpy(sums[c], drawn, values[c][i])
      const t = taken[c]
      if (t !== null) axpy(t, drawn, 1)
    }
  }
  const replicates = sums.map((s, c) => {
    const t = taken[c]
    return t === null ? s.map((v) => v / n) : s.map((v, b) => (t[b] > 0 ? v / t[b] : Number.NaN))
  })
  return replicates.map((rep, c) => (live[c] ? percentileInterval(rep, options.confidence) : null))
}

function countPresent(values: ArrayLike<number>): number {
  let n = 0
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) n++
  return n
}

/** y += a·x, elementwise. */
function axpy(y: Float64Array, x: Float64Array, a: number): void {
  for (let b = 0; b < y.length; b++) y[b] += a * x[b]
}
