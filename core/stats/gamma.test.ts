import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { bigFactorial, logRatio, relErr } from './exact.testutil.ts'
import { gammaLogP, gammaLogQ, gammaLogSfInt, gammaQ, gammaSfInt, poissonLogPmf } from './gamma.ts'
import { logGamma } from './log-math.ts'
import { loadVectors } from '../../test/vectors.ts'

const vllmVectors = loadVectors('vllm.json')

const jStat = createRequire(import.meta.url)('jstat')

// Exact ln P[Gamma(T,1) >= S] for integer S, T: −S + ln(N / (T−1)!), with the integer
// N = Σ_{k<T} S^k·(T−1)!/k!. (Near p = 1 the final −S + … cancels; compare p there.)
function exactLogSf(S: number, T: number): number {
  const s = BigInt(S)
  let n = 0n
  let fallingFact = 1n // (T−1)!/k! for k = T−1, T−2, …
  let powS = s ** BigInt(T - 1)
  for (let k = T - 1; k >= 0; k--) {
    n += powS * fallingFact
    if (k > 0) {
      fallingFact *= BigInt(k)
      powS /= s
    }
  }
  return -S + logRatio(n, bigFactorial(T - 1))
}

describe('gammaLogSfInt (integer shape, vLLM Gumbel)', () => {
  it('matches every vLLM/mpmath golden in vllm.json (rel 1e-12)', () => {
    const rows = vllmVectors.p_value_functions.gamma_survival_integer_shape
    expect(rows.length).toBeGreaterThanOrEqual(7)
    for (const r of rows) {
      const got = gammaSfInt(r.score, r.shape)
      expect(relErr(got, r.mpmath_reference), `S=${r.score} T=${r.shape}`).toBeLessThan(1e-12)
      expect(relErr(got, r.vllm)).toBeLessThan(1e-12)
    }
  })

  it('matches the Gumbel detection goldens', () => {
    expect(vllmVectors.gumbel_detection.length).toBeGreaterThan(0)
    for (const v of vllmVectors.gumbel_detection) {
      const e = v.expected
      expect(relErr(gammaSfInt(e.score, e.num_scored_tokens), e.p_value), v.name).toBeLessThan(1e-12)
    }
  })

  it('matches exact BigInt values, including p far below 1e-300 (rel 1e-12 in ln p)', () => {
    for (const [S, T] of [
      [100, 100],
      [100, 60],
      [300, 64],
      [1000, 500],
      [2000, 1000],
      [3000, 200],
      [5000, 4800],
      [40, 64],
      [7, 3],
    ]) {
      const exact = exactLogSf(S, T)
      const err = (got: number) => (exact > -1 ? relErr(Math.exp(got), Math.exp(exact)) : relErr(got, exact))
      expect(err(gammaLogSfInt(S, T)), `S=${S} T=${T}`).toBeLessThan(1e-12)
      expect(err(gammaLogQ(T, S)), `Q S=${S} T=${T}`).toBeLessThan(1e-12)
    }
    expect(gammaSfInt(3000, 200)).toBe(0)
    expect(gammaLogSfInt(3000, 200)).toBeLessThan(-2000)
  })

  it('agrees with jstat (rel 1e-9 where the reference is accurate)', () => {
    let checked = 0
    for (const T of [1, 2, 3, 5, 10, 20, 50, 64, 100, 300, 1000]) {
      for (const f of [0.05, 0.2, 0.5, 0.8, 0.9, 1, 1.1, 1.3, 1.5, 2, 3]) {
        const S = T * f
        const cdf = jStat.gamma.cdf(S, T, 1)
        // 1 − cdf is only accurate when the upper tail is not tiny; the lower tail is direct.
        if (1 - cdf > 1e-6) {
          expect(relErr(gammaSfInt(S, T), 1 - cdf), `sf S=${S} T=${T}`).toBeLessThan(1e-9)
          checked++
        }
        if (cdf > 1e-12) {
          expect(relErr(Math.exp(gammaLogP(T, S)), cdf), `cdf S=${S} T=${T}`).toBeLessThan(1e-9)
          checked++
        }
      }
    }
    expect(checked).toBeGreaterThan(150)
  })

  it('handles edges like vLLM', () => {
    expect(gammaLogSfInt(0, 5)).toBe(0)
    expect(gammaLogSfInt(-1, 5)).toBe(0)
    expect(gammaLogSfInt(5, 0)).toBe(0)
    expect(gammaLogSfInt(Infinity, 5)).toBe(-Infinity)
    expect(relErr(gammaSfInt(2, 1), Math.exp(-2))).toBeLessThan(1e-15)
    // Non-integer shape falls through to Q(a, x).
    expect(gammaLogSfInt(12, 10.5)).toBe(gammaLogQ(10.5, 12))
  })

  it('poissonLogPmf matches exact values', () => {
    // P[N = 700; λ = 1000] = e^-1000 1000^700 / 700!
    const exact = -1000 + logRatio(1000n ** 700n, bigFactorial(700))
    expect(relErr(poissonLogPmf(700, 1000), exact)).toBeLessThan(1e-14)
    expect(poissonLogPmf(0, 3)).toBe(-3)
  })
})

