import { describe, expect, it } from 'vitest'
import { seededRng } from '../rng.ts'
import {
  bootstrapCi,
  deriveSeed,
  mean,
  meanDifference,
  pairedBootstrapCi,
  percentileInterval,
  stratifiedBootstrapCi,
} from './bootstrap.ts'
import { auc } from './roc.ts'

const opts = { resamples: 1000, seed: 17, confidence: 0.95 }
const normals = (n: number, seed: number) => {
  const rng = seededRng(seed)
  // Box–Muller: N(10, 2²)
  return Array.from(
    { length: n },
    () => 10 + 2 * Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng()),
  )
}

describe('percentileInterval', () => {
  it('interpolates the type-7 quantiles and ignores NaN', () => {
    // 0..100: the 2.5 % and 97.5 % quantiles are 2.5 and 97.5 exactly
    const reps = Array.from({ length: 101 }, (_, i) => 100 - i)
    const ci = percentileInterval(reps, 0.95)!
    expect(ci.low).toBeCloseTo(2.5, 12) // (1 − 0.95)/2 = 0.025000000000000022 in binary
    expect(ci.high).toBeCloseTo(97.5, 12)
    expect(percentileInterval([Number.NaN, 1, 3], 0.5)).toEqual({ low: 1.5, high: 2.5 })
    expect(percentileInterval([Number.NaN], 0.95)).toBeNull()
  })
})

describe('bootstrapCi', () => {
  it('is deterministic for a seed and changes with it', () => {
    const x = normals(200, 1)
    const a = bootstrapCi(x, mean, opts)
    expect(bootstrapCi(x, mean, opts)).toEqual(a)
    expect(bootstrapCi(x, mean, { ...opts, seed: 18 })).not.toEqual(a)
  })

  it('contains the point estimate and narrows as n grows (width ∝ 1/√n)', () => {
    const small = normals(100, 2)
    const large = normals(1600, 3)
    const ciSmall = bootstrapCi(small, mean, opts)!
    const ciLarge = bootstrapCi(large, mean, opts)!
    for (const [x, ci] of [
      [small, ciSmall],
      [large, ciLarge],
    ] as const) {
      expect(ci.low).toBeLessThan(mean(x))
      expect(ci.high).toBeGreaterThan(mean(x))
    }
    // Expected widths 2·1.96·2/√n: 0.78 and 0.196; 16× the data → about ¼ the width.
    const ratio = (ciLarge.high - ciLarge.low) / (ciSmall.high - ciSmall.low)
    expect(ratio).toBeGreaterThan(0.18)
    expect(ratio).toBeLessThan(0.33)
    expect(ciSmall.high - ciSmall.low).toBeGreaterThan(0.6)
    expect(ciSmall.high - ciSmall.low).toBeLessThan(1)
  })

  it('returns null below two values and validates its options', () => {
    expect(bootstrapCi([4], mean, opts)).toBeNull()
    expect(() => bootstrapCi([1, 2], mean, { ...opts, resamples: 0 })).toThrow(/resamples/)
    expect(() => bootstrapCi([1, 2], mean, { ...opts, confidence: 1 })).toThrow(/confidence/)
  })
})

describe('pairedBootstrapCi', () => {
  it('gives a zero-width interval for a constant difference', () => {
    const b = [12, 30.5, 7, 101.25, 55, 9.5]
    const a = b.map((x) => x + 2.5)
    expect(meanDifference(a, b)).toBe(2.5)
    expect(pairedBootstrapCi(a, b, meanDifference, opts)).toEqual({ low: 2.5, high: 2.5 })
  })

  it('is narrower than treating the samples as independent when pairs correlate', () => {
    const b = normals(300, 4)
    const noise = normals(300, 5)
    const a = b.map((x, i) => x + 1 + 0.05 * (noise[i] - 10))
    const paired = pairedBootstrapCi(a, b, meanDifference, opts)!
    const unpaired = stratifiedBootstrapCi(a, b, (x, y) => mean(x) - mean(y), opts)!
    expect(paired.high - paired.low).toBeLessThan((unpaired.high - unpaired.low) / 10)
    expect(paired.low).toBeLessThan(1.01)
    expect(paired.high).toBeGreaterThan(0.99)
  })

  it('rejects samples of different length', () => {
    expect(() => pairedBootstrapCi([1, 2], [1], meanDifference, opts)).toThrow(/differ in length/)
  })
})

describe('stratifiedBootstrapCi', () => {
  it('keeps a perfectly separated AUC at 1 and brackets a noisy one', () => {
    expect(stratifiedBootstrapCi([5, 6, 7], [1, 2], auc, opts)).toEqual({ low: 1, high: 1 })
    const pos = normals(200, 6).map((x) => x + 1)
    const neg = normals(200, 7)
    const ci = stratifiedBootstrapCi(pos, neg, auc, opts)!
    expect(ci.low).toBeLessThan(auc(pos, neg))
    expect(ci.high).toBeGreaterThan(auc(pos, neg))
    expect(stratifiedBootstrapCi([1], [1, 2], auc, opts)).toBeNull()
  })
})

describe('deriveSeed', () => {
  it('gives distinct, reproducible 32-bit seeds per label and experiment seed', () => {
    expect(deriveSeed(1, 'auc/0/none/human')).toBe(deriveSeed(1, 'auc/0/none/human'))
    const seeds = new Set(
      ['a', 'b', 'auc/0', 'auc/1'].flatMap((l) => [0, 1, 2 ** 31 - 1].map((s) => deriveSeed(s, l))),
    )
    expect(seeds.size).toBe(12)
    for (const s of seeds) expect(s >>> 0).toBe(s)
  })
})
