/**
 * @module
 * Quality metrics of one cell: perplexity of watermarked and unwatermarked texts (attack 'none')
 * and their paired difference, distinct-n, log-diversity and repetition. The bootstrap unit is the
 * sample (one prompt): its two texts are one row of the resampled table, so the perplexity
 * difference is a paired bootstrap and one stream of draws serves every column.
 */
import type { CellQuality, Estimate } from '../experiments/types.ts'
import { bootstrapMeansCi } from './bootstrap-means.ts'
import type { NgramCorpus } from './ngrams.ts'
import { isPerplexity, logDiversityOf, repetitionRateOf } from './quality.ts'
import type { SummaryContext } from './summarize-detection.ts'
import type { CellGroup, ScoredRow } from './summarize-groups.ts'

/** Column order of the per-sample table. */
const PPL_W = 0
const PPL_U = 1
const PPL_DIFF = 2
const LOGDIV_W = 3
const LOGDIV_U = 4
const REP_W = 5
const REP_U = 6
const COLUMNS = 7

export interface CellQualityResult {
  quality: CellQuality
  /** Which means had no value (reported as 0 with no interval). */
  empty: { watermarked: boolean; unwatermarked: boolean; difference: boolean }
  /** Model texts whose perplexity was null, non-finite or ≤ 0. */
  skippedPerplexities: number
}

/** Quality of one cell from its unattacked watermarked rows and its unwatermarked rows. */
export function cellQuality(
  group: CellGroup,
  context: SummaryContext,
  corpus: NgramCorpus,
): CellQualityResult {
  const units = new Map<number, number>()
  const table: number[][] = []
  const unitOf = (sample: number, column: number): number => {
    const u = units.get(sample)
    if (u !== undefined && Number.isNaN(table[u][column])) return u
    // A new sample, or a second row of the same sample and variant: its own unit.
    table.push(new Array<number>(COLUMNS).fill(Number.NaN))
    units.set(sample, table.length - 1)
    return table.length - 1
  }
  let skipped = 0
  // One corpus object serves every variant and cell: reset keeps its tables' capacity.
  const scan = (rows: readonly ScoredRow[], ppl: number, logdiv: number, rep: number): number[] => {
    corpus.reset()
    for (const { row } of rows) {
      const u = unitOf(row.sample, logdiv)
      const counts = corpus.add(row.text)
      table[u][logdiv] = logDiversityOf(counts)
      table[u][rep] = repetitionRateOf(counts)
      if (isPerplexity(row.perplexity)) table[u][ppl] = row.perplexity
      else skipped++
    }
    return [1, 2, 3].map((n) => corpus.distinct(n))
  }
  const wmDistinct = scan(group.watermarked.get('none') ?? [], PPL_W, LOGDIV_W, REP_W)
  const plainDistinct = scan(group.unwatermarked, PPL_U, LOGDIV_U, REP_U)
  for (const r of table) r[PPL_DIFF] = r[PPL_W] - r[PPL_U] // NaN unless both are present

  const columns = Array.from({ length: COLUMNS }, (_, c) => Float64Array.from(table, (r) => r[c]))
  const cis = bootstrapMeansCi(columns, context.boot('quality'), context.counts)
  const estimate = (c: number): Estimate => ({ value: presentMean(columns[c]), ci: cis[c] })
  const empty = (c: number) => !columns[c].some((v) => !Number.isNaN(v))
  return {
    quality: {
      cell: group.info.cell,
      scheme: group.info.scheme,
      perplexity: {
        watermarked: estimate(PPL_W),
        unwatermarked: estimate(PPL_U),
        difference: estimate(PPL_DIFF),
      },
      distinct: {
        watermarked: wmDistinct,
        unwatermarked: plainDistinct,
      },
      logDiversity: { watermarked: estimate(LOGDIV_W), unwatermarked: estimate(LOGDIV_U) },
      repetition: { watermarked: estimate(REP_W), unwatermarked: estimate(REP_U) },
    },
    empty: { watermarked: empty(PPL_W), unwatermarked: empty(PPL_U), difference: empty(PPL_DIFF) },
    skippedPerplexities: skipped,
  }
}

/** Mean of the non-NaN entries; 0 when there are none (the caller notes it). */
function presentMean(values: Float64Array): number {
  let sum = 0
  let n = 0
  for (const v of values) {
    if (!Number.isNaN(v)) {
      sum += v
      n++
    }
  }
  return n === 0 ? 0 : sum / n
}
