// Shapes shared by the experiment consumer (writes sample rows), core/metrics (summarises them), the
// API (serves them) and the Lab UI (plots them). Pure types: no I/O.

/** Which text a row scores: the watermarked completion, the unwatermarked baseline (same prompt and
 * seed, no watermark), or the human continuation of the prompt's Brown document. */
export type SampleVariant = 'watermarked' | 'unwatermarked' | 'human'

/** Detection of one text's first `tokens` tokens (a prefix) with the cell's key. */
export interface PrefixDetection {
  /** Prefix length in tokens (the detector's tokenizer); the last entry is the whole text. */
  tokens: number
  /** Tokens that entered the statistic (after de-duplication of repeated contexts). */
  scored: number
  /** Natural log of the p-value (finite far below 1e-300). */
  logPValue: number
  statistic: number
}

/** One row per (sample, cell, attack, variant): the unit a retried job never writes twice. */
export interface SampleRow {
  sample: number
  /** Index of the grid cell (scheme × params × key). */
  cell: number
  /** 'none', or the attack label `name@strength` (e.g. 'word-deletion@0.3'; copy-paste with k ≠ 3 spans adds `/k=…`). */
  attack: string
  variant: SampleVariant
  text: string
  /** Tokens in `text` under the detector's tokenizer. */
  tokens: number
  /** Ascending prefix lengths; the last one is the whole text. */
  detections: PrefixDetection[]
  /** Perplexity of the text under the origin model given the prompt (attack 'none' rows only). */
  perplexity: number | null
  /** Fraction of the text the attack changed (its own unit: words, characters or tokens); null for 'none'. */
  editFraction: number | null
}

export interface Interval {
  low: number
  high: number
}

export interface Estimate {
  value: number
  /** Bootstrap percentile interval at `ExperimentMetrics.confidence`; null when n is too small. */
  ci: Interval | null
}

/** TPR of watermarked (attacked) texts at a p-value threshold α, on prefixes of `tokens` tokens. */
export interface TprPoint {
  tokens: number
  alpha: number
  tpr: Estimate
  /** Watermarked texts with at least `tokens` tokens (shorter ones are not counted at this T). */
  n: number
}

export interface RocPoint {
  fpr: number
  tpr: number
}

/** Empirical false-positive rate at α on texts that carry no watermark. */
export interface FprEstimate {
  alpha: number
  fpr: Estimate
  n: number
  /** n ≥ 3/α: enough null texts that observing 0 false positives bounds the FPR near α (rule of three). */
  verifiable: boolean
}

/** Counts of −log10(p) in bins; `edges` has counts.length + 1 entries. */
export interface Histogram {
  edges: number[]
  counts: number[]
}

/** Detection of one (cell, attack): watermarked texts under the attack against the cell's null texts. */
export interface CellAttackMetrics {
  cell: number
  scheme: string
  params: Record<string, unknown>
  keyLabel: string
  /** 'none' or `name@strength`. */
  attack: string
  samples: number
  /** Mean edit fraction the attack achieved (null for 'none'). */
  editFraction: number | null
  tprByLength: TprPoint[]
  roc: { vsUnwatermarked: RocPoint[]; vsHuman: RocPoint[] }
  auc: { vsUnwatermarked: Estimate; vsHuman: Estimate }
  /** −log10 p of the whole texts. */
  histogram: { watermarked: Histogram; unwatermarked: Histogram; human: Histogram }
}

export interface CellQuality {
  cell: number
  scheme: string
  perplexity: { watermarked: Estimate; unwatermarked: Estimate; difference: Estimate }
  /** distinct-n (n = 1, 2, 3): unique n-grams / all n-grams over each variant's texts. */
  distinct: { watermarked: number[]; unwatermarked: number[] }
  logDiversity: { watermarked: Estimate; unwatermarked: Estimate }
  repetition: { watermarked: Estimate; unwatermarked: Estimate }
}

/** One line of the comparison table: whole texts, every target α. */
export interface ComparisonRow {
  cell: number
  scheme: string
  params: Record<string, unknown>
  attack: string
  samples: number
  tpr: { alpha: number; value: number; ci: Interval | null }[]
  /** `auc.vsHuman.value`, kept for clients that read the bare number. */
  aucVsHuman: number
  /** Both AUCs with their bootstrap intervals (as in the cell × attack's detection metrics). */
  auc: { vsUnwatermarked: Estimate; vsHuman: Estimate }
  perplexityDifference: number | null
}

export interface ExperimentMetrics {
  computedAt: string
  /** Confidence level of every interval (0.95). */
  confidence: number
  bootstrapResamples: number
  targetFprs: number[]
  detection: CellAttackMetrics[]
  falsePositives: { cell: number; scheme: string; human: FprEstimate[]; unwatermarked: FprEstimate[] }[]
  quality: CellQuality[]
  comparison: ComparisonRow[]
  /** Caveats a reviewer needs, e.g. an α the sample size cannot verify. */
  notes: string[]
}

/** What the summariser needs to know about each grid cell. */
export interface CellInfo {
  cell: number
  scheme: string
  params: Record<string, unknown>
  keyLabel: string
}
