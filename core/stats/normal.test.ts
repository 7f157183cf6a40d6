import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { relErr } from './exact.testutil.ts'
import { normalLogCdf, normalLogSf, normalSf, zScoreBinomial } from './normal.ts'

const jStat = createRequire(import.meta.url)('jstat')

// ln P[Z >= z] from the asymptotic series ln φ(z) − ln z + ln(1 − 1/z² + 3/z⁴ − …); good to 1e-16 for z >= 20.
function asymptoticLogSf(z: number): number {
  const u = 1 / (z * z)
  const s = 1 - u + 3 * u ** 2 - 15 * u ** 3 + 105 * u ** 4 - 945 * u ** 5 + 10395 * u ** 6
  return -0.5 * z * z - 0.9189385332046728 - Math.log(z) + Math.log(s)
}

describe('normalLogSf', () => {
  it('is finite far in the tail: z = 40 gives ln p ≈ −804.608', () => {
    const l = normalLogSf(40)
    expect(Number.isFinite(l)).toBe(true)
    expect(l).toBeCloseTo(-804.608, 3)
    expect(normalSf(40)).toBe(0) // the plain p underflows; that is why the log exists
    for (const z of [20, 40, 100, 1000])
      expect(relErr(normalLogSf(z), asymptoticLogSf(z)), `z=${z}`).toBeLessThan(1e-14)
  })

  it('matches jstat over z in [−8, 5] (rel 1e-9)', () => {
    for (let i = -80; i <= 50; i++) {
      const z = i / 10
      const ref = jStat.normal.cdf(-z, 0, 1)
      expect(relErr(normalSf(z), ref), `z=${z}`).toBeLessThan(1e-9)
    }
  })

  it('is symmetric and exact at 0', () => {
    expect(relErr(normalLogSf(0), -Math.LN2)).toBeLessThan(1e-16)
    for (const z of [0.1, 0.7, 1.2, 1.5, 1.6, 2.5, 4, 7]) {
      expect(Math.abs(normalSf(z) + normalSf(-z) - 1)).toBeLessThan(2e-16)
      expect(normalLogCdf(z)).toBe(normalLogSf(-z))
    }
    expect(normalLogSf(Infinity)).toBe(-Infinity)
    expect(normalLogSf(-Infinity)).toBe(0)
    expect(normalLogSf(Number.NaN)).toBeNaN()
  })
})

describe('zScoreBinomial', () => {
  it('is the KGW z', () => {
    expect(zScoreBinomial(44, 60, 0.25)).toBeCloseTo(29 / Math.sqrt(60 * 0.25 * 0.75), 14)
    expect(zScoreBinomial(15, 60, 0.25)).toBe(0)
    expect(zScoreBinomial(0, 0, 0.25)).toBe(0)
  })
})
