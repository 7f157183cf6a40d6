/**
 * @module
 * The experiment summary: from the sample rows the consumer wrote to the `ExperimentMetrics` the
 * API stores as JSON and the Lab UI plots. Detection is measured at fixed p-value thresholds α
 * (no threshold is tuned on the test set), per prefix length T, against both kinds of null text;
 * every interval is a seeded percentile bootstrap, so the summary is a pure function of its inputs.
 * Empty groups never produce NaN or Infinity (they are not JSON): a rate over no text is 0, an
 * AUC without one class is 0.5, a mean over nothing is 0, each with a null interval and a note.
 */
import type { CellInfo, ComparisonRow, ExperimentMetrics, SampleRow } from '../experiments/types.ts'
import { type BootstrapOptions, checkOptions, deriveSeed } from './bootstrap.ts'
import { logAlpha } from './detection.ts'
import { NgramCorpus } from './ngrams.ts'
import { ResampleCounts } from './resample-counts.ts'
import {
  attackMetrics,
  fprEstimates,
  type SummaryContext,
  sortedScores,
  wholeLogPs,
} from './summarize-detection.ts'
import { groupRows } from './summarize-groups.ts'
import { ExclusionTally, formatCount, formatList, verifiabilityNotes } from './summarize-notes.ts'
import { cellQuality } from './summarize-quality.ts'

export interface SummarizeOptions {
  /** The α levels (target FPRs) at which TPR and FPR are reported, each in (0, 1). */
  targetFprs: number[]
  /** Prefix lengths T (tokens) for TPR(T), usually `prefixLengths(spec)`. */
  lengths: number[]
  /**
   * Seed of every bootstrap stream: each proportion derives its own from it and a label; AUCs and
   * means share resampling patterns per (stream, n) derived from it (resample-counts.ts).
   */
  seed: number
  /** Bootstrap resamples B; default 1000. */
  resamples?: number
  /** Coverage of every interval; default 0.95. */
  confidence?: number
  /** Stamp for `computedAt` (core reads no clock); default the Unix epoch. */
  computedAt?: string
}

export const DEFAULT_RESAMPLES = 1000
export const DEFAULT_CONFIDENCE = 0.95
const EPOCH = '1970-01-01T00:00:00.000Z'

/**
 * Summarises an experiment: for every cell × attack present in `rows`, TPR at every α and prefix
 * length, ROC (≤ 200 points) and AUC against the cell's unwatermarked and human texts, and
 * −log10 p histograms; per cell, the empirical FPR of both null sets with its verifiability, and
 * text quality; the comparison table (whole texts); and notes on every caveat.
 *
 * @example
 * summarizeExperiment(gridCells(spec), rows, {
 *   targetFprs: spec.targetFprs, lengths: prefixLengths(spec), seed: spec.seed,
 * })
 */
export function summarizeExperiment(
  cells: readonly CellInfo[],
  rows: readonly SampleRow[],
  options: SummarizeOptions,
): ExperimentMetrics {
  const resamples = options.resamples ?? DEFAULT_RESAMPLES
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE
  const base: BootstrapOptions = { resamples, confidence, seed: options.seed }
  checkOptions(base)
  for (const alpha of options.targetFprs) logAlpha(alpha)
  for (const t of options.lengths) {
    if (!(Number.isInteger(t) && t >= 1)) throw new RangeError(`lengths must be positive integers, got ${t}`)
  }
  const context: SummaryContext = {
    alphas: [...options.targetFprs],
    lengths: [...new Set(options.lengths)].sort((a, b) => a - b),
    boot: (label) => ({ ...base, seed: deriveSeed(options.seed, label) }),
    confidence,
    counts: new ResampleCounts(options.seed, resamples),
  }
  const corpus = new NgramCorpus(4)

  const notes: string[] = []
  const groups = groupRows(cells, rows, notes)
  const exclusions = new ExclusionTally()
  const metrics: ExperimentMetrics = {
    computedAt: options.computedAt ?? EPOCH,
    confidence,
    bootstrapResamples: resamples,
    targetFprs: [...context.alphas],
    detection: [],
    falsePositives: [],
    quality: [],
    comparison: [],
    notes,
  }
  const noNulls = { unwatermarked: [] as number[], human: [] as number[] }
  const noPerplexity = {
    watermarked: [] as number[],
    unwatermarked: [] as number[],
    difference: [] as number[],
  }
  let skippedPerplexities = 0

  for (const group of groups) {
    const { cell, scheme, params } = group.info
    const plain = wholeLogPs(group.unwatermarked)
    const human = wholeLogPs(group.human)
    const nulls = {
      unwatermarked: plain,
      human,
      unwatermarkedScores: sortedScores(plain),
      humanScores: sortedScores(human),
    }
    metrics.falsePositives.push({
      cell,
      scheme,
      human: fprEstimates(nulls.human, context, `${cell}/human`),
      unwatermarked: fprEstimates(nulls.unwatermarked, context, `${cell}/unwatermarked`),
    })
    const q = cellQuality(group, context, corpus)
    metrics.quality.push(q.quality)
    skippedPerplexities += q.skippedPerplexities
    for (const kind of ['watermarked', 'unwatermarked', 'difference'] as const) {
      if (q.empty[kind]) noPerplexity[kind].push(cell)
    }
    if (group.watermarked.size > 0) {
      if (nulls.unwatermarked.length === 0) noNulls.unwatermarked.push(cell)
      if (nulls.human.length === 0) noNulls.human.push(cell)
    }

    for (const [attack, attackRows] of group.watermarked) {
      const { metrics: m, wholeTpr } = attackMetrics(group, attack, attackRows, nulls, context, exclusions)
      metrics.detection.push(m)
      const row: ComparisonRow = {
        cell,
        scheme,
        params,
        attack,
        samples: m.samples,
        tpr: wholeTpr,
        aucVsHuman: m.auc.vsHuman.value,
        auc: m.auc,
        // Perplexity is measured on unattacked texts only: it belongs to the 'none' row.
        perplexityDifference:
          attack === 'none' && !q.empty.difference ? q.quality.perplexity.difference.value : null,
      }
      metrics.comparison.push(row)
    }
  }

  notes.push(...verifiabilityNotes(context.alphas, metrics.falsePositives))
  notes.push(...exclusions.notes())
  for (const kind of ['unwatermarked', 'human'] as const) {
    if (noNulls[kind].length > 0) {
      notes.push(
        `AUC vs ${kind} is undefined for cells ${formatList(noNulls[kind])} (no ${kind} texts with a ` +
          'p-value): reported as 0.5 with no interval; their FPR is 0 over n = 0.',
      )
    }
  }
  const what = { watermarked: 'watermarked', unwatermarked: 'unwatermarked', difference: 'paired' } as const
  for (const kind of ['watermarked', 'unwatermarked', 'difference'] as const) {
    if (noPerplexity[kind].length > 0) {
      notes.push(
        `No usable ${what[kind]} perplexity for cells ${formatList(noPerplexity[kind])}: reported as 0 ` +
          'with no interval.',
      )
    }
  }
  if (skippedPerplexities > 0) {
    notes.push(
      `${formatCount(skippedPerplexities)} model texts have no usable perplexity (null, non-finite or ≤ 0) ` +
        'and are left out of the perplexity means.',
    )
  }
  return metrics
}
