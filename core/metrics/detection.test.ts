import { describe, expect, it } from 'vitest'
import { countRejections, empiricalFpr, nullsNeeded, tprAt, verifiable } from './detection.ts'

describe('rates at a p-value threshold', () => {
  const ln = Math.log
  it('counts ln p ≤ ln α, equality included', () => {
    // p = 0.01 (equal to α), 0.0100001 (just above), 1e-300, e^-1000 (far below any double p)
    const logPs = [ln(0.01), ln(0.0100001), ln(1e-300), -1000]
    expect(countRejections(logPs, 0.01)).toBe(3)
    expect(tprAt(logPs, 0.01)).toBe(0.75)
    expect(tprAt(logPs, 1e-300)).toBe(0.5)
  })

  it('computes the empirical FPR with the same rule', () => {
    const nulls = [ln(0.5), ln(0.2), ln(0.05), ln(0.001), 0]
    expect(empiricalFpr(nulls, 0.05)).toBe(2 / 5)
    expect(empiricalFpr(nulls, 0.01)).toBe(1 / 5)
    expect(empiricalFpr(nulls, 1e-5)).toBe(0)
  })

  it('reports 0 for an empty sample and rejects α outside (0, 1)', () => {
    expect(tprAt([], 0.01)).toBe(0)
    expect(() => tprAt([-1], 0)).toThrow(/alpha must be in \(0, 1\), got 0/)
    expect(() => countRejections([-1], 1)).toThrow(RangeError)
  })
})

describe('verifiable (rule of three)', () => {
  it('needs ⌈3/α⌉ null texts, without off-by-one from binary round-off', () => {
    expect(nullsNeeded(0.01)).toBe(300)
    expect(nullsNeeded(0.001)).toBe(3_000)
    expect(nullsNeeded(1e-5)).toBe(300_000) // 3 / 1e-5 = 299999.99999999994 in binary
    expect(nullsNeeded(0.007)).toBe(429) // 428.57… rounds up
  })

  it('compares n with that count', () => {
    expect(verifiable(300, 0.01)).toBe(true)
    expect(verifiable(299, 0.01)).toBe(false)
    expect(verifiable(2_000, 0.001)).toBe(false)
    expect(verifiable(300_000, 1e-5)).toBe(true)
  })
})
