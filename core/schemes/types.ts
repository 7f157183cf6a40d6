// One interface per scheme, used the same way by the origin (generate) and the edge (detect).
import type { GreenlistCache } from './greenlist-cache.ts'
import type { ScoringKernel } from '../kernel/types.ts'

/** A uniform draw in [0, 1); seeded by the caller so generation is reproducible. */
export type Rng = () => number

export interface DetectOptions {
  /** Score each repeated context (or context+token) once. On by default; off reproduces the papers. */
  dedup?: boolean
  /** Return per-token detail. */
  perToken?: boolean
  /** Also search windows for watermarked spans inside human text (Bonferroni-corrected). */
  windowed?: boolean
  /** p-value at or below which the text is called watermarked; defaults to the preset's threshold. */
  pValueThreshold?: number
}

export interface TokenDetail {
  token: number
  text?: string
  /** Per-token evidence: 1/0 green flag (red/green), −ln(1 − u) (Gumbel), mean g-value (SynthID). */
  score: number | null
  /** Whether this position entered the statistic (scorable and not a repeated context). */
  counted: boolean
}

export interface WindowResult {
  start: number
  end: number
  pValue: number
  logPValue: number
  windowsTried: number
}

export interface DetectionResult {
  scheme: string
  keyId?: string
  tokens: number
  scored: number
  /** Green count (red/green), Σ −ln(1 − u) (Gumbel), mean g-value (SynthID). */
  statistic: number
  pValue: number
  /** Natural log of the p-value: stays finite far below 1e-300. */
  logPValue: number
  zScore?: number
  watermarked: boolean
  threshold: number
  perToken?: TokenDetail[]
  window?: WindowResult
}

/**
 * The ids still allowed at one decoding step, ascending, with their logits (temperature and filters
 * applied, never −Infinity); only the first `count` entries are meaningful. The arrays are the caller's
 * buffers, reused at the next step.
 */
export interface Candidates {
  ids: Int32Array
  logits: Float32Array
  count: number
}

/** Watermarks one sequence step by step; holds the history the scheme needs (context, repeat masks). */
export interface SequenceWatermarker {
  /**
   * Choose the next token from the model's next-token logits (temperature already applied,
   * length = vocabSize, −Infinity for disallowed ids); records it and returns it.
   */
  next(logits: Float32Array, rng: Rng): number
  /**
   * The same step given only the candidates (every other id is −Infinity): PRF values are computed for
   * candidates that can still be chosen, so the cost follows the candidate count, not the vocabulary.
   * For the same rng it returns what `next` returns on the equivalent full vector.
   */
  nextFromCandidates(candidates: Candidates, rng: Rng): number
}

export interface WatermarkScheme {
  /** Preset name, e.g. 'kgw-lefthash'. */
  readonly name: string
  readonly vocabSize: number
  readonly pValueThreshold: number
  /** Starts watermarking one completion; `prompt` are the ids before it (some schemes key on them). */
  watermarker(prompt?: readonly number[]): SequenceWatermarker
  /** Scores completion token ids. */
  detect(tokens: Int32Array | readonly number[], options?: DetectOptions): DetectionResult
}

export interface SchemeDeps {
  kernel: ScoringKernel
  /** Bitmaps of recurring KGW greenlists; default the process-wide one, null for none. */
  greenlists?: GreenlistCache | null
}
