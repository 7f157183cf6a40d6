// The 32-bit-halves seeds (KgwSeeder) against the BigInt oracle: every variant and seeding entry point,
// random keys (biased to the int64 wrap-around edges), ids (negative and ≥ the 1_000_003 table too) and
// context widths, with a fixed fast-check seed.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { torchSeed } from '../prf/torch-mt19937.ts'
import { type KgwSeedConfig, KgwSeeder, type KgwSeeding } from './kgw-seed.ts'
import { referenceSeeder } from './kgw-seed.reference.ts'

const RUNS = 2000
const options = { seed: 20261128, numRuns: RUNS }

const key = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
  fc.bigInt({ min: (1n << 63n) - 1000n, max: (1n << 63n) - 1n }),
  fc.bigInt({ min: 0n, max: 1n << 34n }),
  fc.constantFrom(0n, 1n, 15485863n, 2971215073n, 0xffffffffn, 1n << 32n),
)
const id = fc.oneof(
  fc.integer({ min: 0, max: 151_935 }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.integer({ min: -3, max: 3 }),
)

// The hashint tables are 1M-entry randperms: a handful of table seeds keeps the run short while keys vary.
const tableSeed = fc.constantFrom(2971215073n, 15485863n, 7n)

function check(seeding: KgwSeeding, vocab: fc.Arbitrary<number>, width: fc.Arbitrary<number>): void {
  fc.assert(
    fc.property(
      key,
      tableSeed,
      vocab,
      width,
      fc.array(id, { minLength: 72, maxLength: 90 }),
      (hashKey, table, vocabSize, contextWidth, ids) => {
        const c: KgwSeedConfig = { seeding, hashKey, contextWidth, vocabSize, tableSeed: table }
        const fast = new KgwSeeder(c)
        const ref = referenceSeeder(c)
        const end = ids.length - 1
        const at = fast.selfSalted ? end : end + 1 // self-hash seeds include ids[end]
        const want = ref(ids, at)
        expect(fast.seed(ids, at)).toBe(want)
        expect(fast.seed32(ids, at)).toBe(torchSeed(want))
        // Detection batch over the whole sequence.
        const tokens = Int32Array.from(ids)
        const out = new Uint32Array(tokens.length)
        fast.seeds(tokens, out)
        for (let i = fast.lookback; i < tokens.length; i++) expect(out[i]).toBe(torchSeed(ref(tokens, i)))
        if (fast.selfSalted) {
          // Generation: the window before the candidates, several candidates per call.
          const window = ids.slice(0, end - 7)
          const cands = ids.slice(end - 7)
          const seeds = new Uint32Array(cands.length)
          fast.anchoredSeeds(window, cands, cands.length, seeds)
          cands.forEach((cand, j) => {
            expect(seeds[j]).toBe(torchSeed(ref([...window, cand], window.length)))
          })
        }
      },
    ),
    options,
  )
}

describe('KgwSeeder equals the BigInt oracle', () => {
  const width = fc.integer({ min: 1, max: 64 })
  const vocab = fc.oneof(fc.integer({ min: 2, max: 200_000 }), fc.constantFrom(32_000, 50_272, 151_936))
  it('lefthash (additive: key · Σ context % (2**64 − 1), negative sums too)', () => {
    check('lefthash', vocab, width)
  })
  it('lm-watermarking selfhash (anchored min-hash, int64 wrap, signed min)', () => {
    check('selfhash', vocab, width)
  })
  it('HF selfhash', () => {
    check('hf-selfhash', vocab, fc.integer({ min: 1, max: 8 }))
  })
  it('MarkLLM (prf[Π context mod V], seed = key · f unreduced)', () => {
    // randperm(V) per case: small vocabularies keep it quick, plus the presets' sizes now and then.
    check('markllm', fc.oneof(fc.integer({ min: 2, max: 5000 }), fc.constant(32_000)), width)
  }, 60_000)

  it('edge cases of the modulo rules', () => {
    const big = (1n << 63n) - 1n
    for (const seeding of ['lefthash', 'selfhash', 'hf-selfhash', 'markllm'] as const) {
      // (2^64 − 1) / 3: key · 3 ≡ 0 (mod 2^64 − 1)
      for (const hashKey of [0n, 1n, big, 1n << 62n, 0xffffffffn, 6148914691236517205n]) {
        const c = { seeding, hashKey, contextWidth: 2, vocabSize: 2, tableSeed: 15485863n }
        const fast = new KgwSeeder(c)
        const ref = referenceSeeder(c)
        for (const ids of [
          [0, 0, 0],
          [-1, -1, -1],
          [2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1],
          [-(2 ** 31), -(2 ** 31), -(2 ** 31)],
          [1_000_002, 1_000_003, -1_000_003],
          [1, 2, 0],
          [-1, -2, 0],
        ]) {
          expect(fast.seed(ids, 2)).toBe(ref(ids, 2))
        }
      }
    }
  })
})
