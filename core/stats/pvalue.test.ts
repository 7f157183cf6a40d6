import { describe, expect, it } from 'vitest'
import { relErr } from './exact.testutil.ts'
import { bonferroni, formatP, holm, holmMin, log10P, pValueFromLog, pValueFromP } from './pvalue.ts'

const ln = Math.log

describe('bonferroni', () => {
  it('multiplies by m and caps at 1', () => {
    expect(relErr(bonferroni(ln(0.01), 3), ln(0.03))).toBeLessThan(1e-15)
    expect(bonferroni(ln(0.5), 3)).toBe(0)
    expect(bonferroni(-5000, 10)).toBeCloseTo(-5000 + ln(10), 10)
    expect(() => bonferroni(-1, 0)).toThrow(RangeError)
  })
})

describe('holm', () => {
  it('step-down adjusts, stays monotone, keeps input order', () => {
    // sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → running max 0.06
    const adj = holm([0.01, 0.04, 0.03, 0.005].map(ln)).map(Math.exp)
    const want = [0.03, 0.06, 0.06, 0.02]
    for (let i = 0; i < adj.length; i++) expect(relErr(adj[i], want[i])).toBeLessThan(1e-14)
  })

  it('caps at 1, handles ties, empty input and p far below 1e-300', () => {
    expect(holm([ln(0.6), ln(0.9)])).toEqual([0, 0])
    expect(
      holm([ln(0.4), ln(0.9)])
        .map(Math.exp)
        .map((v) => Number(v.toFixed(12))),
    ).toEqual([0.8, 0.9])
    const tied = holm([ln(0.01), ln(0.01)])
    expect(tied[0]).toBe(tied[1])
    expect(relErr(Math.exp(tied[0]), 0.02)).toBeLessThan(1e-14)
    expect(holm([])).toEqual([])
    const tiny = holm([-2000, -1000])
    expect(tiny[0]).toBeCloseTo(-2000 + ln(2), 10)
    expect(tiny[1]).toBe(-1000)
  })

  it('is never less strict than the raw p and never stricter than Bonferroni', () => {
    const ps = [1e-5, 0.002, 0.3, 0.02, 0.0009].map(ln)
    const adj = holm(ps)
    adj.forEach((v, i) => {
      expect(v).toBeGreaterThanOrEqual(ps[i])
      expect(v).toBeLessThanOrEqual(bonferroni(ps[i], ps.length) + 1e-15)
    })
    expect(holmMin(ps)).toEqual({ index: 0, logP: adj[0] })
    expect(holmMin([])).toEqual({ index: -1, logP: 0 })
  })
})

describe('PValue and formatP', () => {
  it('keeps ln p when p underflows', () => {
    const v = pValueFromLog(-2000 * Math.LN10)
    expect(v.p).toBe(0)
    expect(log10P(v.logP)).toBeCloseTo(-2000, 10)
    expect(formatP(v)).toBe('1.00e-2000')
    expect(formatP(ln(1e-300))).toBe('1.00e-300')
    expect(formatP(ln(3.456e-7))).toBe('3.46e-7')
    expect(formatP(ln(9.9999e-5))).toBe('1.00e-4')
    expect(formatP(ln(0.0123))).toBe('0.0123')
    expect(formatP(0)).toBe('1')
    expect(formatP(-Infinity)).toBe('0')
    expect(pValueFromLog(0.5)).toEqual({ logP: 0, p: 1 })
    expect(pValueFromP(0.25).logP).toBeCloseTo(ln(0.25), 15)
  })
})
