// Audit rows (detections, generations) are written after the response, with retries. A row whose
// retries all meet an unavailable database is not dropped: it waits in this isolate's buffer (bounded,
// oldest dropped first and counted when full) and later requests write it once the database answers
// again. Row ids are chosen before the first attempt and inserts are ON CONFLICT DO NOTHING, so a row
// written twice (a timeout after a commit) is still one row.
//
// The buffer lives as long as the isolate: rows parked in an isolate that is evicted before the
// database returns are lost (logged when parked). test/reliability/faults.test.ts counts the rows of
// an outage after recovery.
//
// Group writes (groupMs > 0, the Worker's setting): rows that arrive within groupMs of the first are
// written together on the first row's store, one connection for all. In Workers every store is a
// new connection (a pool cannot outlive its request), and a connection costs PostgreSQL a backend
// process, which under load cost more than the detections being recorded. The group belongs to the
// request that opened it: its waitUntil holds the write, and its store stays open until then.
import { DatabaseUnavailableError, isDatabaseUnavailable } from './db-availability.ts'
import type { DetectionRecord, GenerationRecord, Store } from './store.ts'

export type AuditRow =
  | { kind: 'detection'; row: DetectionRecord }
  | { kind: 'generation'; row: GenerationRecord }

export interface AuditBufferOptions {
  /** Rows kept at most (default 10,000); beyond it the oldest is dropped and counted. */
  capacity?: number
  /** Attempts per write before parking (default 3), 100 ms then 200 ms apart. */
  attempts?: number
  /** Rows one request writes back at most (default 500). */
  flushBatch?: number
  /** Least time between two write-back attempts while the database stays down (default 1 s). */
  flushIntervalMs?: number
  /** Rows within this many ms share one write (default 0: every row on its own). */
  groupMs?: number
  /**
   * An insert that has not answered after this many ms counts as the database being unavailable
   * (default 5,000): retried, then parked. Workers end a response's waitUntil work 30 s after it, so a
   * write hung on a stalled connection would otherwise be lost with the isolate's budget, and one hung
   * write-back would hold every later one (one at a time per isolate). The hung insert may still commit:
   * row ids make the retry a no-op then.
   */
  attemptTimeoutMs?: number
}

const insertOnce = (store: Store, r: AuditRow) =>
  r.kind === 'detection' ? store.insertDetection(r.row) : store.recordGeneration(r.row)

/** insertOnce, rejecting with DatabaseUnavailableError if it has not answered within `ms`. */
function insert(store: Store, r: AuditRow, ms: number): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailableError(`audit insert took over ${ms} ms`)), ms)
  })
  return Promise.race([insertOnce(store, r), late]).finally(() => clearTimeout(timer))
}

const log = (msg: string, fields: Record<string, unknown>) =>
  console.error(JSON.stringify({ level: 'error', msg, ...fields }))

export class AuditBuffer {
  private readonly rows: AuditRow[] = []
  private flushing: Promise<void> | null = null
  private nextFlushAt = 0
  /** Rows lost because the buffer was full. */
  dropped = 0
  /** Rows accepted and not yet written, parked or refused (their write is under way). */
  private writing = 0
  private readonly capacity: number
  private readonly attempts: number
  private readonly flushBatch: number
  private readonly flushIntervalMs: number
  private readonly attemptTimeoutMs: number
  /** See the module comment; set once per isolate (worker/src/index.ts). */
  groupMs: number
  private group: AuditRow[] | null = null

  constructor(options: AuditBufferOptions = {}) {
    this.capacity = options.capacity ?? 10_000
    this.attempts = options.attempts ?? 3
    this.flushBatch = options.flushBatch ?? 500
    this.flushIntervalMs = options.flushIntervalMs ?? 1000
    this.groupMs = options.groupMs ?? 0
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 5000
  }

  /** Rows waiting for the database. */
  get size(): number {
    return this.rows.length
  }