describe('gammaLogQ (real shape, vLLM dual-key)', () => {
  it('matches the gammaincc goldens in vllm.json (rel 1e-13 vs mpmath)', () => {
    const rows = vllmVectors.p_value_functions.gammaincc
    expect(rows.length).toBeGreaterThanOrEqual(3)
    for (const r of rows) {
      expect(relErr(gammaQ(r.a, r.x), r.mpmath_reference), `a=${r.a} x=${r.x}`).toBeLessThan(1e-13)
      expect(relErr(gammaQ(r.a, r.x), r.torch_gammaincc)).toBeLessThan(1e-12)
    }
  })

  it('matches the dual-key detection golden', () => {
    for (const v of vllmVectors.dual_key_detection) {
      const a = v.alpha
      const variance = (1 - a) ** 2 + a ** 2
      const e = v.expected
      const p = gammaQ(e.num_scored_tokens / variance, e.score / variance)
      expect(relErr(p, e.p_value), v.name).toBeLessThan(1e-12)
    }
  })

  it('satisfies Q(a+1, x) = Q(a, x) + x^a e^-x / Γ(a+1) across both expansions', () => {
    for (const a of [0.3, 0.5, 2.7, 10.5, 73.17073170731707, 78.04878048780488, 500.25]) {
      for (const x of [0.05, 0.9, 1.2, 3, 12, 50, 97.56, 243.9, 600]) {
        const lhs = gammaQ(a + 1, x)
        const rhs = gammaQ(a, x) + Math.exp(a * Math.log(x) - x - logGamma(a + 1))
        if (lhs < 1e-280) continue
        // The naive exp(a ln x − x − lnΓ) reference carries ~ulp of its exponent's terms.
        const tol = 1e-13 + 4e-16 * (x + Math.abs(logGamma(a + 1)))
        expect(relErr(lhs, rhs), `a=${a} x=${x}`).toBeLessThan(tol)
      }
    }
  })

  it('gives Q(1, x) = e^-x and Q(½, x) = erfc(√x) exactly in the tails', () => {
    for (const x of [0.01, 0.5, 1, 1.1, 2, 10, 100, 700, 5000]) {
      expect(relErr(gammaLogQ(1, x), -x), `x=${x}`).toBeLessThan(1e-14)
    }
    // erfc(t) ~ e^{-t²}/(t√π) (1 − 1/(2t²) + 3/(4t⁴) − 15/(8t⁶) + 105/(16t⁸)) for t = 30
    const t = 30
    const u = 1 / (2 * t * t)
    const series = 1 - u + 3 * u * u - 15 * u ** 3 + 105 * u ** 4 - 945 * u ** 5
    const want = -t * t - Math.log(t) - 0.5 * Math.log(Math.PI) + Math.log(series)
    expect(relErr(gammaLogQ(0.5, t * t), want)).toBeLessThan(1e-14)
  })

  it('P + Q = 1 and edges', () => {
    for (const [a, x] of [
      [0.5, 0.3],
      [3, 2],
      [3, 7],
      [50, 49],
      [50, 52],
    ]) {
      expect(Math.abs(Math.exp(gammaLogP(a, x)) + Math.exp(gammaLogQ(a, x)) - 1)).toBeLessThan(1e-14)
    }
    expect(gammaLogQ(3, 0)).toBe(0)
    expect(gammaLogQ(3, Infinity)).toBe(-Infinity)
    expect(() => gammaLogQ(0, 1)).toThrow(RangeError)
    expect(Number.isFinite(gammaLogQ(78, 5000))).toBe(true)
  })
})
