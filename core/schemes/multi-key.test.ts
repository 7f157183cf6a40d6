import { describe, expect, it } from 'vitest'
import { seededRng } from '../rng.ts'
import { detectWithKeys } from './multi-key.ts'
import { createScheme } from './registry.ts'
import { generate } from '../../test/simulated-lm.ts'

const V = 1000
const keys = Array.from({ length: 8 }, (_, i) => ({
  keyId: `k${i}`,
  scheme: createScheme('vllm-gumbel', { key: 1000n + BigInt(i), vocabSize: V }),
}))

describe('multi-key detection', () => {
  it('finds the key that watermarked the text and adjusts its p-value for the keys tried', () => {
    const tokens = generate(keys[5].scheme, V, 1, 120)
    const r = detectWithKeys(keys, tokens)
    expect(r.keysTried).toBe(8)
    expect(r.best.keyId).toBe('k5')
    expect(r.best.watermarked).toBe(true)
    expect(r.best.logPValue).toBeCloseTo(Math.min(0, r.results[5].rawLogPValue + Math.log(8)), 9)
  })
  it('keeps the family-wise false-positive rate at α over many unwatermarked texts', () => {
    const rng = seededRng(3)
    let flagged = 0
    const trials = 1500
    for (let t = 0; t < trials; t++) {
      const tokens = Array.from({ length: 100 }, () => Math.floor(rng() * V))
      if (detectWithKeys(keys, tokens, { pValueThreshold: 0.01 }).best.watermarked) flagged++
    }
    // Uncorrected, 8 keys would flag ≈ 1 − 0.99^8 ≈ 7.7 %; Holm keeps it ≤ 1 % (99 % upper bound 25/1500).
    expect(flagged).toBeLessThanOrEqual(25)
  })
  it('rejects an empty key set', () => {
    expect(() => detectWithKeys([], [1, 2, 3])).toThrow(RangeError)
  })
})
