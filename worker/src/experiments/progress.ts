// An experiment's progress as clients show it (GET /v1/experiments/:id, the CLI's progress line, the
// Lab UI's bar): jobs done and failed, the rate since the first job started, and an ETA.
import type { ExperimentRecord } from '../../adapters/experiments-db.ts'

export interface ExperimentProgress {
  done: number
  failed: number
  retrying: number
  total: number
  /** Finished jobs (done or failed) per minute since the first one started, to 0.1; null before any. */
  ratePerMinute: number | null
  /** Seconds until the rest finish at that rate, while queued or running; null otherwise. */
  etaSeconds: number | null
}

/**
 * Progress at `nowMs`. The rate counts failed jobs too (they took their time), and the ETA is the
 * unfinished jobs over the unrounded rate.
 *
 * @example
 * // 10 of 40 jobs in 2 minutes: 5 a minute, 30 left, 6 minutes to go
 * experimentProgress({ ...e, doneJobs: 10, startedAt: '…T12:00:00Z' }, Date.parse('…T12:02:00Z'))
 * // → { ratePerMinute: 5, etaSeconds: 360, … }
 */
export function experimentProgress(e: ExperimentRecord, nowMs = Date.now()): ExperimentProgress {
  const finished = e.doneJobs + e.failedJobs
  const elapsedMin = e.startedAt ? (nowMs - Date.parse(e.startedAt)) / 60_000 : 0
  const rate = elapsedMin > 0 && finished > 0 ? finished / elapsedMin : null
  const running = e.status === 'queued' || e.status === 'running'
  return {
    done: e.doneJobs,
    failed: e.failedJobs,
    retrying: e.retryingJobs,
    total: e.totalJobs,
    ratePerMinute: rate === null ? null : Math.round(rate * 10) / 10,
    etaSeconds: running && rate ? Math.round(((e.totalJobs - finished) / rate) * 60) : null,
  }
}
