import { describe, expect, it } from 'vitest'
import { seededRng } from '../rng.ts'
import { countDistinct, TextPairTable } from './ngram-tables.ts'

describe('countDistinct', () => {
  it('matches a Set over keys with many repeats, across partition sizes', () => {
    const rng = seededRng(12)
    for (const n of [0, 1, 7, 5_000, 60_000]) {
      const hi = new Int32Array(n)
      const lo = new Float64Array(n)
      const seen = new Set<string>()
      for (let i = 0; i < n; i++) {
        hi[i] = Math.floor(rng() * 300)
        // lo up to 2^52: exercises both 32-bit halves of the hash
        lo[i] = Math.floor(rng() * 50) * 2 ** 26 + Math.floor(rng() * 40) + (i % 3 === 0 ? 2 ** 51 : 0)
        seen.add(`${hi[i]}:${lo[i]}`)
      }
      expect(countDistinct(hi, lo, n)).toBe(seen.size)
    }
  })

  it('counts only the first n entries', () => {
    expect(countDistinct(Int32Array.of(1, 1, 2), Float64Array.of(5, 5, 5), 2)).toBe(1)
  })
})

describe('TextPairTable', () => {
  it('numbers pairs 0, 1, … per text and flags first visits', () => {
    const t = new TextPairTable()
    t.begin(4)
    expect([t.visit(1, 2), t.visit(3, 4), t.visit(1, 2), t.visit(2, 1)]).toEqual([1, 3, 0, 5])
    t.begin(2) // a new text forgets the old pairs without clearing
    expect([t.visit(3, 4), t.visit(3, 4)]).toEqual([1, 0])
    t.begin(5_000) // growth
    for (let i = 0; i < 5_000; i++) expect(t.visit(i, i)).toBe(2 * i + 1)
    expect(t.visit(4_999, 4_999)).toBe(2 * 4_999)
  })
})
