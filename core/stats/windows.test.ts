import { describe, expect, it } from 'vitest'
import { binomialLogSf } from './binomial.ts'
import { mulberry32 } from './exact.testutil.ts'
import { gammaLogSfInt } from './gamma.ts'
import { windowedBinomial, windowedScores, windowPlan } from './windows.ts'

const GAMMA = 0.25

function bernoulli(rng: () => number, n: number, q: number): number[] {
  return Array.from({ length: n }, () => (rng() < q ? 1 : 0))
}

// One-sided 99% upper margin for an empirical rate at nominal α over `trials` runs.
function upperBound(alpha: number, trials: number): number {
  return alpha + 2.326 * Math.sqrt((alpha * (1 - alpha)) / trials)
}

describe('windowPlan', () => {
  it('uses geometric sizes, quarter-size strides by default, and covers the tail', () => {
    expect(
      windowPlan(100, { minSize: 16 })
        .filter(([s, e]) => e - s === 16)
        .map(([s]) => s),
    ).toEqual([0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 64, 68, 72, 76, 80, 84])
    const plan = windowPlan(100, { minSize: 16, strideFraction: 0.5 })
    const sizes = [...new Set(plan.map(([s, e]) => e - s))]
    expect(sizes).toEqual([16, 32, 64, 100])
    for (const [s, e] of plan) {
      expect(s).toBeGreaterThanOrEqual(0)
      expect(e).toBeLessThanOrEqual(100)
    }
    const of16 = plan.filter(([s, e]) => e - s === 16).map(([s]) => s)
    expect(of16).toEqual([0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 84])
    expect(new Set(plan.map((w) => w.join())).size).toBe(plan.length)
    expect(windowPlan(10, { minSize: 16 })).toEqual([[0, 10]])
    expect(windowPlan(0)).toEqual([])
  })
})

describe('windowedBinomial', () => {
  it('finds a planted green-rich span with a tiny corrected p', () => {
    const rng = mulberry32(12345)
    const flags = bernoulli(rng, 1000, GAMMA)
    for (let i = 400; i < 528; i++) flags[i] = rng() < 0.9 ? 1 : 0
    const r = windowedBinomial(flags, GAMMA)
    expect(r.logP).toBeLessThan(Math.log(1e-20))
    expect(r.windowStart).toBeGreaterThanOrEqual(350)
    expect(r.windowEnd).toBeLessThanOrEqual(580)
    expect(r.logP).toBeCloseTo(r.rawLogP + Math.log(r.windowsTried), 10)
    // The whole-text test dilutes the span: windowing is the stronger test here.
    const greens = flags.reduce((a, b) => a + b, 0)
    expect(r.logP).toBeLessThan(binomialLogSf(greens, flags.length, GAMMA))
  })

  it('is not anti-conservative under H0 (2000 random texts, α = 0.01)', () => {
    const rng = mulberry32(2024)
    const trials = 2000
    let rejected = 0
    let rawRejected = 0
    for (let t = 0; t < trials; t++) {
      const r = windowedBinomial(bernoulli(rng, 300, GAMMA), GAMMA)
      expect(r.logP).toBeLessThanOrEqual(0)
      if (r.p < 0.01) rejected++
      if (r.rawLogP < Math.log(0.01)) rawRejected++
    }
    expect(rejected / trials).toBeLessThanOrEqual(upperBound(0.01, trials))
    // Without the correction the min over windows would be badly anti-conservative.
    expect(rawRejected / trials).toBeGreaterThan(0.05)
  })

  it('reduces to the plain binomial test for short texts and handles empty input', () => {
    const flags = [1, 1, 0, 1, 1, 1, 0, 1, 1, 1]
    const r = windowedBinomial(flags, GAMMA)
    expect(r.windowsTried).toBe(1)
    expect(r.logP).toBe(binomialLogSf(8, 10, GAMMA))
    expect([r.windowStart, r.windowEnd]).toEqual([0, 10])
    expect(windowedBinomial([], GAMMA)).toMatchObject({ logP: 0, p: 1, windowsTried: 0 })
  })
})

describe('windowedScores (Gumbel sums)', () => {
  const gumbelLogP = (sum: number, count: number) => gammaLogSfInt(sum, count)
  const h0Score = (rng: () => number) => -Math.log1p(-rng())

  it('finds a planted span of high scores', () => {
    const rng = mulberry32(7)
    const scores = Array.from({ length: 600 }, () => h0Score(rng))
    // Watermarked tokens: u = r^(1/4) pushes uniforms towards 1, scores up.
    for (let i = 100; i < 164; i++) scores[i] = -Math.log1p(-(rng() ** 0.25))
    const r = windowedScores(scores, gumbelLogP)
    expect(r.logP).toBeLessThan(Math.log(1e-9))
    expect(r.windowStart).toBeGreaterThanOrEqual(60)
    expect(r.windowEnd).toBeLessThanOrEqual(210)
  })

  it('is not anti-conservative under H0 (1000 random texts, α = 0.01)', () => {
    const rng = mulberry32(99)
    const trials = 1000
    let rejected = 0
    for (let t = 0; t < trials; t++) {
      const scores = Array.from({ length: 200 }, () => h0Score(rng))
      if (windowedScores(scores, gumbelLogP).p < 0.01) rejected++
    }
    expect(rejected / trials).toBeLessThanOrEqual(upperBound(0.01, trials))
  })
})
