import { describe, expect, it } from 'vitest'
import { loadVectors } from '../../test/vectors.ts'
import { inRandpermPrefix, randperm } from '../prf/torch-mt19937.ts'
import { seededRng } from '../rng.ts'
import { loadWasmKernel } from '../../wasm/node.ts'
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
  // tokens each (one tracking pass per seed) while the others are followed by one (a walk per pair).
  const r = seededRng(21)
  const vocab = 32000
  const seq: number[] = []
  for (let i = 0; i < 150; i++) seq.push([11, 22, 33][i % 3], Math.floor(r() * vocab))
  seq.push(11, seq[1], 11, seq[1]) // repeated (seed, token) pairs

  it.each(['kgw-lefthash', 'markllm-kgw'])(
    '%s: per-token green flags equal the reference walk (JS and WASM kernels)',
    async (name) => {
      const wasm = await loadWasmKernel()
      for (const kernel of [jsKernel, wasm]) {
        const s = createScheme(name, { vocabSize: vocab }, { kernel }) as KgwScheme
        const green = Math.floor((s as any).greenCount)
        const got = s.detect(seq, { perToken: true, dedup: false }).perToken!
        let checked = 0
        for (let i = 1; i < seq.length; i++) {
          if (got[i].score === null) continue
          const want = inRandpermPrefix(s.seedAt(seq, i), vocab, green, seq[i]) ? 1 : 0
          expect(got[i].score, `${kernel.name} token ${i}`).toBe(want)
          checked++
        }
        expect(checked).toBeGreaterThan(250)
      }
    },
  )
})
