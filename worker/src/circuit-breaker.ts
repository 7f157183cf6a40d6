// A per-isolate circuit breaker for the generation origin. Closed: requests pass and consecutive
// failures are counted. Open (after `threshold` of them): requests are refused at once with the time
// left as Retry-After, so a down origin costs callers nothing instead of a timeout each. Half-open
// (once `openMs` has passed): one probe request goes through; its success closes the breaker, its
// failure opens it for another `openMs`.

export type BreakerState = 'closed' | 'open' | 'half-open'

export interface BreakerOptions {
  /** Consecutive failures (errors, timeouts) that open the breaker. */
  threshold?: number
  /** How long it stays open before a probe may go through. */
  openMs?: number
  now?: () => number
}

/** Why a request was refused, and when to come back. */
export interface Refusal {
  retryAfterSeconds: number
}

export class CircuitBreaker {
  readonly threshold: number
  readonly openMs: number
  private readonly now: () => number
  private failures = 0
  private openedAt: number | null = null
  private probing = false

  constructor(options: BreakerOptions = {}) {
    this.threshold = options.threshold ?? 5
    this.openMs = options.openMs ?? 15_000
    this.now = options.now ?? Date.now
    if (!Number.isInteger(this.threshold) || this.threshold < 1)
      throw new Error(`circuit breaker threshold must be an integer ≥ 1, got ${this.threshold}`)
    if (!(this.openMs > 0)) throw new Error(`circuit breaker openMs must be > 0, got ${this.openMs}`)
  }

  get state(): BreakerState {
    if (this.openedAt === null) return 'closed'
    return this.now() - this.openedAt >= this.openMs ? 'half-open' : 'open'
  }

  /**
   * Asks to send one request: null when it may go (in half-open it becomes the probe), a Refusal
   * otherwise. Every admitted request must end in success(), failure() or release().
   */
  admit(): Refusal | null {
    const state = this.state
    if (state === 'closed') return null
    if (state === 'half-open' && !this.probing) {
      this.probing = true
      return null
    }
    const left = state === 'open' ? this.openedAt! + this.openMs - this.now() : 0
    return { retryAfterSeconds: Math.max(1, Math.ceil(left / 1000)) }
  }

  /** The origin answered: close and forget earlier failures. */
  success(): void {
    this.failures = 0
    this.openedAt = null
    this.probing = false
  }

  /** The origin failed (unreachable, 5xx, timeout, stream cut): count it; a failed probe re-opens. */
  failure(): void {
    this.failures++
    if (this.probing || this.failures >= this.threshold) this.openedAt = this.now()
    this.probing = false
  }

  /** The request ended without telling anything about the origin (the client went away). */
  release(): void {
    this.probing = false
  }
}
