import { describe, expect, it } from 'vitest'
import { synthidContextHash, synthidGValuesForCandidates, synthidGValuesForSequence } from '../prf/synthid.ts'
import {
  ContextRepetitionTracker,
  contextRepetitionMask,
  defaultSynthidWeights,
  eosNgramMask,
  expectedMeanGValue,
  meanScore,
  meanScoreBinomialCounts,
  tournamentUpdate,
  weightedMeanScore,
  weightedMeanScoreNull,
} from './synthid-core.ts'

const KEYS = [
  654, 400, 836, 123, 340, 443, 597, 160, 57, 29, 590, 639, 13, 715, 468, 990, 966, 226, 324, 585, 118, 504,
  421, 521, 129, 669, 732, 225, 90, 960,
]

function rng(seed: number) {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s / 0x100000000
  }
}

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0)

// E over all 2^(V·depth) g-tables, exactly, of f(tournamentUpdate(...)).
function overAllTables(
  probs: Float64Array,
  depth: number,
  leaves: number,
  f: (p: Float64Array, g: Uint8Array) => void,
) {
  const bits = probs.length * depth
  for (let mask = 0; mask < 1 << bits; mask++) {
    const g = new Uint8Array(bits)
    for (let i = 0; i < bits; i++) g[i] = (mask >> i) & 1
    f(tournamentUpdate(probs, g, depth, leaves), g)
  }
  return 1 << bits
}

describe('tournamentUpdate', () => {
  it('2 leaves is non-distortionary: exact average over all g-tables equals p', () => {
    const p = Float64Array.from([0.5, 0.3, 0.2])
    const acc = new Float64Array(3)
    const n = overAllTables(p, 3, 2, (q) => {
      for (let i = 0; i < 3; i++) acc[i] += q[i]
    })
    for (let i = 0; i < 3; i++) expect(acc[i] / n).toBeCloseTo(p[i], 12)
  })

  it('2 leaves is non-distortionary: Monte Carlo, V = 50, depth = 30', () => {
    const r = rng(3)
    const V = 50
    const depth = 30
    const raw = Float64Array.from({ length: V }, (_, i) => Math.exp(-i / 8))
    const p = raw.map((x) => x / sum(raw))
    const acc = new Float64Array(V)
    const T = 20000
    const g = new Uint8Array(V * depth)
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < g.length; i++) g[i] = r() < 0.5 ? 1 : 0
      const q = tournamentUpdate(p, g, depth, 2)
      for (let i = 0; i < V; i++) acc[i] += q[i]
    }
    for (let i = 0; i < V; i++) expect(Math.abs(acc[i] / T - p[i])).toBeLessThan(0.004 + 0.05 * p[i])
  })

  it('outputs a distribution', () => {
    const r = rng(5)
    for (const leaves of [2, 3, 4]) {
      const V = 100
      const depth = 30
      const raw = Float64Array.from({ length: V }, () => r() ** 4)
      raw[7] = 0
      const p = raw.map((x) => x / sum(raw))
      const g = Uint8Array.from({ length: V * depth }, () => (r() < 0.5 ? 1 : 0))
      const q = tournamentUpdate(p, g, depth, leaves)
      expect(sum(q)).toBeCloseTo(1, 12)
      expect(q[7]).toBe(0)
      for (const x of q) expect(x).toBeGreaterThanOrEqual(0)
    }
  })

  it('distortionary update matches the closed form and handles m = 0 and m = 1', () => {
    const p = Float64Array.from([0.4, 0.35, 0.25])
    // One layer, g = [1, 0, 0]: m = 0.4.
    const q = tournamentUpdate(p, Uint8Array.from([1, 0, 0]), 1, 3)
    expect(q[0]).toBeCloseTo(1 - 0.6 ** 3, 12)
    expect(q[1]).toBeCloseTo(0.35 * 0.6 ** 2, 12)
    expect(Array.from(tournamentUpdate(p, new Uint8Array(3), 1, 3))).toEqual(Array.from(p))
    const all = tournamentUpdate(p, Uint8Array.from([1, 1, 1]), 1, 3)
    for (let i = 0; i < 3; i++) expect(all[i]).toBeCloseTo(p[i], 12)
  })

  it('expected g of the sampled token under a uniform LM, exactly over all g (1 layer)', () => {
    for (const [V, leaves] of [
      [4, 2],
      [10, 2],
      [4, 3],
      [10, 3],
    ]) {
      const p = new Float64Array(V).fill(1 / V)
      let eg = 0
      const n = overAllTables(p, 1, leaves, (q, g) => {
        for (let v = 0; v < V; v++) eg += q[v] * g[v]
      })
      expect(eg / n).toBeCloseTo(expectedMeanGValue(V, leaves), 12)
    }
    expect(expectedMeanGValue(10, 2)).toBeCloseTo(0.5 + 0.25 * 0.9, 15)
    expect(expectedMeanGValue(10, 3)).toBeCloseTo(7 / 8 - 3 / 80, 15)
  })

  for (const variant of ['table', '2025'] as const) {
    it(`${variant}: uniform LM with the real PRF reaches the theoretical mean g (1 layer)`, () => {
      const r = rng(variant === 'table' ? 17 : 19)
      const V = 1000
      for (const leaves of [2, 3]) {
        let eg = 0
        const trials = 1500
        const p = new Float64Array(V).fill(1 / V)
        for (let t = 0; t < trials; t++) {
          // Like logits_processing_test: contexts drawn from 1e9 ids so they rarely repeat.
          const ctx = Array.from({ length: 4 }, () => Math.floor(r() * 1e9))
          const g = synthidGValuesForCandidates(variant, [KEYS[0]], ctx, V)
          const q = tournamentUpdate(p, g, 1, leaves)
          for (let v = 0; v < V; v++) eg += q[v] * g[v]
        }
        expect(Math.abs(eg / trials - expectedMeanGValue(V, leaves))).toBeLessThan(0.01)
      }
    })
  }
})

