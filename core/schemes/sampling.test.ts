import { describe, expect, it } from 'vitest'
import { seededRng } from '../rng.ts'
import { argmax, sampleCategorical, softmax, topIds } from './sampling.ts'

describe('sampling helpers', () => {
  it('topIds equals a full stable sort', () => {
    const rng = seededRng(9)
    for (let t = 0; t < 50; t++) {
      const logits = Array.from({ length: 300 }, () => Math.floor(rng() * 20)) // many ties
      const k = 1 + Math.floor(rng() * 60)
      const sorted = logits.map((_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b)
      expect(topIds(logits, k)).toEqual(sorted.slice(0, k))
    }
  })
  it('softmax ignores −Infinity and sums to 1', () => {
    const p = softmax([0, -Infinity, 1])
    expect(p[1]).toBe(0)
    expect(p[0] + p[2]).toBeCloseTo(1, 15)
    expect(() => softmax([-Infinity, -Infinity])).toThrow(RangeError)
  })
  it('sampleCategorical follows the probabilities and argmax breaks ties low', () => {
    const rng = seededRng(1)
    const counts = [0, 0, 0]
    for (let i = 0; i < 30000; i++) counts[sampleCategorical([0.2, 0, 0.8], rng)]++
    expect(counts[1]).toBe(0)
    expect(counts[0] / 30000).toBeGreaterThan(0.19)
    expect(counts[0] / 30000).toBeLessThan(0.21)
    expect(argmax([1, 3, 3])).toBe(1)
  })
})
