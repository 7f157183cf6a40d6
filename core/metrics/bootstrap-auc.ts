/**
 * @module
 * Stratified bootstrap of the AUC that sorts once. Both samples are merged in score order and cut
 * into blocks: maximal runs of one class, or a group of cross-class ties. Every text in a block
 * relates to every other block the same way, so a resample's U statistic depends only on how many
 * draws land in each block. Blocks are contiguous in each sorted sample, so with the resampling
 * patterns stored as prefix sums (resample-counts.ts) one resample costs one pass over the
 * blocks: a handful for well separated samples, at most n₊ + n₋ when they interleave completely.
 */
import type { Interval } from '../experiments/types.ts'
import { type BootstrapOptions, checkOptions, percentileInterval } from './bootstrap.ts'
import { ResampleCounts } from './resample-counts.ts'
import { sortedAscending } from './roc.ts'

/** Block boundaries: block k holds sorted positives [posEnd[k − 1], posEnd[k]) and likewise negatives. */
interface Blocks {
  posEnd: Int32Array
  negEnd: Int32Array
}

/**
 * Percentile interval of the AUC under the stratified bootstrap (positives and negatives resampled
 * separately, sizes fixed): the same distribution as `stratifiedBootstrapCi(pos, neg, auc, …)`,
 * without sorting per resample. Null when either sample has fewer than 2 scores. Pass `counts` to
 * share resampling patterns across many AUCs (the summariser does); its seed and resample count
 * then replace those of `options`.
 *
 * @example
 * aucBootstrapCi(wmScores, nullScores, { resamples: 1000, seed: 5, confidence: 0.95 })
 */
export function aucBootstrapCi(
  positiveScores: ArrayLike<number>,
  negativeScores: ArrayLike<number>,
  options: BootstrapOptions,
  counts: ResampleCounts = new ResampleCounts(options.seed, options.resamples),
): Interval | null {
  checkOptions(options)
  return aucBootstrapFromSorted(
    sortedAscending(positiveScores),
    sortedAscending(negativeScores),
    options.confidence,
    counts,
  )
}

/** {@link aucBootstrapCi} of samples already sorted ascending, with the patterns of `counts`. */
export function aucBootstrapFromSorted(
  pos: Float64Array,
  neg: Float64Array,
  confidence: number,
  counts: ResampleCounts,
): Interval | null {
  const nPos = pos.length
  const nNeg = neg.length
  if (nPos < 2 || nNeg < 2) return null
  const { posEnd, negEnd } = buildBlocks(pos, neg)
  const blocks = posEnd.length
  // Complete separation, or every score tied: no resample can change the AUC.
  if (blocks === 1) return { low: 0.5, high: 0.5 }
  if (blocks === 2 && posEnd[0] === 0 && negEnd[1] === negEnd[0]) return { low: 1, high: 1 }
  if (blocks === 2 && negEnd[0] === 0 && posEnd[1] === posEnd[0]) return { low: 0, high: 0 }

  // Only blocks that hold positives add to U: block k's positives pair with the negatives below it
  // (2 each) and those tied with it (1 each): 2U = Σₖ Pₖ · (N_below + N_below_or_tied).
  const withPos: number[] = []
  for (let k = 0; k < blocks; k++) if (posEnd[k] > (k === 0 ? 0 : posEnd[k - 1])) withPos.push(k)
  const m = withPos.length
  const posLo = new Int32Array(m)
  const posHi = new Int32Array(m)
  const negLo = new Int32Array(m)
  const negHi = new Int32Array(m)
  withPos.forEach((k, t) => {
    posLo[t] = k === 0 ? 0 : posEnd[k - 1]
    posHi[t] = posEnd[k]
    negLo[t] = k === 0 ? 0 : negEnd[k - 1]
    negHi[t] = negEnd[k]
  })

  const prefPos = counts.prefix(nPos, 'positive')
  const prefNeg = counts.prefix(nNeg, 'negative')
  const B = counts.resamples
  // stats[b] accumulates 2U of resample b; integers below 2⁵³, so exact in any order.
  const stats = new Float64Array(B)
  for (let t = 0; t < m; t++) {
    const pLo = posLo[t] * B
    const pHi = posHi[t] * B
    const nLo = negLo[t] * B
    const nHi = negHi[t] * B
    for (let b = 0; b < B; b++) {
      stats[b] += (prefPos[pHi + b] - prefPos[pLo + b]) * (prefNeg[nLo + b] + prefNeg[nHi + b])
    }
  }
  const scale = 1 / (2 * nPos * nNeg)
  for (let b = 0; b < B; b++) stats[b] *= scale
  return percentileInterval(stats, confidence)
}

/** Merges the two ascending samples into blocks (see the module comment). */
function buildBlocks(pos: Float64Array, neg: Float64Array): Blocks {
  const posEnd: number[] = []
  const negEnd: number[] = []
  let lastPure = -1 // 1 = a run of positives, 0 = of negatives, −1 = none or a tie group
  let i = 0
  let j = 0
  while (i < pos.length || j < neg.length) {
    const s = Math.min(i < pos.length ? pos[i] : Infinity, j < neg.length ? neg[j] : Infinity)
    const i0 = i
    const j0 = j
    while (i < pos.length && pos[i] === s) i++
    while (j < neg.length && neg[j] === s) j++
    const pure = i > i0 && j > j0 ? -1 : i > i0 ? 1 : 0
    // A tie group across classes is its own block; a run of one class extends the previous one.
    if (pure !== -1 && pure === lastPure) {
      posEnd[posEnd.length - 1] = i
      negEnd[negEnd.length - 1] = j
    } else {
      posEnd.push(i)
      negEnd.push(j)
    }
    lastPure = pure
  }
  return { posEnd: Int32Array.from(posEnd), negEnd: Int32Array.from(negEnd) }
}