describe('context repetition', () => {
  it('reports hashes seen within the last historySize, O(1) ring', () => {
    const t = new ContextRepetitionTracker(3)
    expect([5n, 6n, 5n, 7n, 8n, 5n, 6n].map((h) => t.seen(h))).toEqual([
      false,
      false,
      true, // 5 recorded 2 steps ago
      false,
      false,
      true, // history before this step: [5, 7, 8]
      false, // 6 was pushed out
    ])
  })

  it('starts with a zero-filled history like the reference', () => {
    const t = new ContextRepetitionTracker(2)
    expect(t.seen(0n)).toBe(true)
    expect(t.seen(1n)).toBe(false)
    expect(t.seen(0n)).toBe(true) // the 0 recorded at step 1 is still there
    expect(t.seen(2n)).toBe(false)
    expect(t.seen(3n)).toBe(false)
    expect(t.seen(0n)).toBe(false)
  })

  it('matches a literal transcription of the reference shift register', () => {
    const r = rng(23)
    const size = 16
    const hashes = Array.from({ length: 500 }, () => BigInt(Math.floor(r() * 40)) - 5n)
    let history: bigint[] = new Array(size).fill(0n)
    const want: number[] = []
    for (const h of hashes) {
      want.push(history.includes(h) ? 0 : 1)
      history = [h, ...history].slice(0, size)
    }
    expect(Array.from(contextRepetitionMask(hashes, size))).toEqual(want)
  })

  it('masks a repeated 4-gram context in a real sequence', () => {
    const ids = [10, 11, 12, 13, 14, 10, 11, 12, 13, 99, 7]
    const ch = Array.from({ length: ids.length - 4 }, (_, p) =>
      synthidContextHash('2025', KEYS, ids.slice(p, p + 4)),
    )
    expect(Array.from(contextRepetitionMask(ch))).toEqual([1, 1, 1, 1, 1, 0, 1])
  })
})

describe('eosNgramMask', () => {
  it('zeroes n-grams whose last token is at or after the first EOS', () => {
    // n-gram p ends at token p + 2 (ngramLen 3); first EOS (2) at index 4.
    expect(Array.from(eosNgramMask([5, 6, 7, 8, 2, 9, 2], 3, 2))).toEqual([1, 1, 0, 0, 0])
    expect(Array.from(eosNgramMask([5, 6, 7, 8], 3))).toEqual([1, 1])
    expect(Array.from(eosNgramMask([2, 6, 7, 8], 3, 2))).toEqual([0, 0])
  })
})

