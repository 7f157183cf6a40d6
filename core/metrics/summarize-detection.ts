/**
 * @module
 * Detection metrics of one (cell, attack) and of one cell's null texts, for the summariser.
 * Thresholds are the target FPRs themselves (reject when p ≤ α); nothing is tuned on the data.
 */
import type {
  CellAttackMetrics,
  Estimate,
  FprEstimate,
  Interval,
  RocPoint,
  TprPoint,
} from '../experiments/types.ts'
import type { BootstrapOptions } from './bootstrap.ts'
import { aucBootstrapFromSorted } from './bootstrap-auc.ts'
import { proportionBootstrapCi } from './bootstrap-proportion.ts'
import { countRejections, verifiable } from './detection.ts'
import { pValueHistograms } from './histogram.ts'
import type { ResampleCounts } from './resample-counts.ts'
import { aucFromSorted, downsampleRoc, rocFromSorted, sortedAscending } from './roc.ts'
import type { CellGroup, ScoredRow } from './summarize-groups.ts'
import { logPAt } from './summarize-groups.ts'
import type { ExclusionTally } from './summarize-notes.ts'

/** Most points a stored ROC curve keeps. */
export const MAX_ROC_POINTS = 200

/** Settings and scratch every estimate of one summary shares. */
export interface SummaryContext {
  alphas: readonly number[]
  lengths: readonly number[]
  /** Options with a seed of the estimate's own (proportions draw from their own stream). */
  boot: (label: string) => BootstrapOptions
  confidence: number
  /** Resampling patterns shared by every AUC and mean (see resample-counts.ts). */
  counts: ResampleCounts
}

/** Whole-text ln p of the rows that have one. */
export function wholeLogPs(rows: readonly ScoredRow[]): Float64Array {
  const out: number[] = []
  for (const r of rows) if (r.logP !== null) out.push(r.logP)
  return Float64Array.from(out)
}

/** Rejection rate at α with its bootstrap interval; value 0 and no interval when n = 0. */
export function rateEstimate(logPs: Float64Array, alpha: number, options: BootstrapOptions): Estimate {
  const n = logPs.length
  const k = countRejections(logPs, alpha)
  return { value: n === 0 ? 0 : k / n, ci: proportionBootstrapCi(k, n, options) }
}

/** Empirical FPR of a null set at every α. */
export function fprEstimates(nullLogPs: Float64Array, context: SummaryContext, label: string): FprEstimate[] {
  return context.alphas.map((alpha) => ({
    alpha,
    fpr: rateEstimate(nullLogPs, alpha, context.boot(`fpr/${label}/${alpha}`)),
    n: nullLogPs.length,
    verifiable: verifiable(nullLogPs.length, alpha),
  }))
}

/** What the detection of one attack needs from its cell, computed once per cell. */
export interface CellNulls {
  /** Whole-text ln p of the null texts. */
  unwatermarked: Float64Array
  human: Float64Array
  /** Their {@link sortedScores}. */
  unwatermarkedScores: Float64Array
  humanScores: Float64Array
}

/** The AUC with its stratified bootstrap interval; 0.5 and no interval when a class is empty. */
function aucEstimate(pos: Float64Array, neg: Float64Array, context: SummaryContext): Estimate {
  if (pos.length === 0 || neg.length === 0) return { value: 0.5, ci: null }
  return {
    value: aucFromSorted(pos, neg),
    ci: aucBootstrapFromSorted(pos, neg, context.confidence, context.counts),
  }
}

/**
 * −ln p sorted ascending: the score the ROC and AUC rank by (larger = more watermark-like),
 * sorted once for the curve, the AUC and its bootstrap.
 */
export function sortedScores(logPs: Float64Array): Float64Array {
  return sortedAscending(logPs.map((x) => -x))
}

function roc(pos: Float64Array, neg: Float64Array): RocPoint[] {
  return downsampleRoc(rocFromSorted(pos, neg), MAX_ROC_POINTS)
}

/** TPR at every α and prefix length; rows shorter than T (or without a detection at T) sit out. */
function tprByLength(
  rows: readonly ScoredRow[],
  context: SummaryContext,
  label: string,
  attack: string,
  exclusions: ExclusionTally,
): TprPoint[] {
  const points: TprPoint[] = []
  for (const tokens of context.lengths) {
    const values: number[] = []
    let short = 0
    let missing = 0
    for (const r of rows) {
      if (r.logP === null) continue
      const v = logPAt(r, tokens)
      if (v === 'short') short++
      else if (v === 'missing') missing++
      else values.push(v)
    }
    exclusions.add(attack, tokens, short, missing, values.length + short + missing)
    const logPs = Float64Array.from(values)
    for (const alpha of context.alphas) {
      const tpr = rateEstimate(logPs, alpha, context.boot(`tpr/${label}/${tokens}/${alpha}`))
      points.push({ tokens, alpha, tpr, n: logPs.length })
    }
  }
  return points
}

/** Mean achieved edit fraction of an attack; null for 'none' or when no row reports one. */
function meanEditFraction(rows: readonly ScoredRow[], attack: string): number | null {
  if (attack === 'none') return null
  let sum = 0
  let n = 0
  for (const r of rows) {
    const f = r.row.editFraction
    if (f !== null && Number.isFinite(f)) {
      sum += f
      n++
    }
  }
  return n === 0 ? null : sum / n
}

/** Everything the report shows about one attack on one cell, plus its whole-text TPRs. */
export function attackMetrics(
  group: CellGroup,
  attack: string,
  rows: readonly ScoredRow[],
  nulls: CellNulls,
  context: SummaryContext,
  exclusions: ExclusionTally,
): { metrics: CellAttackMetrics; wholeTpr: { alpha: number; value: number; ci: Interval | null }[] } {
  const { cell, scheme, params, keyLabel } = group.info
  const label = `${cell}/${attack}`
  const wm = wholeLogPs(rows)
  const pos = sortedScores(wm)
  const negPlain = nulls.unwatermarkedScores
  const negHuman = nulls.humanScores
  const [hWm, hPlain, hHuman] = pValueHistograms([wm, nulls.unwatermarked, nulls.human])
  const metrics: CellAttackMetrics = {
    cell,
    scheme,
    params,
    keyLabel,
    attack,
    samples: wm.length,
    editFraction: meanEditFraction(rows, attack),
    tprByLength: tprByLength(rows, context, label, attack, exclusions),
    roc: { vsUnwatermarked: roc(pos, negPlain), vsHuman: roc(pos, negHuman) },
    auc: {
      vsUnwatermarked: aucEstimate(pos, negPlain, context),
      vsHuman: aucEstimate(pos, negHuman, context),
    },
    histogram: { watermarked: hWm, unwatermarked: hPlain, human: hHuman },
  }
  const wholeTpr = context.alphas.map((alpha) => ({
    alpha,
    ...rateEstimate(wm, alpha, context.boot(`tpr/${label}/whole/${alpha}`)),
  }))
  return { metrics, wholeTpr }
}
