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
  sampleSoftmaxLazy,
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

describe('sampleSoftmaxLazy', () => {
  /** A draw-for-draw comparison: the lazy sampler against sampleSoftmax with every flag known. */
  function compare(logits: number[], truth: Uint8Array, maybe: number[], delta: number, r: number) {
    const c = {
      ids: Int32Array.from(logits, (_, j) => 1000 + j),
      logits: Float32Array.from(logits),
      count: logits.length,
    }
    const eager = sampleSoftmax(c, () => r, truth, delta)
    const flags = new Uint8Array(logits.length)
    let resolved = 0
    const lazy = sampleSoftmaxLazy(
      c,
      () => r,
      maybe,
      (js) => {
        for (const j of js) flags[j] = truth[j]
        resolved += js.length
      },
      flags,
      delta,
    )
    return { eager, lazy, resolved }
  }

  it('picks exactly what sampleSoftmax picks with every flag known, resolving few flags on top-k-like logits', () => {
    const rng = seededRng(31)
    let resolved = 0
    let possible = 0
    for (let c = 0; c < 3000; c++) {
      const n = 1 + Math.floor(rng() * (c % 10 === 0 ? 300 : 60))
      const logits = Array.from({ length: n }, () =>
        c % 7 === 0 ? Math.floor(rng() * 3) : 8 - 1.5 * Math.log(1 + rng() * n) + (rng() - 0.5),
      )
      const maybe = Array.from({ length: n }, (_, j) => j)
        .sort((a, b) => logits[b] - logits[a])
        .slice(0, Math.min(n, 41))
      // Only candidates in `maybe` can be green (as in self-hash generation).
      const truth = new Uint8Array(n)
      for (const j of maybe) truth[j] = rng() < 0.25 ? 1 : 0
      const delta = [0, 0.5, 2, 2, 5][c % 5]
      const r = c % 97 === 0 ? 0 : c % 89 === 0 ? 1 - 2 ** -53 : rng()
      const { eager, lazy, resolved: k } = compare(logits, truth, maybe, delta, r)
      expect(lazy, `case ${c}`).toBe(eager)
      resolved += k
      possible += maybe.length
    }
    // Laziness pays: well under half of the membership tests an eager sampler runs.
    expect(resolved / possible).toBeLessThan(0.5)
  })

  it('agrees when the draw sits exactly on a boundary between two candidates', () => {
    const rng = seededRng(32)
    for (let c = 0; c < 400; c++) {
      const n = 2 + Math.floor(rng() * 30)
      const logits = Array.from({ length: n }, () => rng() * 4)
      const maybe = Array.from({ length: n }, (_, j) => j)
      const truth = Uint8Array.from(logits, () => (rng() < 0.5 ? 1 : 0))
      // r = the eager sampler's own cumulative probability up to a random index (as it sums it).
      const w = logits.map((l, j) => Math.exp((truth[j] ? Math.fround(l + 2) : l) - 10))
      const sum = w.reduce((a, b) => a + b, 0)
      const upTo = Math.floor(rng() * n)
      let acc = 0
      for (let j = 0; j <= upTo; j++) acc += w[j] / sum
      for (const r of [acc, Math.max(0, acc - 1e-15), Math.min(1 - 2 ** -53, acc + 1e-15)]) {
        const { eager, lazy } = compare(logits, truth, maybe, 2, r)
        expect(lazy, `case ${c} r ${r}`).toBe(eager)
      }
    }
  })
})
