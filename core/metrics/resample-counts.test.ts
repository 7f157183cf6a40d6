import { describe, expect, it } from 'vitest'
import { ResampleCounts } from './resample-counts.ts'

describe('ResampleCounts', () => {
  it('stores B multinomial patterns as unit-major prefix sums', () => {
    const B = 500
    const n = 40
    const prefix = new ResampleCounts(3, B).prefix(n, 'units')
    expect(prefix.length).toBe((n + 1) * B)
    let drawsOfUnit0 = 0
    for (let b = 0; b < B; b++) {
      expect(prefix[b]).toBe(0) // nothing below unit 0
      expect(prefix[n * B + b]).toBe(n) // n draws in every resample
      for (let i = 0; i < n; i++) expect(prefix[(i + 1) * B + b]).toBeGreaterThanOrEqual(prefix[i * B + b])
      drawsOfUnit0 += prefix[B + b]
    }
    // Each unit is drawn Binomial(n, 1/n) times per resample: mean 1, sd √(39/40) ≈ 0.99;
    // over 500 resamples the mean has sd 0.044, so ±0.2 is a 4.5-sd band.
    expect(Math.abs(drawsOfUnit0 / B - 1)).toBeLessThan(0.2)
  })

  it('is reproducible per (seed, stream, n) and independent across streams', () => {
    const a = new ResampleCounts(9, 100)
    const b = new ResampleCounts(9, 100)
    expect(a.prefix(30, 'positive')).toEqual(b.prefix(30, 'positive'))
    expect(a.prefix(30, 'positive')).toBe(a.prefix(30, 'positive')) // cached
    expect(a.prefix(30, 'negative')).not.toEqual(a.prefix(30, 'positive'))
    expect(new ResampleCounts(10, 100).prefix(30, 'positive')).not.toEqual(a.prefix(30, 'positive'))
  })

  it('evicts the oldest patterns beyond its cache budget and redraws them identically', () => {
    const counts = new ResampleCounts(1, 10, 500) // room for one 41 × 10 table
    const first = counts.prefix(40, 'units')
    counts.prefix(40, 'other')
    const again = counts.prefix(40, 'units')
    expect(again).not.toBe(first)
    expect(again).toEqual(first)
  })
})
