import { describe, expect, it } from 'vitest'
import { GreenlistCache, isGreenIn } from './greenlist-cache.ts'

const bitmap = (words: number, fill = 0) => new Uint32Array(words).fill(fill)

describe('GreenlistCache', () => {
  it('admits a seed once it has been asked for admitAfter walks in all', () => {
    const c = new GreenlistCache(undefined, 8)
    expect(c.recurring(100, 25, 7, 4)).toBe(false) // a generation step: a tracking pass ≈ 4 walks
    expect(c.recurring(100, 25, 7, 4)).toBe(true)
    for (let i = 0; i < 7; i++) expect(c.recurring(100, 25, 9)).toBe(false) // detection: one token
    expect(c.recurring(100, 25, 9)).toBe(true)
  })

  it('admits a seed on its admitAfter-th request', () => {
    expect(new GreenlistCache().admitAfter).toBe(8)
    const c = new GreenlistCache(undefined, 2)
    expect(c.recurring(100, 25, 7)).toBe(false)
    expect(c.recurring(100, 25, 8)).toBe(false)
    expect(c.recurring(100, 25, 7)).toBe(true)
    // another (vocab, greenCount) is another greenlist
    expect(c.recurring(100, 50, 8)).toBe(false)
    expect(c.recurring(100, 25, 8)).toBe(true)
  })

  it('evicts the least recently used bitmaps to stay within its byte bound', () => {
    const c = new GreenlistCache(3 * 40) // three bitmaps of 10 words
    for (const seed of [1, 2, 3]) c.set(300, 75, seed, bitmap(10, seed))
    expect(c.get(300, 75, 1)?.[0]).toBe(1) // 1 is now the most recent
    c.set(300, 75, 4, bitmap(10, 4))
    expect(c.size).toBe(3)
    expect(c.get(300, 75, 2)).toBeUndefined() // the oldest went
    expect(c.get(300, 75, 1)?.[0]).toBe(1)
    expect(c.get(300, 75, 3)?.[0]).toBe(3)
    expect(c.get(300, 75, 4)?.[0]).toBe(4)
    expect(c.hits).toBe(4)
    expect(c.misses).toBe(1)
    // replacing an entry does not count its bytes twice
    c.set(300, 75, 4, bitmap(10, 5))
    expect(c.size).toBe(3)
    expect(c.get(300, 75, 4)?.[0]).toBe(5)
  })

  it('never holds a bitmap larger than its bound, and forgets first requests when full', () => {
    const c = new GreenlistCache(16, 2, 2)
    c.set(1000, 250, 1, bitmap(32))
    expect(c.size).toBe(0)
    c.recurring(10, 2, 1)
    c.recurring(10, 2, 2)
    c.recurring(10, 2, 3) // full: the set was cleared before 3 went in
    expect(c.recurring(10, 2, 1)).toBe(false)
    expect(c.recurring(10, 2, 3)).toBe(true)
  })

  it('reads bit p of word p >> 5', () => {
    const b = bitmap(2)
    b[1] = 1 << 3
    expect(isGreenIn(b, 35)).toBe(1)
    expect(isGreenIn(b, 34)).toBe(0)
    expect(isGreenIn(b, 3)).toBe(0)
  })
})
