// The breaker's state machine on an injected clock: closed → open after N consecutive failures →
// half-open after openMs with exactly one probe → closed on success, open again on failure.
import { describe, expect, it } from 'vitest'
import { CircuitBreaker } from './circuit-breaker.ts'

function breaker(threshold = 3, openMs = 10_000) {
  const clock = { t: 0 }
  return { b: new CircuitBreaker({ threshold, openMs, now: () => clock.t }), clock }
}

describe('CircuitBreaker', () => {
  it('opens only after `threshold` consecutive failures; a success in between resets the count', () => {
    const { b } = breaker(3)
    for (const outcome of ['f', 'f', 's', 'f', 'f']) {
      expect(b.admit()).toBeNull()
      outcome === 'f' ? b.failure() : b.success()
    }
    expect(b.state).toBe('closed')
    expect(b.admit()).toBeNull()
    b.failure()
    expect(b.state).toBe('open')
  })
  it('refuses while open with the seconds left as Retry-After', () => {
    const { b, clock } = breaker(1, 10_000)
    b.admit()
    b.failure()
    clock.t = 2_500
    expect(b.admit()).toEqual({ retryAfterSeconds: 8 })
    clock.t = 9_999
    expect(b.admit()).toEqual({ retryAfterSeconds: 1 })
  })
  it('lets exactly one probe through when half-open; its success closes', () => {
    const { b, clock } = breaker(1, 1000)
    b.admit()
    b.failure()
    clock.t = 1000
    expect(b.state).toBe('half-open')
    expect(b.admit()).toBeNull()
    expect(b.admit()).toEqual({ retryAfterSeconds: 1 })
    b.success()
    expect(b.state).toBe('closed')
    expect(b.admit()).toBeNull()
  })
  it('re-opens for another openMs when the probe fails; a released probe frees the slot', () => {
    const { b, clock } = breaker(2, 1000)
    b.admit()
    b.failure()
    b.admit()
    b.failure()
    clock.t = 1000
    expect(b.admit()).toBeNull()
    b.release()
    expect(b.admit()).toBeNull()
    b.failure()
    expect(b.state).toBe('open')
    clock.t = 1999
    expect(b.admit()).toEqual({ retryAfterSeconds: 1 })
    clock.t = 2000
    expect(b.state).toBe('half-open')
  })
  it('rejects a nonsensical configuration at construction', () => {
    expect(() => new CircuitBreaker({ threshold: 0 })).toThrow(/threshold/)
    expect(() => new CircuitBreaker({ openMs: -1 })).toThrow(/openMs/)
  })
})
