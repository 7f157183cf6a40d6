// Shapes the Lab UI reads from the edge API (worker/src/schemas.ts and the experiments contract).
import type { ExperimentMetrics } from '../../core/experiments/types.ts'

export interface TokenScore {
  token: number
  text?: string
  /** null: not scored (no full context yet, or a repeated context). */
  score: number | null
  counted: boolean
}

/** POST /v1/detect (DetectionSchema). Verdict-only tenants (detail "verdict") get no numbers. */
export interface Detection {
  scheme: string
  keyId: string
  tokens: number
  scored?: number
  statistic?: number
  pValue?: number
  /** ln p, finite where pValue underflows to 0. */
  logPValue?: number
  zScore?: number
  watermarked: boolean
  /** The p-value at or below which text counts as watermarked. */
  threshold?: number
  perToken?: TokenScore[]
  detail?: 'verdict'
}

/** GET /v1/keys (KeySchema). */
export interface WatermarkKey {
  id: string
  scheme: string
  tokenizer: string
  status: 'active' | 'revoked'
}

export type ExperimentStatus =
  | 'queued'
  | 'running'
  | 'completed'
  | 'completed_with_failures'
  | 'cancelled'
  | 'failed'

export interface Progress {
  done: number
  failed: number
  total: number
  ratePerMinute: number | null
  etaSeconds: number | null
}

export interface ExperimentSummary {
  id: string
  name: string
  status: ExperimentStatus
  createdAt: string
  progress: Progress
}

export interface Experiment extends ExperimentSummary {
  cells: { cell: number; scheme: string; keyLabel: string }[]
  failures: { job: number; sample: number; cell: number; error: string; attempts: number; at: string }[]
  metrics: ExperimentMetrics | null
}

export const isActive = (s: ExperimentStatus) => s === 'queued' || s === 'running'
