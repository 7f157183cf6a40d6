// Experiments in Postgres (migration 0003), over any node-postgres-compatible pool: Neon's Pool in the
// Worker (a pool per request or per queue batch), `pg` in Node tools. Every route query is
// tenant-scoped; the queue consumer, which carries only ids, reads by experiment id.
import type { SampleRow } from '../../core/experiments/types.ts'
import { Pool } from '@neondatabase/serverless'
import type { SqlPool } from './db.ts'

export type ExperimentStatus =
  | 'queued'
  | 'running'
  | 'completed'
  | 'completed_with_failures'
  | 'cancelled'
  | 'failed'

export const FINISHED: readonly ExperimentStatus[] = [
  'completed',
  'completed_with_failures',
  'cancelled',
  'failed',
]

export interface ExperimentRecord {
  id: string
  tenantId: string
  name: string
  spec: unknown
  status: ExperimentStatus
  totalJobs: number
  doneJobs: number
  failedJobs: number
  /** Jobs that failed at least once and wait for their next attempt. */
  retryingJobs: number
  metrics: unknown
  error: string | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

export interface JobFailure {
  job: number
  /** failed: dead-lettered after its retries; retrying: failed at least once, will run again. */
  outcome: 'failed' | 'retrying'
  attempts: number
  error: string | null
  at: string
}

const ID = /^[A-Za-z0-9_-]{1,64}$/
const iso = (v: unknown) =>
  v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : String(v)
/** Postgres text and jsonb cannot hold U+0000. */
const pgText = (s: string) => s.replaceAll('\u0000', '\uFFFD')

const COLUMNS = `e.id, e.tenant_id, e.name, e.spec, e.status, e.total_jobs, e.metrics, e.error,
  e.created_at, e.started_at, e.finished_at,
  (SELECT count(*) FROM experiment_jobs j WHERE j.experiment_id = e.id AND j.outcome = 'done')::int AS done_jobs,
  (SELECT count(*) FROM experiment_jobs j WHERE j.experiment_id = e.id AND j.outcome = 'failed')::int AS failed_jobs,
  (SELECT count(*) FROM experiment_jobs j WHERE j.experiment_id = e.id AND j.outcome = 'retrying')::int AS retrying_jobs`

function record(r: Record<string, unknown>): ExperimentRecord {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    name: String(r.name),
    spec: r.spec,
    status: r.status as ExperimentStatus,
    totalJobs: Number(r.total_jobs),
    doneJobs: Number(r.done_jobs),
    failedJobs: Number(r.failed_jobs),
    retryingJobs: Number(r.retrying_jobs),
    metrics: r.metrics ?? null,
    error: (r.error as string | null) ?? null,
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  }
}

