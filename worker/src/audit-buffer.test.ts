// Group writes of audit rows: rows within groupMs share the first row's store (one connection), the
// opener's write holds them all, and a database outage parks the whole group for the write-back.
import { describe, expect, it, vi } from 'vitest'
import { type AuditRow, AuditBuffer } from './audit-buffer.ts'
import { DatabaseUnavailableError } from './db-availability.ts'
import type { DetectionRecord, Store } from './store.ts'

const row = (id: string): AuditRow => ({
  kind: 'detection',
  row: {
    id,
    tenantId: 'tn_1',
    keyId: 'wk_1',
    scheme: 'kgw-lefthash',
    textSha256: 'ab'.repeat(32),
    text: null,
    tokens: 10,
    scored: 9,
    pValue: 0.5,
    watermarked: false,
  },
})

/** A store that records the detections it was asked to insert (or fails as told). */
function recordingStore(name: string, fail?: () => Error) {
  const inserted: string[] = []
  const store = {
    async insertDetection(rec: DetectionRecord) {
      if (fail) throw fail()
      inserted.push(`${name}:${rec.id}`)
    },
  } as unknown as Store
  return { store, inserted }
}

describe('AuditBuffer group writes', () => {
  it('writes the rows of one window on the first row’s store, and later rows on their own', async () => {
    const buffer = new AuditBuffer({ groupMs: 40 })
    const a = recordingStore('a')
    const b = recordingStore('b')
    const c = recordingStore('c')
    const opened = buffer.write(a.store, row('dt_1'))
    let joinedSettled = false
    const joined = buffer.write(b.store, row('dt_2')).then(() => {
      joinedSettled = true
    })
    await joined
    expect(joinedSettled).toBe(true) // the joiner does not wait: the opener owns the write
    expect(a.inserted).toEqual([]) // nothing before the window closes
    await buffer.write(a.store, row('dt_3'))
    await opened
    expect(a.inserted).toEqual(['a:dt_1', 'a:dt_2', 'a:dt_3'])
    expect(b.inserted).toEqual([])
    await buffer.write(c.store, row('dt_4')) // a new window, opened by c
    expect(c.inserted).toEqual(['c:dt_4'])
  })

  it('parks the whole group when the database is unavailable, and writes it back later', async () => {
    const buffer = new AuditBuffer({ groupMs: 20, attempts: 1 })
    let calls = 0
    const down = recordingStore('down', () => {
      calls++
      return new DatabaseUnavailableError('connection refused')
    })
    const opened = buffer.write(down.store, row('dt_1'))
    void buffer.write(down.store, row('dt_2'))
    void buffer.write(down.store, row('dt_3'))
    await opened
    expect(calls).toBe(1) // the first failure parks the rest without trying each
    expect(buffer.size).toBe(3)
    const up = recordingStore('up')
    await buffer.flush(up.store)
    expect(up.inserted).toEqual(['up:dt_1', 'up:dt_2', 'up:dt_3'])
    expect(buffer.size).toBe(0)
  })

  it('is bounded: when full the oldest row is dropped, counted and logged; the newest are written back', async () => {
    const buffer = new AuditBuffer({ attempts: 1, capacity: 3, flushIntervalMs: 0 })
    const down = recordingStore('down', () => new DatabaseUnavailableError('connection refused'))
    const logged: string[] = []
    const spy = vi.spyOn(console, 'error').mockImplementation((m: string) => void logged.push(m))
    try {
      for (let i = 1; i <= 5; i++) await buffer.write(down.store, row(`dt_${i}`))
    } finally {
      spy.mockRestore()
    }
    expect(buffer.state).toEqual({ writing: 0, parked: 3, dropped: 2 })
    const drops = logged.filter((m) => m.includes('oldest row dropped'))
    expect(drops).toHaveLength(2)
    expect(drops[0]).toContain('dt_1')
    expect(drops[1]).toContain('dt_2')
    const up = recordingStore('up')
    await buffer.flush(up.store)
    expect(up.inserted).toEqual(['up:dt_3', 'up:dt_4', 'up:dt_5'])
    expect(buffer.state).toEqual({ writing: 0, parked: 0, dropped: 2 })
  })

  it('without groupMs writes every row on its own store at once', async () => {
    const buffer = new AuditBuffer()
    const a = recordingStore('a')
    const b = recordingStore('b')
    await buffer.write(a.store, row('dt_1'))
    expect(a.inserted).toEqual(['a:dt_1'])
    await buffer.write(b.store, row('dt_2'))
    expect(b.inserted).toEqual(['b:dt_2'])
  })

  it('state counts rows under way until they are written, parked or refused', async () => {
    const buffer = new AuditBuffer({ groupMs: 20, attempts: 2 })
    const a = recordingStore('a')
    const opened = buffer.write(a.store, row('dt_1'))
    await buffer.write(a.store, row('dt_2')) // joined: resolves at once, still owed
    expect(buffer.state).toEqual({ writing: 2, parked: 0, dropped: 0 })
    await opened
    expect(buffer.state).toEqual({ writing: 0, parked: 0, dropped: 0 })

    // Retries count as under way; an unavailable database parks the row (written later).
    let failures = 0
    const down = recordingStore('down', () => {
      failures++
      return new DatabaseUnavailableError('connection refused')
    })
    const parked = buffer.write(down.store, row('dt_3'))
    void buffer.write(down.store, row('dt_4'))
    await new Promise((r) => setTimeout(r, 30)) // the window closed; dt_3 between its attempts
    expect(failures).toBe(1)
    expect(buffer.state).toEqual({ writing: 2, parked: 0, dropped: 0 })
    await parked
    expect(buffer.state).toEqual({ writing: 0, parked: 2, dropped: 0 })

    // A row the database refuses for another reason is logged and leaves the count too.
    const refusing = recordingStore('refusing', () => Object.assign(new Error('bad row'), { code: '22P02' }))
    const errors: string[] = []
    const spy = vi.spyOn(console, 'error').mockImplementation((m: string) => void errors.push(m))
    try {
      const solo = new AuditBuffer({ attempts: 1 })
      await solo.write(refusing.store, row('dt_6'))
      expect(solo.state).toEqual({ writing: 0, parked: 0, dropped: 0 })
    } finally {
      spy.mockRestore()
    }
    expect(errors.some((m) => m.includes('not written') && m.includes('dt_6'))).toBe(true)
  })

  it('an insert that never answers is retried, then parked; a hung write-back does not block the next', async () => {
    const buffer = new AuditBuffer({ attempts: 2, attemptTimeoutMs: 30, flushIntervalMs: 0 })
    let calls = 0
    const hung = {
      insertDetection: () => {
        calls++
        return new Promise(() => undefined) // a stalled connection: no answer, no error
      },
    } as unknown as Store
    const t0 = Date.now()
    await buffer.write(hung, row('dt_1'))
    expect(calls).toBe(2)
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(buffer.state).toEqual({ writing: 0, parked: 1, dropped: 0 })
    await buffer.flush(hung) // times out too, and lets go
    expect(buffer.size).toBe(1)
    const up = recordingStore('up')
    await buffer.flush(up.store)
    expect(up.inserted).toEqual(['up:dt_1'])
    expect(buffer.state).toEqual({ writing: 0, parked: 0, dropped: 0 })
  })
})
