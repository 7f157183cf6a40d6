/**
 * @module
 * ROC curve and AUC of a detector score that is larger for watermarked texts. In the lab the
 * score is −ln p (−log10 p orders texts identically), so the curve sweeps the p-value threshold
 * from 0 to 1 over every observed value; it describes the score's separating power and is not
 * used to pick an operating threshold.
 */
import type { RocPoint } from '../experiments/types.ts'

/**
 * ROC points from (0, 0) to (1, 1), one per distinct score: lowering the threshold past a score s
 * flags every text scoring ≥ s. Texts tied across the classes move both rates in one step, so a
 * tie is drawn as a diagonal segment (the expected curve under random tie-breaking), which keeps
 * the area under these points equal to {@link auc}. When a class is empty the rates are
 * undefined and the chance diagonal [(0, 0), (1, 1)] is returned.
 *
 * @example
 * rocCurve([3, 2], [2, 1]) // (0,0) (0,½) (½,1) (1,1)
 */
export function rocCurve(positiveScores: ArrayLike<number>, negativeScores: ArrayLike<number>): RocPoint[] {
  return rocFromSorted(sortedAscending(positiveScores), sortedAscending(negativeScores))
}

/** {@link rocCurve} of samples already sorted ascending (the summariser sorts each sample once). */
export function rocFromSorted(pos: Float64Array, neg: Float64Array): RocPoint[] {
  const nPos = pos.length
  const nNeg = neg.length
  if (nPos === 0 || nNeg === 0) {
    return [
      { fpr: 0, tpr: 0 },
      { fpr: 1, tpr: 1 },
    ]
  }
  const points: RocPoint[] = [{ fpr: 0, tpr: 0 }]
  // i, j: texts still below the threshold; the threshold walks down from the top score.
  let i = nPos
  let j = nNeg
  while (i > 0 || j > 0) {
    const s = Math.max(i > 0 ? pos[i - 1] : -Infinity, j > 0 ? neg[j - 1] : -Infinity)
    while (i > 0 && pos[i - 1] === s) i--
    while (j > 0 && neg[j - 1] === s) j--
    points.push({ fpr: (nNeg - j) / nNeg, tpr: (nPos - i) / nPos })
  }
  return points
}

/**
 * Area under the ROC curve, exactly: the Mann–Whitney U statistic over n₊n₋,
 * AUC = (1 / n₊n₋) Σᵢ Σⱼ [sᵢ > tⱼ] + ½ [sᵢ = tⱼ], i.e. the probability that a random watermarked
 * text outscores a random null text, ties counted ½. Both samples are sorted once: O(n log n).
 * Throws when a sample is empty (the AUC is undefined; the summariser reports that case itself).
 *
 * @example
 * auc([3, 2], [2, 1]) // (2 + 1.5) / 4 = 0.875
 */
export function auc(positiveScores: ArrayLike<number>, negativeScores: ArrayLike<number>): number {
  return aucFromSorted(sortedAscending(positiveScores), sortedAscending(negativeScores))
}

/** {@link auc} of samples already sorted ascending. */
export function aucFromSorted(pos: Float64Array, neg: Float64Array): number {
  const nPos = pos.length
  const nNeg = neg.length
  if (nPos === 0 || nNeg === 0) {
    throw new RangeError(`auc needs both samples non-empty, got ${nPos} positives and ${nNeg} negatives`)
  }
  // For each positive (ascending), `below` negatives score strictly less and `upTo` at most as much.
  let below = 0
  let upTo = 0
  let u2 = 0 // 2U, an integer: exact in a double for any sample that fits in memory
  for (let i = 0; i < nPos; i++) {
    const s = pos[i]
    while (below < nNeg && neg[below] < s) below++
    if (upTo < below) upTo = below
    while (upTo < nNeg && neg[upTo] <= s) upTo++
    u2 += below + upTo
  }
  return u2 / (2 * nPos * nNeg)
}

/**
 * Thins a curve to at most `maxPoints` points while keeping its shape: greedy Ramer–Douglas–
 * Peucker, which repeatedly keeps the point farthest from the chord of its span until the budget
 * is spent or every dropped point lies on a chord. The endpoints are always kept, and so are
 * the corners of a staircase before its collinear steps.
 *
 * @example
 * downsampleRoc(rocCurve(wm, nulls), 200).length // ≤ 200
 */
export function downsampleRoc(points: readonly RocPoint[], maxPoints = 200): RocPoint[] {
  if (!(Number.isInteger(maxPoints) && maxPoints >= 2)) {
    throw new RangeError(`maxPoints must be an integer ≥ 2, got ${maxPoints}`)
  }
  if (points.length <= maxPoints) return points.slice()
  const keep = new Uint8Array(points.length)
  keep[0] = 1
  keep[points.length - 1] = 1
  const spans: Span[] = [farthest(points, 0, points.length - 1)]
  for (let kept = 2; kept < maxPoints; kept++) {
    let best = -1
    for (let s = 0; s < spans.length; s++) if (best < 0 || spans[s].distance > spans[best].distance) best = s
    const span = spans[best]
    if (best < 0 || !(span.distance > 0)) break
    keep[span.at] = 1
    spans[best] = farthest(points, span.from, span.at)
    spans.push(farthest(points, span.at, span.to))
  }
  return points.filter((_, i) => keep[i] === 1)
}

interface Span {
  from: number
  to: number
  /** Index of the point farthest from the chord from→to, and its distance (0 if none). */
  at: number
  distance: number
}

function farthest(points: readonly RocPoint[], from: number, to: number): Span {
  const a = points[from]
  const b = points[to]
  const dx = b.fpr - a.fpr
  const dy = b.tpr - a.tpr
  const norm = Math.hypot(dx, dy)
  let at = from
  let distance = 0
  for (let i = from + 1; i < to; i++) {
    const p = points[i]
    const d =
      norm > 0
        ? Math.abs(dx * (p.tpr - a.tpr) - dy * (p.fpr - a.fpr)) / norm
        : Math.hypot(p.fpr - a.fpr, p.tpr - a.tpr)
    if (d > distance) {
      distance = d
      at = i
    }
  }
  return { from, to, at, distance }
}

/** A sorted copy (ascending) as a Float64Array; NaN has no rank, so it is rejected. */
export function sortedAscending(values: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(values)
  for (let i = 0; i < out.length; i++) {
    if (Number.isNaN(out[i])) throw new RangeError(`scores must not be NaN (index ${i})`)
  }
  return out.sort()
}