describe('scores', () => {
  const depth = 3
  const g = Uint8Array.from([1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0])
  const mask = Uint8Array.from([1, 1, 0, 1])

  it('meanScore = Σ g·mask / (depth·Σ mask)', () => {
    expect(meanScore(g, mask, depth)).toBeCloseTo(3 / 9, 15)
    expect(meanScoreBinomialCounts(g, mask, depth)).toEqual({ ones: 3, trials: 9 })
    expect(meanScore(g, new Uint8Array(4), depth)).toBeNaN()
  })

  it('default weights are linspace(10, 1, depth) scaled to sum to depth', () => {
    const w = defaultSynthidWeights(30)
    expect(sum(w)).toBeCloseTo(30, 12)
    expect(w[0] / w[29]).toBeCloseTo(10, 12)
    expect(w[1] - w[0]).toBeCloseTo(w[29] - w[28], 12)
    expect(Array.from(defaultSynthidWeights(1))).toEqual([1])
    const w3 = defaultSynthidWeights(3)
    for (const [i, x] of [10, 5.5, 1].entries()) expect(w3[i]).toBeCloseTo((x * 3) / 16.5, 14)
  })

  it('weightedMeanScore matches a direct transcription of detector_mean.py', () => {
    // weights = linspace(10, 1, 3) = [10, 5.5, 1] → × 3 / 16.5
    const w = [10, 5.5, 1].map((x) => (x * 3) / 16.5)
    const num = w[0] * 1 + w[1] * 1 + w[1] * 1 // rows 0 and 1 (row 2 masked), row 3 is all zeros
    expect(weightedMeanScore(g, mask, depth)).toBeCloseTo(num / (depth * 3), 12)
    // Custom weights are rescaled too; uniform weights give the plain mean.
    expect(weightedMeanScore(g, mask, depth, [7, 7, 7])).toBeCloseTo(meanScore(g, mask, depth), 12)
  })

  it('null moments agree with simulation on random bits', () => {
    const r = rng(29)
    const depthN = 30
    const n = 40
    const nul = weightedMeanScoreNull(n, depthN)
    const m = new Uint8Array(n).fill(1)
    const T = 4000
    let s1 = 0
    let s2 = 0
    let b1 = 0
    for (let t = 0; t < T; t++) {
      const gg = Uint8Array.from({ length: n * depthN }, () => (r() < 0.5 ? 1 : 0))
      const x = weightedMeanScore(gg, m, depthN)
      s1 += x
      s2 += x * x
      b1 += meanScore(gg, m, depthN)
    }
    const mean = s1 / T
    const v = s2 / T - mean * mean
    expect(nul.mean).toBe(0.5)
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(nul.variance / T))
    expect(v / nul.variance).toBeGreaterThan(0.9)
    expect(v / nul.variance).toBeLessThan(1.1)
    expect(Math.abs(b1 / T - 0.5)).toBeLessThan(0.002)
  })

  it('unwatermarked text scores ≈ 0.5 with the real PRF; layer-correlation inflation is small', () => {
    const r = rng(31)
    for (const variant of ['table', '2025'] as const) {
      const ids = Array.from({ length: 20004 }, () => Math.floor(r() * 32000))
      const g = synthidGValuesForSequence(variant, KEYS, ids, 5)
      const n = g.length / 30
      const mask = new Uint8Array(n).fill(1)
      const { ones, trials } = meanScoreBinomialCounts(g, mask, 30)
      expect(Math.abs(ones / trials - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / trials))
      // Per-position Σ_l g variance relative to the independent-layer value depth/4.
      let s1 = 0
      let s2 = 0
      for (let p = 0; p < n; p++) {
        let row = 0
        for (let l = 0; l < 30; l++) row += g[p * 30 + l]
        s1 += row
        s2 += row * row
      }
      const ratio = (s2 / n - (s1 / n) ** 2) / 7.5
      expect(ratio).toBeGreaterThan(0.9)
      expect(ratio).toBeLessThan(1.15)
    }
  })
})
