import { describe, expect, it } from 'vitest'
import { histogram, negLog10P, pValueHistograms, sharedEdges } from './histogram.ts'

describe('histograms of −log10 p', () => {
  it('converts ln p to −log10 p, reading p > 1 from round-off as 1', () => {
    expect(negLog10P(Math.log(1e-5))).toBeCloseTo(5, 12)
    expect(negLog10P(1e-16)).toBe(0)
    expect(negLog10P(-1000)).toBeCloseTo(434.294, 3)
  })

  it('picks nice shared edges covering the largest value', () => {
    expect(sharedEdges([[0.3, 4.2], [13]], 10)).toEqual([0, 2, 4, 6, 8, 10, 12, 14])
    expect(sharedEdges([[0.25]], 30)).toEqual(Array.from({ length: 26 }, (_, i) => i / 100))
    expect(sharedEdges([[], [0]], 30)).toEqual([0, 1])
    expect(sharedEdges([[Infinity, 3]], 3)).toEqual([0, 1, 2, 3])
  })

  it('bins left-closed, the last bin closed and catching everything above', () => {
    expect(histogram([0, 1.5, 2, 9, Infinity, Number.NaN, -1], [0, 1, 2, 3]).counts).toEqual([2, 1, 3])
  })

  it('puts every variant on the same edges', () => {
    const [wm, nulls] = pValueHistograms(
      [
        [-30 * Math.LN10, -12 * Math.LN10],
        [-0.1, -1],
      ],
      10,
    )
    expect(wm.edges).toEqual(nulls.edges)
    expect(wm.counts.reduce((a, b) => a + b)).toBe(2)
    expect(nulls.counts[0]).toBe(2)
    expect(wm.edges[wm.edges.length - 1]).toBeGreaterThanOrEqual(30)
  })
})
