import { describe, expect, it } from 'vitest'
import { seededRng } from '../rng.ts'
import { auc, downsampleRoc, rocCurve } from './roc.ts'

/** Area under ROC points by the trapezoid rule. */
function area(points: { fpr: number; tpr: number }[]): number {
  let a = 0
  for (let i = 1; i < points.length; i++) {
    a += ((points[i].fpr - points[i - 1].fpr) * (points[i].tpr + points[i - 1].tpr)) / 2
  }
  return a
}

/** O(n²) definition of the AUC, ties ½. */
function bruteAuc(pos: number[], neg: number[]): number {
  let u = 0
  for (const s of pos) for (const t of neg) u += s > t ? 1 : s === t ? 0.5 : 0
  return u / (pos.length * neg.length)
}

describe('auc', () => {
  it('counts ties ½ (hand-computed example)', () => {
    // pos {3, 2, 2}, neg {2, 1}: pairs (3,2)=1 (3,1)=1 (2,2)=½ (2,1)=1 (2,2)=½ (2,1)=1 → U = 5 of 6.
    expect(auc([3, 2, 2], [2, 1])).toBe(5 / 6)
    expect(auc([3, 2], [2, 1])).toBe(0.875)
  })

  it('is 1 for perfect separation, 0 reversed, ½ when everything ties', () => {
    expect(auc([10, 20, 30], [1, 2])).toBe(1)
    expect(auc([1, 2], [10, 20, 30])).toBe(0)
    expect(auc([4, 4], [4, 4, 4])).toBe(0.5)
  })

  it('matches the O(n²) definition on random data with many ties', () => {
    const rng = seededRng(11)
    for (let trial = 0; trial < 20; trial++) {
      const pos = Array.from({ length: 1 + Math.floor(rng() * 60) }, () => Math.floor(rng() * 12))
      const neg = Array.from({ length: 1 + Math.floor(rng() * 60) }, () => Math.floor(rng() * 9))
      expect(auc(pos, neg)).toBeCloseTo(bruteAuc(pos, neg), 14)
    }
  })

  it('handles infinite scores and rejects empty samples and NaN', () => {
    // (∞,∞)=½ (∞,1)=1 (5,∞)=0 (5,1)=1 → 2.5 of 4
    expect(auc([Infinity, 5], [Infinity, 1])).toBe(0.625)
    expect(() => auc([], [1])).toThrow(/both samples non-empty/)
    expect(() => auc([Number.NaN], [1])).toThrow(/NaN/)
  })
})

describe('rocCurve', () => {
  it('runs from (0,0) to (1,1) through one point per distinct score, ties diagonal', () => {
    // thresholds 3: tp ⅓ fp 0; 2: tp 1, fp ½ (the tie moves both); 1: (1, 1)
    expect(rocCurve([3, 2, 2], [2, 1])).toEqual([
      { fpr: 0, tpr: 0 },
      { fpr: 0, tpr: 1 / 3 },
      { fpr: 0.5, tpr: 1 },
      { fpr: 1, tpr: 1 },
    ])
  })

  it('is monotone and its area equals the AUC', () => {
    const rng = seededRng(5)
    const pos = Array.from({ length: 300 }, () => Math.round(rng() * 40 + 10) / 2)
    const neg = Array.from({ length: 200 }, () => Math.round(rng() * 40) / 2)
    const points = rocCurve(pos, neg)
    expect(points[0]).toEqual({ fpr: 0, tpr: 0 })
    expect(points[points.length - 1]).toEqual({ fpr: 1, tpr: 1 })
    for (let i = 1; i < points.length; i++) {
      expect(points[i].fpr).toBeGreaterThanOrEqual(points[i - 1].fpr)
      expect(points[i].tpr).toBeGreaterThanOrEqual(points[i - 1].tpr)
    }
    expect(area(points)).toBeCloseTo(auc(pos, neg), 12)
  })

  it('returns the chance diagonal when a class is empty', () => {
    expect(rocCurve([], [1, 2])).toEqual([
      { fpr: 0, tpr: 0 },
      { fpr: 1, tpr: 1 },
    ])
  })
})

describe('downsampleRoc', () => {
  it('keeps endpoints, respects the budget and the shape', () => {
    const rng = seededRng(2)
    const pos = Array.from({ length: 3000 }, () => rng() * 3 + 0.5)
    const neg = Array.from({ length: 3000 }, () => rng() * 3)
    const full = rocCurve(pos, neg)
    const thin = downsampleRoc(full, 200)
    expect(full.length).toBeGreaterThan(5000)
    expect(thin.length).toBeLessThanOrEqual(200)
    expect(thin[0]).toEqual(full[0])
    expect(thin[thin.length - 1]).toEqual(full[full.length - 1])
    expect(Math.abs(area(thin) - area(full))).toBeLessThan(2e-3)
    for (let i = 1; i < thin.length; i++) expect(thin[i].fpr).toBeGreaterThanOrEqual(thin[i - 1].fpr)
  })

  it('drops only collinear points of a staircase', () => {
    // a perfect-separation curve: straight up, then straight right, with many collinear points
    const full = rocCurve(
      Array.from({ length: 500 }, (_, i) => 1000 + i),
      Array.from({ length: 500 }, (_, i) => i),
    )
    expect(downsampleRoc(full, 200)).toEqual([
      { fpr: 0, tpr: 0 },
      { fpr: 0, tpr: 1 },
      { fpr: 1, tpr: 1 },
    ])
  })

  it('returns short curves unchanged and rejects a budget below 2', () => {
    const c = rocCurve([2], [1])
    expect(downsampleRoc(c, 200)).toEqual(c)
    expect(() => downsampleRoc(c, 1)).toThrow(/maxPoints/)
  })
})
