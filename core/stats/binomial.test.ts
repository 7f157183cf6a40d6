import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { binomialLogCdf, binomialLogPmf, binomialLogSf, binomialSf } from './binomial.ts'
import { binomialRow, logRatio, relErr } from './exact.testutil.ts'
import { loadVectors } from '../../test/vectors.ts'

const vllmVectors = loadVectors('vllm.json')

const jStat = createRequire(import.meta.url)('jstat')

// Exact ln P[X >= k] for p = num/den with BigInt: Σ_{c>=k} C(n,c) num^c (den−num)^(n−c) / den^n.
function exactLogSf(k: number, n: number, num: bigint, den: bigint): number {
  const row = binomialRow(n)
  let s = 0n
  for (let c = Math.max(0, k); c <= n; c++) s += row[c] * num ** BigInt(c) * (den - num) ** BigInt(n - c)
  return logRatio(s, den ** BigInt(n))
}

describe('binomialLogSf', () => {
  it('matches every vLLM/mpmath golden in vllm.json (rel 1e-12)', () => {
    const rows = vllmVectors.p_value_functions.binomial_survival
    expect(rows.length).toBeGreaterThanOrEqual(7)
    for (const r of rows) {
      const got = binomialSf(r.successes, r.trials, r.probability)
      if (r.mpmath_reference === 0) expect(got).toBe(0)
      else {
        expect(relErr(got, r.mpmath_reference)).toBeLessThan(1e-12)
        expect(relErr(got, r.vllm)).toBeLessThan(1e-12)
      }
    }
  })

  it('matches the red/green detection goldens', () => {
    for (const v of vllmVectors.red_green_detection) {
      const e = v.expected
      expect(relErr(binomialSf(Math.round(e.score), e.num_scored_tokens, v.gamma), e.p_value)).toBeLessThan(
        1e-12,
      )
    }
  })

  it('matches jstat pmf sums over a (k, n, p) grid (rel 1e-9 where p > 1e-12)', () => {
    let checked = 0
    for (const n of [1, 2, 3, 5, 10, 20, 37, 50, 100, 150, 170]) {
      for (const p of [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]) {
        let ref = 0 // accumulate the tail from the top: P[X >= k] for k = n..0
        for (let k = n; k >= 0; k--) {
          ref += jStat.binomial.pdf(k, n, p)
          if (ref < 1e-12) continue
          expect(relErr(binomialSf(k, n, p), Math.min(1, ref)), `k=${k} n=${n} p=${p}`).toBeLessThan(1e-9)
          checked++
        }
      }
    }
    expect(checked).toBeGreaterThan(2000)
  })

  it('agrees with jstat binomial.cdf for large n (jstat rounds to 1e-10 absolute)', () => {
    for (const n of [500, 1000, 5000]) {
      for (const p of [0.1, 0.25, 0.5]) {
        for (let k = 0; k <= n; k += Math.max(1, Math.floor(n / 97))) {
          const ref = jStat.binomial.cdf(n - k, n, 1 - p) // P[X >= k] = P[n−X <= n−k]
          expect(Math.abs(binomialSf(k, n, p) - ref)).toBeLessThan(2e-10)
        }
      }
    }
  })

  it('matches exact BigInt tails far below 1e-300 (rel 1e-12 in ln p)', () => {
    const cases: Array<[number, number, bigint, bigint]> = [
      [900, 1000, 1n, 4n],
      [1000, 1000, 1n, 4n],
      [600, 1000, 1n, 4n],
      [260, 1000, 1n, 4n], // near the mean: p ~ 0.2
      [240, 1000, 1n, 4n], // below the mean: complement path
      [990, 1000, 1n, 2n],
      [700, 1000, 1n, 2n],
      [500, 1000, 1n, 2n],
      [1900, 2000, 1n, 4n],
      [45, 60, 1n, 4n],
    ]
    for (const [k, n, num, den] of cases) {
      const exact = exactLogSf(k, n, num, den)
      const got = binomialLogSf(k, n, Number(num) / Number(den))
      expect(relErr(got, exact), `k=${k} n=${n}`).toBeLessThan(1e-12)
      expect(Number.isFinite(got)).toBe(true)
    }
    // n=1000, k=900, p=1/4 is about e^-900: p itself underflows, the log does not.
    expect(binomialSf(900, 1000, 0.25)).toBe(0)
    expect(binomialLogSf(900, 1000, 0.25)).toBeLessThan(-800)
  })

  it('keeps relative accuracy of ln p when p is within 1e-20 of 1', () => {
    // P[X >= 1] = 1 − (3/4)^200, computed via the complement P[X = 0]
    const exact = Math.log1p(-(0.75 ** 200))
    expect(relErr(binomialLogSf(1, 200, 0.25), exact)).toBeLessThan(1e-13)
  })

  it('handles edges like vLLM', () => {
    expect(binomialLogSf(0, 10, 0.25)).toBe(0)
    expect(binomialLogSf(-3, 10, 0.25)).toBe(0)
    expect(binomialLogSf(11, 10, 0.25)).toBe(-Infinity)
    expect(binomialLogSf(0, 0, 0.5)).toBe(0)
    expect(binomialLogSf(1, 0, 0.5)).toBe(-Infinity)
    expect(binomialLogSf(1, 10, 0)).toBe(-Infinity)
    expect(binomialLogSf(10, 10, 1)).toBe(0)
    expect(binomialLogSf(2.5, 10, 0.25)).toBe(binomialLogSf(3, 10, 0.25))
    expect(() => binomialLogSf(1, 10, 1.5)).toThrow(RangeError)
    expect(() => binomialLogSf(1, 2.5, 0.5)).toThrow(RangeError)
  })

  it('pmf and cdf are consistent with the survival function', () => {
    for (const [k, n, p] of [
      [3, 10, 0.25],
      [30, 60, 0.25],
      [400, 1000, 0.5],
      [5, 100000, 0.0001],
    ]) {
      const sf = binomialLogSf(k, n, p)
      const cdf = binomialLogCdf(k - 1, n, p)
      expect(Math.abs(Math.exp(sf) + Math.exp(cdf) - 1)).toBeLessThan(1e-14)
      const pmf = binomialLogPmf(k, n, p)
      // Difference the smaller tail so the check itself does not cancel.
      const diff =
        sf < Math.log(0.5)
          ? Math.exp(sf) - Math.exp(binomialLogSf(k + 1, n, p))
          : Math.exp(binomialLogCdf(k, n, p)) - Math.exp(cdf)
      expect(relErr(diff, Math.exp(pmf))).toBeLessThan(1e-11)
    }
    // pmf at huge n against the exact value via BigInt
    const n = 3000
    const row = binomialRow(n)
    const exact = logRatio(row[1000], 2n ** BigInt(n))
    expect(relErr(binomialLogPmf(1000, n, 0.5), exact)).toBeLessThan(1e-14)
  })

  it('is fast enough for long texts', () => {
    const t0 = performance.now()
    const l = binomialLogSf(270_000, 1_000_000, 0.25)
    expect(Number.isFinite(l)).toBe(true)
    expect(l).toBeLessThan(-200)
    expect(performance.now() - t0).toBeLessThan(200)
  })
})
