import { describe, expect, it } from 'vitest'
import { loadVectors } from '../../test/vectors.ts'
import { inRandpermPrefix, randperm } from '../prf/torch-mt19937.ts'
import { seededRng } from '../rng.ts'
import { loadWasmKernel } from '../../wasm/node.ts'
import { GreenlistCache } from './greenlist-cache.ts'
import { KgwScheme } from './kgw.ts'
import { createScheme } from './registry.ts'
import { jsKernel } from '../kernel/js.ts'

const v = loadVectors('torch-synthid.json')

describe('KGW seeding (golden vectors)', () => {
  it('HF selfhash: fixed table, int64-wrapping seeds, greenlists for context_width 1 and 4', () => {
    const c = v.hf_selfhash[0]
    expect(Array.from(randperm(BigInt(c.hashing_key), c.fixed_table_size).slice(0, 5))).toEqual(
      c.fixed_table_first5,
    )
    for (const [cw, exp] of [
      [1, c.context_width_1],
      [4, c.context_width_4],
    ] as const) {
      const s = new KgwScheme(
        'hf-selfhash',
        {
          seeding: 'hf-selfhash',
          vocabSize: c.vocab,
          gamma: c.gamma,
          delta: 2,
          hashKey: c.hashing_key,
          contextWidth: cw,
          selfHashCandidates: 40,
          pValueThreshold: 1e-3,
        },
        { kernel: jsKernel },
      )
      const seed = s.seedAt(c.sequence, c.sequence.length - 1)
      expect(seed.toString()).toBe(exp.seed)
      expect(Array.from(randperm(seed, c.vocab).slice(0, 5))).toEqual(exp.greenlist_first5)
    }
  })

  it('lefthash: the scheme scores exactly the reference greenlist membership', () => {
    for (const c of v.kgw_lefthash.filter((x: any) => x.greenlist_first10)) {
      const s = createScheme('kgw-lefthash', { key: c.hash_key, vocabSize: c.vocab, gamma: c.gamma })
      const perm = randperm(BigInt(c.seed), c.vocab)
      for (const green of c.greenlist_first10 as number[]) {
        expect(s.detect([c.prev_token, green], { perToken: true }).perToken![1].score).toBe(1)
      }
      const red = s.detect([c.prev_token, perm[c.vocab - 1]], { perToken: true })
      expect(red.perToken!.map((t) => t.score)).toEqual([null, 0])
      expect(red.scored).toBe(1)
    }
  })
})

describe('KGW detection bookkeeping', () => {
  const s = createScheme('kgw-selfhash', { vocabSize: 32000 })
  it('scores from the 4th token on (self-salted 4-grams) and de-duplicates repeated 4-grams', () => {
    const seq = [5, 6, 7, 8, 9, 5, 6, 7, 8, 9, 5, 6, 7, 8]
    const all = s.detect(seq, { dedup: false })
    expect(all.scored).toBe(seq.length - 3)
    const dedup = s.detect(seq)
    expect(dedup.scored).toBe(5) // distinct 4-grams: 5678, 6789, 7895, 8956, 9567
  })
  it('handles texts too short to score', () => {
    const r = s.detect([1, 2])
    expect(r.scored).toBe(0)
    expect(r.pValue).toBe(1)
    expect(r.watermarked).toBe(false)
  })
})

describe('KGW detection groups tokens by seed', () => {
  // Every other token is one of three "function words", so their seeds are followed by ~50 distinct
  // tokens each (a tracking pass, or a cached bitmap) while the others are followed by one (a walk).
  const r = seededRng(21)
  const vocab = 32000
  const seq: number[] = []
  for (let i = 0; i < 150; i++) seq.push([11, 22, 33][i % 3], Math.floor(r() * vocab))
  seq.push(11, seq[1], 11, seq[1]) // repeated (seed, token) pairs

  it.each(['kgw-lefthash', 'markllm-kgw'])(
    '%s: per-token green flags equal the reference walk (JS and WASM kernels, with and without cached greenlists)',
    async (name) => {
      const wasm = await loadWasmKernel()
      const warm = new GreenlistCache()
      const runs = [
        { kernel: jsKernel, greenlists: null, label: 'js, no cache' },
        { kernel: wasm, greenlists: null, label: 'wasm, no cache' },
        { kernel: wasm, greenlists: new GreenlistCache(), label: 'wasm, fresh cache' },
        { kernel: jsKernel, greenlists: warm, label: 'js, fresh cache' },
        { kernel: wasm, greenlists: warm, label: 'wasm, warm cache' },
      ]
      for (const { kernel, greenlists, label } of runs) {
        const s = createScheme(name, { vocabSize: vocab }, { kernel, greenlists }) as KgwScheme
        const green = s.greenCount
        const got = s.detect(seq, { perToken: true, dedup: false }).perToken!
        let checked = 0
        for (let i = 1; i < seq.length; i++) {
          if (got[i].score === null) continue
          const want = inRandpermPrefix(s.seedAt(seq, i), vocab, green, seq[i]) ? 1 : 0
          expect(got[i].score, `${label} token ${i}`).toBe(want)
          checked++
        }
        expect(checked).toBeGreaterThan(250)
      }
    },
  )
})

describe('KGW generation with the greenlist cache', () => {
  it.each(['kgw-lefthash', 'markllm-kgw'])(
    '%s: the same seeded text with and without cached greenlists',
    async (name) => {
      const wasm = await loadWasmKernel()
      const vocab = 151936
      const generate = (greenlists: GreenlistCache | null) => {
        const s = createScheme(name, { vocabSize: vocab }, { kernel: wasm, greenlists })
        const wm = s.watermarker([11])
        const r = seededRng(4)
        const out: number[] = []
        // Ten finite logits over the same ids every step, so contexts (and seeds) recur.
        for (let t = 0; t < 120; t++) {
          const logits = new Float32Array(vocab).fill(Number.NEGATIVE_INFINITY)
          for (let j = 0; j < 10; j++) logits[(j * 15_193) % vocab] = 1.5 * Math.sin(j + t)
          out.push(wm.next(logits, r))
        }
        return out
      }
      const cache = new GreenlistCache(undefined, 2)
      const plain = generate(null)
      expect(generate(cache)).toEqual(plain)
      expect(cache.hits).toBeGreaterThan(30)
      expect(generate(cache)).toEqual(plain) // warm
    },
  )
})
