import { describe, expect, it } from 'vitest'
import { seededRng } from '../rng.ts'
import {
  CandidateList,
  argmax,
  logitWindow,
  negligibleBelow,
  sampleCategorical,
  sampleSoftmax,
  softmax,
  topIds,
} from './sampling.ts'

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
  it('sampleSoftmax over the finite entries draws what softmax + sampleCategorical draw on the full vector', () => {
    const r = seededRng(4)
    for (let t = 0; t < 200; t++) {
      const logits = Float32Array.from({ length: 500 }, () => (r() < 0.6 ? -Infinity : 10 * r() - 5))
      const green = Uint8Array.from({ length: 500 }, () => (r() < 0.3 ? 1 : 0))
      const biased = logits.map((x, v) => (green[v] ? x + 2 : x))
      const c = new CandidateList().fromLogits(logits)
      const flags = Uint8Array.from(c.ids.subarray(0, c.count), (v) => green[v])
      const u = r()
      expect(sampleSoftmax(c, () => u, flags, 2)).toBe(sampleCategorical(softmax(biased), () => u))
    }
  })
  it('logitWindow drops only ids whose total probability is below 2^-53 even after the boost', () => {
    const logits = Float32Array.from({ length: 1000 }, (_, i) => (i < 10 ? i : -60 - i))
    const c = new CandidateList().fromLogits(logits)
    const reach = negligibleBelow(c.count, 2)
    const w = logitWindow(c, reach)
    expect(Array.from(w.ids.subarray(0, w.count))).toEqual(
      Array.from({ length: 1000 }, (_, i) => i).filter((i) => logits[i] >= 9 - reach),
    )
    let dropped = 0
    for (let i = 0; i < 1000; i++) if (logits[i] < 9 - reach) dropped += Math.exp(logits[i] + 2 - 9)
    expect(dropped).toBeLessThan(2 ** -53)
    expect(w.count).toBeLessThan(1000)
  })
})
