import { describe, expect, it } from 'vitest'
import { bigFactorial, logRatio, relErr } from './exact.testutil.ts'
import {
  bd0,
  log1mExp,
  logAddExp,
  logChoose,
  logFactorial,
  logGamma,
  logSumExp,
  stirlerr,
} from './log-math.ts'

describe('logGamma / logFactorial', () => {
  it('matches exact factorials (BigInt) to 1e-14 relative', () => {
    let worst = 0
    for (let n = 2; n <= 1200; n += n < 40 ? 1 : 37) {
      const exact = logRatio(bigFactorial(n), 1n)
      worst = Math.max(worst, relErr(logFactorial(n), exact), relErr(logGamma(n + 1), exact))
    }
    expect(worst).toBeLessThan(1e-14)
  })

  it('matches half-integer values Γ(n+½) = (2n)!√π / (4^n n!)', () => {
    const lnSqrtPi = 0.5723649429247001
    expect(relErr(logGamma(0.5), lnSqrtPi)).toBeLessThan(1e-15)
    for (const n of [1, 3, 7, 14, 15, 16, 40, 200]) {
      const exact = logRatio(bigFactorial(2 * n), 4n ** BigInt(n) * bigFactorial(n)) + lnSqrtPi
      expect(relErr(logGamma(n + 0.5), exact)).toBeLessThan(1e-14)
    }
  })

  it('is accurate near its zeros and near 0', () => {
    expect(Math.abs(logGamma(1))).toBeLessThan(1e-15)
    expect(Math.abs(logGamma(2))).toBeLessThan(1e-15)
    // lnΓ(ε) = −ln ε − γε + O(ε²)
    const eps = 1e-8
    expect(relErr(logGamma(eps), -Math.log(eps) - 0.5772156649015329 * eps)).toBeLessThan(1e-15)
    expect(logGamma(0)).toBeNaN()
    expect(logFactorial(-1)).toBeNaN()
    expect(logFactorial(2.5)).toBeNaN()
  })

  it('logChoose is exact for moderate n and -Infinity outside', () => {
    expect(
      relErr(logChoose(100, 37), logRatio(bigFactorial(100), bigFactorial(37) * bigFactorial(63))),
    ).toBeLessThan(1e-14)
    expect(logChoose(5, 6)).toBe(-Infinity)
    expect(logChoose(5, 0)).toBe(0)
  })

  it('stirlerr agrees across the x = 15 switch and bd0 has no cancellation', () => {
    for (const x of [14.5, 15, 15.5, 16, 35, 36, 80, 81, 500, 501]) {
      const direct = logGamma(x + 1) - (x + 0.5) * Math.log(x) + x - 0.9189385332046728
      // The direct form itself carries ~ulp((x+½)ln x) of rounding, hence the scaled bound.
      expect(Math.abs(stirlerr(x) - direct)).toBeLessThan(1e-15 + 4e-16 * (x + 0.5) * Math.log(x))
    }
    // bd0(x, m) ≈ (x−m)²/(2m) for x ≈ m; naive x·ln(x/m)+m−x would be all rounding noise here.
    const m = 1e9
    const x = m + 1
    expect(relErr(bd0(x, m), 1 / (2 * m) - 1 / (6 * m * m))).toBeLessThan(1e-12)
    expect(bd0(0, 3)).toBe(3)
  })
})

describe('log-sum-exp helpers', () => {
  it('logSumExp / logAddExp survive huge magnitudes', () => {
    expect(logSumExp([-2000, -2000])).toBeCloseTo(-2000 + Math.LN2, 12)
    expect(logSumExp([1000, 1000, 1000])).toBeCloseTo(1000 + Math.log(3), 12)
    expect(logSumExp([])).toBe(-Infinity)
    expect(logSumExp([-Infinity, -Infinity])).toBe(-Infinity)
    expect(logAddExp(-Infinity, -5)).toBe(-5)
    expect(logAddExp(-800, -800)).toBeCloseTo(-800 + Math.LN2, 12)
  })

  it('log1mExp is accurate at both ends', () => {
    expect(relErr(log1mExp(-1e-20), Math.log(1e-20))).toBeLessThan(1e-15)
    expect(relErr(log1mExp(-50), -Math.exp(-50))).toBeLessThan(1e-15)
    expect(log1mExp(0)).toBe(-Infinity)
    expect(log1mExp(-Infinity) === 0).toBe(true)
    expect(log1mExp(1)).toBeNaN()
  })
})
