// Bounded concurrency for model work: at most `maxConcurrent` holders at once and a FIFO queue of at
// most `maxQueue` waiters; anyone beyond is refused at once, so the caller can answer 503 with
// Retry-After instead of piling up latency.

/** Thrown by acquire() when every slot is taken and the queue is full. */
export class BusyError extends Error {
  constructor() {
    super('every generation slot is busy and the queue is full')
    this.name = 'BusyError'
  }
}

type Waiter = (release: () => void) => void

export class ConcurrencyLimiter {
  private running = 0
  private readonly queue: Waiter[] = []

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueue: number,
  ) {
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1)
      throw new RangeError(`maxConcurrent must be an integer ≥ 1, got ${maxConcurrent}`)
    if (!Number.isInteger(maxQueue) || maxQueue < 0)
      throw new RangeError(`maxQueue must be an integer ≥ 0, got ${maxQueue}`)
  }

  get inFlight(): number {
    return this.running
  }

  get queueDepth(): number {
    return this.queue.length
  }

  /**
   * Admits the caller now or queues it; refusal (BusyError) is synchronous, so the answer is known
   * before any response byte is sent. The promise resolves to the slot's release function (call it
   * exactly once) and rejects with the signal's reason if the waiter is aborted while queued.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason)
    if (this.running < this.maxConcurrent) {
      this.running++
      return Promise.resolve(this.releaser())
    }
    if (this.queue.length >= this.maxQueue) throw new BusyError()
    return new Promise((resolve, reject) => {
      const waiter: Waiter = (release) => {
        signal?.removeEventListener('abort', onAbort)
        resolve(release)
      }
      const onAbort = () => {
        const at = this.queue.indexOf(waiter)
        if (at >= 0) this.queue.splice(at, 1)
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.queue.push(waiter)
    })
  }

  private releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.queue.shift()
      // hand the slot straight to the next waiter: running stays the same
      if (next) next(this.releaser())
      else this.running--
    }
  }
}
