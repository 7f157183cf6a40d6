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
  sampleGumbelLazy,
  topIds,
} from './sampling.ts'

describe('sampling helpers', () => {
  it('topIds equals a full stable sort', () => {
    const rng = seededRng(9)
    for (let t = 0; t < 100; t++) {
      // long lists (insertion into the top k) and short ones (a top-k window: sorted whole)
      const n = t % 2 === 0 ? 300 : 1 + Math.floor(rng() * 80)
      const logits = Array.from({ length: n }, () => Math.floor(rng() * 20)) // many ties
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

describe('sampleGumbelLazy', () => {
  const candidates = (logits: number[]) => ({
    ids: Int32Array.from(logits, (_, j) => 1000 + j),
    logits: Float32Array.from(logits),
    count: logits.length,
  })

  /** The draw with every flag known, from the same uniforms: the argmax of all keys (the spec). */
  function eagerGumbel(
    logits: number[],
    truth: Uint8Array,
    maybe: number[],
    delta: number,
    rng: () => number,
  ) {
    const key = (u: number) => -Math.log(-Math.log(u + 2 ** -54))
    const biased = (j: number) =>
      truth[j] ? Math.fround(Math.fround(logits[j]) + delta) : Math.fround(logits[j])
    const keys = maybe.map((j) => biased(j) + key(rng()))
    const rest = logits.map((_, j) => j).filter((j) => !maybe.includes(j))
    const restMax = Math.max(...rest.map(biased))
    const restSum = rest.reduce((acc, j) => acc + Math.exp(biased(j) - restMax), 0)
    keys.push(rest.length > 0 ? restMax + Math.log(restSum) + key(rng()) : (rng(), -Infinity))
    const best = keys.indexOf(Math.max(...keys))
    if (best < maybe.length) return 1000 + maybe[best]
    const target = rng() * restSum
    let acc = 0
    for (const j of rest) {
      acc += Math.exp(biased(j) - restMax)
      if (target < acc) return 1000 + j
    }
    return 1000 + rest[rest.length - 1]
  }

  /** `take(n)`: how many of the n contenders each resolve call settles (the leader at least). */
  function lazyGumbel(
    logits: number[],
    truth: Uint8Array,
    maybe: number[],
    delta: number,
    rng: () => number,
    take: (n: number) => number = () => 1,
  ) {
    // Flags outside `maybe` are known up front; the others only through resolve.
    const flags = Uint8Array.from(truth)
    for (const j of maybe) flags[j] = 0
    let resolved = 0
    const token = sampleGumbelLazy(
      candidates(logits),
      rng,
      maybe,
      (contenders) => {
        const k = take(contenders.length)
        for (const at of contenders.slice(0, k)) flags[maybe[at]] = truth[maybe[at]]
        resolved += k
        return k
      },
      flags,
      delta,
    )
    return { token, resolved }
  }

  it('picks the argmax of the keys with every flag known, resolving few flags', () => {
    const rng = seededRng(31)
    let resolved = 0
    let steps = 0
    for (let c = 0; c < 3000; c++) {
      const n = 1 + Math.floor(rng() * (c % 10 === 0 ? 300 : 60))
      // top-k-like logits; every 7th case quantised so keys and logits tie
      const logits = Array.from({ length: n }, () =>
        c % 7 === 0 ? Math.floor(rng() * 3) : 8 - 1.5 * Math.log(1 + rng() * n) + (rng() - 0.5),
      )
      const maybe = topIds(logits, c % 13 === 0 ? n : Math.min(n, c % 11 === 0 ? 0 : 41))
      // Self-hash: only `maybe` can be green; one-seed (every 3rd case): the rest's flags are known.
      const truth = new Uint8Array(n)
      for (let j = 0; j < n; j++) if (c % 3 === 0 || maybe.includes(j)) truth[j] = rng() < 0.25 ? 1 : 0
      const delta = [0, 0.5, 2, 2, 5][c % 5]
      const seed = 1000 + c
      // Contenders settled per call: the leader, all of them, or a random prefix.
      const take = [() => 1, (k: number) => k, (k: number) => 1 + Math.floor(rng() * k)][
        c % 4 === 0 ? 1 : c % 4 === 1 ? 2 : 0
      ]
      const lazy = lazyGumbel(logits, truth, maybe, delta, seededRng(seed), take)
      expect(lazy.token, `case ${c}`).toBe(eagerGumbel(logits, truth, maybe, delta, seededRng(seed)))
      if (c % 4 > 1 && maybe.length === Math.min(n, 41) && n >= 20 && delta === 2) {
        resolved += lazy.resolved
        steps++
      }
    }
    // An inverse-CDF draw needed most of the 41 flags here; Gumbel-max needs a few.
    expect(resolved / steps).toBeLessThan(4)
  })

  it('samples softmax(l + δ·green) exactly: chi-square over 40,000 draws', () => {
    const cases: [number[], number[]][] = [
      // green flags among the top five; the rest carries little mass
      [
        [3, 2.5, 2.2, 1, 0.5, -1, -2, -3],
        [1, 0, 1, 0, 1, 0, 0, 0],
      ],
      // the rest carries most of the mass (flat tail of 20)
      [
        [1, 0.8, ...Array(20).fill(0.5)],
        [0, 1, ...Array(20).fill(0)],
      ],
    ]
    for (const [logits, flags] of cases) {
      const truth = Uint8Array.from(flags)
      const maybe = topIds(logits, flags.length === 8 ? 5 : 2)
      const biased = logits.map((l, j) => (truth[j] ? Math.fround(l + 2) : l))
      const expected = softmax(biased)
      const counts = new Array(logits.length).fill(0)
      const rng = seededRng(77)
      const draws = 40_000
      for (let i = 0; i < draws; i++) counts[lazyGumbel(logits, truth, maybe, 2, rng).token - 1000]++
      let chi2 = 0
      for (let j = 0; j < logits.length; j++)
        chi2 += (counts[j] - draws * expected[j]) ** 2 / (draws * expected[j])
      // 99.9 % quantile of chi-square with 7 and 21 degrees of freedom: 24.3 and 46.8
      expect(chi2).toBeLessThan(logits.length === 8 ? 24.3 : 46.8)
    }
  })
})
