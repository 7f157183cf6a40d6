// Rate and ETA of an experiment's progress at a fixed clock.
import { describe, expect, it } from 'vitest'
import type { ExperimentRecord } from '../../adapters/experiments-db.ts'
import { experimentProgress } from './progress.ts'

const START = '2025-01-01T12:00:00.000Z'
const at = (seconds: number) => Date.parse(START) + seconds * 1000

const record = (e: Partial<ExperimentRecord>): ExperimentRecord => ({
  id: 'ex_1',
  tenantId: 't',
  name: 'n',
  spec: {},
  status: 'running',
  totalJobs: 40,
  doneJobs: 0,
  failedJobs: 0,
  retryingJobs: 0,
  metrics: null,
  error: null,
  createdAt: START,
  startedAt: START,
  finishedAt: null,
  ...e,
})

describe('experimentProgress', () => {
  it('gives jobs per minute since the start and the time the rest need at that rate', () => {
    // 10 jobs in 2 minutes: 5 a minute; 30 left → 6 minutes.
    expect(experimentProgress(record({ doneJobs: 10 }), at(120))).toEqual({
      done: 10,
      failed: 0,
      retrying: 0,
      total: 40,
      ratePerMinute: 5,
      etaSeconds: 360,
    })
  })

  it('counts failed jobs as finished, rounds the rate to 0.1 and the ETA from the exact rate', () => {
    // 7 finished (5 done, 2 failed) in 90 s: 4.666… a minute, shown 4.7; 33 left → 424.28… s.
    const p = experimentProgress(record({ doneJobs: 5, failedJobs: 2, retryingJobs: 1 }), at(90))
    expect(p).toMatchObject({ done: 5, failed: 2, retrying: 1, ratePerMinute: 4.7, etaSeconds: 424 })
  })

  it('has no rate before a job finishes or before the start, and no ETA once finished', () => {
    expect(experimentProgress(record({}), at(60))).toMatchObject({ ratePerMinute: null, etaSeconds: null })
    expect(experimentProgress(record({ status: 'queued', startedAt: null }), at(60))).toMatchObject({
      ratePerMinute: null,
      etaSeconds: null,
    })
    const done = experimentProgress(record({ status: 'completed', doneJobs: 40 }), at(600))
    expect(done).toMatchObject({ ratePerMinute: 4, etaSeconds: null })
    expect(experimentProgress(record({ status: 'queued', doneJobs: 40 }), at(600)).etaSeconds).toBe(0)
  })
})
