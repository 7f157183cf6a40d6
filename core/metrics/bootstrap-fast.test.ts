// The fast bootstraps against the plain index bootstrap they replace: same distribution, so the
// intervals must agree up to Monte-Carlo error. With B = 2000 the 2.5 % percentile of a normal-ish
// statistic has MC sd √(0.025 · 0.975 / 2000) / φ(1.96) ≈ 0.06 SE; the difference of two
// independent runs ≈ 0.085 SE, so 0.3 SE is a 3.5-sd tolerance.
import { describe, expect, it } from 'vitest'
import { seededRng } from '../rng.ts'
import { bootstrapCi, mean, stratifiedBootstrapCi } from './bootstrap.ts'
import { aucBootstrapCi } from './bootstrap-auc.ts'
import { bootstrapMeansCi } from './bootstrap-means.ts'
import { binomialTable, drawBinomial, proportionBootstrapCi } from './bootstrap-proportion.ts'
import { auc } from './roc.ts'

const opts = { resamples: 2000, seed: 3, confidence: 0.95 }

describe('binomialTable / drawBinomial', () => {
  it('tabulates a distribution with the right mean and variance', () => {
    for (const [n, p] of [
      [10, 0.5],
      [2000, 0.99],
      [5000, 0.001],
      [1, 0.3],
    ]) {
      const t = binomialTable(n, p)
      expect(t.cdf[t.cdf.length - 1]).toBe(1)
      let m = 0
      let m2 = 0
      let prev = 0
      t.cdf.forEach((c, i) => {
        const k = t.offset + i
        m += k * (c - prev)
        m2 += k * k * (c - prev)
        prev = c
      })
      expect(m).toBeCloseTo(n * p, 9)
      expect(m2 - m * m).toBeCloseTo(n * p * (1 - p), 6)
    }
  })

  it('inverts the CDF: Binomial(2, ½) has P[0] = ¼, P[1] = ½', () => {
    const t = binomialTable(2, 0.5)
    expect([0, 0.2499, 0.25, 0.7499, 0.75, 0.9999].map((u) => drawBinomial(t, u))).toEqual([0, 0, 1, 1, 2, 2])
    expect(drawBinomial(binomialTable(7, 1), 0.3)).toBe(7)
    expect(drawBinomial(binomialTable(7, 0), 0.3)).toBe(0)
  })
})

describe('proportionBootstrapCi', () => {
  it('agrees with the index bootstrap of the booleans', () => {
    for (const [k, n] of [
      [37, 50],
      [1900, 2000],
      [3, 400],
    ]) {
      const bools = Array.from({ length: n }, (_, i) => (i < k ? 1 : 0))
      const slow = bootstrapCi(bools, mean, opts)!
      const fast = proportionBootstrapCi(k, n, opts)!
      const se = Math.sqrt(((k / n) * (1 - k / n)) / n)
      expect(Math.abs(fast.low - slow.low)).toBeLessThan(0.25 * se + 1 / n)
      expect(Math.abs(fast.high - slow.high)).toBeLessThan(0.25 * se + 1 / n)
      expect(fast.low).toBeLessThanOrEqual(k / n)
      expect(fast.high).toBeGreaterThanOrEqual(k / n)
    }
  })

  it('is degenerate at 0 and n, null below 2, deterministic otherwise', () => {
    expect(proportionBootstrapCi(0, 500, opts)).toEqual({ low: 0, high: 0 })
    expect(proportionBootstrapCi(500, 500, opts)).toEqual({ low: 1, high: 1 })
    expect(proportionBootstrapCi(1, 1, opts)).toBeNull()
    expect(proportionBootstrapCi(10, 100, opts)).toEqual(proportionBootstrapCi(10, 100, opts))
    expect(() => proportionBootstrapCi(11, 10, opts)).toThrow(/successes/)
  })
})

describe('aucBootstrapCi', () => {
  const rng = seededRng(8)
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng())
  // Overlapping classes with ties (rounded scores), a block of positives above every negative and a
  // block of negatives below every positive, so both shortcuts and the mixed middle are exercised.
  const pos = Array.from({ length: 300 }, () => Math.round(4 * (gauss() + 1.2)) / 4)
  const neg = Array.from({ length: 250 }, () => Math.round(4 * gauss()) / 4)

  it('agrees with the stratified index bootstrap', () => {
    const slow = stratifiedBootstrapCi(pos, neg, auc, opts)!
    const fast = aucBootstrapCi(pos, neg, opts)!
    const a = auc(pos, neg)
    expect(a).toBeGreaterThan(0.75)
    expect(a).toBeLessThan(0.9)
    const se = (slow.high - slow.low) / 3.92
    expect(Math.abs(fast.low - slow.low)).toBeLessThan(0.3 * se)
    expect(Math.abs(fast.high - slow.high)).toBeLessThan(0.3 * se)
    expect(fast.low).toBeLessThan(a)
    expect(fast.high).toBeGreaterThan(a)
  })

  it('returns constant intervals without resampling when nothing can change', () => {
    expect(aucBootstrapCi([5, 6, 7], [1, 2], opts)).toEqual({ low: 1, high: 1 })
    expect(aucBootstrapCi([1, 2], [5, 6, 7], opts)).toEqual({ low: 0, high: 0 })
    expect(aucBootstrapCi([3, 3], [3, 3, 3], opts)).toEqual({ low: 0.5, high: 0.5 })
    expect(aucBootstrapCi([3], [1, 2], opts)).toBeNull()
    // two blocks, but the top one is a tie group: resamples move the AUC (3/4 here)
    const tied = aucBootstrapCi([5, 5], [1, 5], opts)!
    expect(tied.low).toBeLessThan(tied.high)
  })

  it('is deterministic for a seed', () => {
    expect(aucBootstrapCi(pos, neg, opts)).toEqual(aucBootstrapCi(pos, neg, opts))
  })
})

describe('bootstrapMeansCi', () => {
  it('matches one-sample bootstraps per column and pairs a difference column', () => {
    const rng = seededRng(4)
    const n = 400
    const w = Array.from({ length: n }, () => 20 + 10 * rng())
    const u = w.map((x) => x - 3) // constant difference 3
    const d = w.map((x, i) => x - u[i])
    const [cw, cu, cd] = bootstrapMeansCi([w, u, d], opts)
    const slow = bootstrapCi(w, mean, opts)!
    const se = (slow.high - slow.low) / 3.92
    expect(Math.abs(cw!.low - slow.low)).toBeLessThan(0.3 * se)
    expect(Math.abs(cw!.high - slow.high)).toBeLessThan(0.3 * se)
    expect(cu!.low).toBeCloseTo(cw!.low - 3, 10) // same rows drawn for every column
    expect(cd).toEqual({ low: 3, high: 3 })
  })

  it('skips missing values and gives null to columns with fewer than 2', () => {
    const nan = Number.NaN
    const [a, b, c] = bootstrapMeansCi(
      [
        [1, nan, 3, nan],
        [nan, nan, 5, nan],
        [2, 2, 2, 2],
      ],
      opts,
    )
    expect(a!.low).toBeGreaterThanOrEqual(1)
    expect(a!.high).toBeLessThanOrEqual(3)
    expect(b).toBeNull()
    expect(c).toEqual({ low: 2, high: 2 })
    expect(() => bootstrapMeansCi([[1, 2], [1]], opts)).toThrow(/differ in length/)
  })
})