export function experimentStore(pool: SqlPool) {
  const q = (text: string, params: unknown[] = []) => pool.query(text, params)
  const one = async (text: string, params: unknown[]) => {
    const { rows } = await q(text, params)
    return rows.length ? record(rows[0]) : null
  }
  const store = {
    async create(tenantId: string, e: { id: string; name: string; spec: unknown; totalJobs: number }) {
      await q(`INSERT INTO experiments (id, tenant_id, name, spec, total_jobs) VALUES ($1, $2, $3, $4, $5)`, [
        e.id,
        tenantId,
        pgText(e.name),
        JSON.stringify(e.spec),
        e.totalJobs,
      ])
      return (await store.get(tenantId, e.id))!
    },

    async list(tenantId: string, limit = 100) {
      const { rows } = await q(
        `SELECT ${COLUMNS} FROM experiments e WHERE e.tenant_id = $1 ORDER BY e.created_at DESC LIMIT $2`,
        [tenantId, limit],
      )
      return rows.map(record)
    },

    get(tenantId: string, id: string) {
      if (!ID.test(id)) return Promise.resolve(null)
      return one(`SELECT ${COLUMNS} FROM experiments e WHERE e.tenant_id = $1 AND e.id = $2`, [tenantId, id])
    },

    /** The consumer's read: messages carry the experiment id only. */
    byId(id: string) {
      if (!ID.test(id)) return Promise.resolve(null)
      return one(`SELECT ${COLUMNS} FROM experiments e WHERE e.id = $1`, [id])
    },

    async markRunning(id: string) {
      await q(
        `UPDATE experiments SET status = 'running', started_at = now() WHERE id = $1 AND status = 'queued'`,
        [id],
      )
    },

    /** Cancels a queued or running experiment; returns it (unchanged when it had already finished). */
    async cancel(tenantId: string, id: string) {
      if (!ID.test(id)) return null
      await q(
        `UPDATE experiments SET status = 'cancelled', finished_at = now()
         WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running')`,
        [tenantId, id],
      )
      return store.get(tenantId, id)
    },

    async fail(id: string, error: string) {
      await q(
        `UPDATE experiments SET status = 'failed', error = $2, finished_at = now()
         WHERE id = $1 AND status IN ('queued', 'running')`,
        [id, pgText(error).slice(0, 2000)],
      )
    },

    async jobFinished(id: string, job: number) {
      const { rows } = await q(
        `SELECT 1 FROM experiment_jobs WHERE experiment_id = $1 AND job = $2 AND outcome IN ('done', 'failed')`,
        [id, job],
      )
      return rows.length > 0
    },

    /** Jobs of queued and running experiments not yet done or dead-lettered: the queue's backlog. */
    async backlog(): Promise<number> {
      const { rows } = await q(
        `SELECT coalesce(sum(e.total_jobs - (SELECT count(*) FROM experiment_jobs j
                 WHERE j.experiment_id = e.id AND j.outcome IN ('done', 'failed'))), 0)::int AS n
         FROM experiments e WHERE e.status IN ('queued', 'running')`,
      )
      return Number(rows[0].n)
    },

    /** Jobs neither done nor dead-lettered (queued, running, retrying, or lost), ascending. */
    async unfinishedJobs(id: string, total: number): Promise<number[]> {
      const { rows } = await q(
        `SELECT j FROM generate_series(0, $2::int - 1) AS j
         WHERE NOT EXISTS (SELECT 1 FROM experiment_jobs e
                           WHERE e.experiment_id = $1 AND e.job = j AND e.outcome IN ('done', 'failed'))
         ORDER BY j`,
        [id, total],
      )
      return rows.map((r) => Number(r.j))
    },

    /** Writes rows once: a retried job's rows conflict on the primary key and are skipped. */
    async insertSamples(id: string, rows: SampleRow[]) {
      if (rows.length === 0) return 0
      const values: unknown[] = []
      const tuples = rows.map((r, i) => {
        values.push(
          id,
          r.sample,
          r.cell,
          r.attack,
          r.variant,
          pgText(r.text),
          r.tokens,
          JSON.stringify(r.detections),
          r.perplexity,
          r.editFraction,
        )
        const b = i * 10
        return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}, $${b + 8}, $${b + 9}, $${b + 10})`
      })
      const res = await q(
        `INSERT INTO experiment_samples
           (experiment_id, sample, cell, attack, variant, text, tokens, detections, perplexity, edit_fraction)
         VALUES ${tuples.join(', ')} ON CONFLICT DO NOTHING`,
        values,
      )
      return res.rowCount ?? 0
    },

    /**
     * Records a job's outcome. 'retrying' keeps the last error for the failure report; a final outcome
     * (done, failed) is never overwritten, and 'failed' keeps the last error it saw while retrying.
     */
    async recordJob(
      id: string,
      job: number,
      outcome: 'retrying' | 'done' | 'failed',
      attempts: number,
      error: string | null,
    ) {
      await q(
        `INSERT INTO experiment_jobs (experiment_id, job, outcome, attempts, error) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (experiment_id, job) DO UPDATE SET
           outcome = EXCLUDED.outcome,
           attempts = GREATEST(experiment_jobs.attempts, EXCLUDED.attempts),
           error = CASE WHEN EXCLUDED.outcome = 'failed' THEN coalesce(experiment_jobs.error, EXCLUDED.error)
                        ELSE EXCLUDED.error END,
           finished_at = now()
         WHERE experiment_jobs.outcome = 'retrying'`,
        [id, job, outcome, Math.max(1, attempts), error === null ? null : pgText(error).slice(0, 2000)],
      )
    },

    async failures(id: string): Promise<JobFailure[]> {
      const { rows } = await q(
        `SELECT job, outcome, attempts, error, finished_at FROM experiment_jobs
         WHERE experiment_id = $1 AND outcome IN ('failed', 'retrying') ORDER BY job LIMIT 1000`,
        [id],
      )
      return rows.map((r) => ({
        job: Number(r.job),
        outcome: r.outcome as JobFailure['outcome'],
        attempts: Number(r.attempts),
        error: (r.error as string | null) ?? null,
        at: iso(r.finished_at)!,
      }))
    },

    /** Every sample row in a stable order (export, metrics). */
    async samples(id: string): Promise<SampleRow[]> {
      const { rows } = await q(
        `SELECT sample, cell, attack, variant, text, tokens, detections, perplexity, edit_fraction
         FROM experiment_samples WHERE experiment_id = $1
         ORDER BY sample, cell, variant DESC, attack`,
        [id],
      )
      return rows.map((r) => ({
        sample: Number(r.sample),
        cell: Number(r.cell),
        attack: String(r.attack),
        variant: r.variant as SampleRow['variant'],
        text: String(r.text),
        tokens: Number(r.tokens),
        detections: r.detections as SampleRow['detections'],
        perplexity: r.perplexity === null ? null : Number(r.perplexity),
        editFraction: r.edit_fraction === null ? null : Number(r.edit_fraction),
      }))
    },

    /** Stores the final status and metrics once: true for the caller that finished it. */
    async finish(id: string, status: ExperimentStatus, metrics: unknown) {
      const res = await q(
        `UPDATE experiments SET status = $2, metrics = $3, finished_at = now()
         WHERE id = $1 AND status IN ('queued', 'running')`,
        [id, status, JSON.stringify(metrics)],
      )
      return (res.rowCount ?? 0) > 0
    },

    close: () => pool.end(),
  }
  return store
}

export type ExperimentStore = ReturnType<typeof experimentStore>

/** A store over a new Neon Pool (per request or queue batch in Workers: a Pool cannot outlive either). */
export function openExperimentStore(connectionString: string): ExperimentStore {
  const pool = new Pool({ connectionString, max: 2 })
  pool.on('error', () => {}) // an idle client's socket error must not crash the isolate
  return experimentStore(pool as unknown as SqlPool)
}