  /**
   * Rows this isolate still owes the database: `writing` are under way (a group window, a retry), `parked`
   * wait for it to answer again, `dropped` were lost to a full buffer. /health reports it, so a drain
   * (shutdown, a load test's settle) can tell "every row landed" from "the count stopped moving".
   */
  get state(): { writing: number; parked: number; dropped: number } {
    return { writing: this.writing, parked: this.rows.length, dropped: this.dropped }
  }

  /**
   * Writes one row, retrying; parks it if the database stays unavailable. Never rejects. With groupMs,
   * a row that joins an open group resolves at once: the group's opener writes it.
   */
  write(store: Store, row: AuditRow): Promise<void> {
    this.writing++
    if (this.groupMs <= 0) return this.writeOne(store, row).then(() => undefined)
    if (this.group) {
      this.group.push(row)
      return Promise.resolve()
    }
    const rows = [row]
    this.group = rows
    return (async () => {
      await new Promise((r) => setTimeout(r, this.groupMs))
      if (this.group === rows) this.group = null
      for (let i = 0; i < rows.length; i++) {
        if (await this.writeOne(store, rows[i])) continue
        // Parked: the database is unavailable; the rest wait with it instead of retrying each.
        for (const rest of rows.slice(i + 1)) {
          this.writing--
          this.park(rest)
        }
        return
      }
    })()
  }

  /**
   * Writes one row (counted in `writing`) with retries; false when it was parked (the database is
   * unavailable). Either way the row leaves `writing`.
   */
  private async writeOne(store: Store, row: AuditRow): Promise<boolean> {
    try {
      for (let i = 1; ; i++) {
        try {
          await insert(store, row, this.attemptTimeoutMs)
          return true
        } catch (err) {
          if (i >= this.attempts) {
            if (isDatabaseUnavailable(err)) {
              this.park(row)
              return false
            }
            log(`${row.kind} audit row not written after ${i} attempts`, {
              id: row.row.id,
              error: (err as Error).message,
            })
            return true
          }
          await new Promise((r) => setTimeout(r, 50 * 2 ** i))
        }
      }
    } finally {
      this.writing--
    }
  }

  private park(row: AuditRow): void {
    if (this.rows.length >= this.capacity) {
      const lost = this.rows.shift()!
      this.dropped++
      log('audit buffer full: oldest row dropped', { id: lost.row.id, dropped: this.dropped })
    }
    this.rows.push(row)
    if (this.rows.length === 1)
      log('database unavailable: audit rows buffered in this isolate', { kind: row.kind })
  }

  /**
   * Writes parked rows, oldest first, with this request's store (at most flushBatch; one write-back at a
   * time per isolate, and not more often than flushIntervalMs). Stops at the first sign the database is
   * still unavailable; drops (and logs) a row the database refuses for another reason. Never rejects.
   */
  flush(store: Store, now = Date.now()): Promise<void> {
    if (this.rows.length === 0) return Promise.resolve()
    if (this.flushing) return this.flushing
    if (now < this.nextFlushAt) return Promise.resolve()
    this.nextFlushAt = now + this.flushIntervalMs
    this.flushing = (async () => {
      try {
        for (let n = 0; n < this.flushBatch && this.rows.length > 0; n++) {
          const row = this.rows[0]
          try {
            await insert(store, row, this.attemptTimeoutMs)
          } catch (err) {
            if (isDatabaseUnavailable(err)) return
            log(`buffered ${row.kind} audit row refused`, { id: row.row.id, error: (err as Error).message })
          }
          // By identity: a full buffer may have dropped its oldest row (this one) meanwhile.
          const at = this.rows.indexOf(row)
          if (at >= 0) this.rows.splice(at, 1)
        }
        if (this.rows.length === 0) this.nextFlushAt = 0
      } finally {
        this.flushing = null
      }
    })()
    return this.flushing
  }
}

/** This isolate's buffer (module scope is per isolate). */
export const auditBuffer = new AuditBuffer()
