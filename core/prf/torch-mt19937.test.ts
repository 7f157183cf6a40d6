import { describe, expect, it } from 'vitest'
import { loadVectors } from '../../test/vectors.ts'
import {
  MT19937,
  inRandpermPrefix,
  int64SeedMod,
  modU32,
  randFloat32,
  randint,
  randperm,
  torchSeed,
} from './torch-mt19937.ts'

const v = loadVectors('torch-synthid.json')

describe('torch CPU MT19937 (golden vectors)', () => {
  it('raw u32 stream', () => {
    for (const c of v.mt19937) {
      const mt = new MT19937(torchSeed(BigInt(c.seed)))
      expect(c.first_u32.map(() => mt.nextU32())).toEqual(c.first_u32)
    }
  })
  it('randperm', () => {
    for (const c of v.randperm) expect(Array.from(randperm(BigInt(c.manual_seed), c.n))).toEqual(c.perm)
  })
  it('rand float32', () => {
    for (const c of v.rand_float32)
      expect(Array.from(randFloat32(BigInt(c.manual_seed), c.values.length))).toEqual(c.values)
  })
  it('randint(0, 2)', () => {
    for (const c of v.randint_0_2)
      expect(Array.from(randint(BigInt(c.manual_seed), 0, 2, c.n))).toEqual(c.values)
  })
  it('KGW lefthash greenlists', () => {
    for (const c of v.kgw_lefthash) {
      const seed = int64SeedMod(BigInt(c.hash_key) * BigInt(c.prev_token))
      expect(seed.toString()).toBe(c.seed)
      const perm = randperm(seed, c.vocab)
      const g = Math.floor(c.gamma * c.vocab)
      if (c.greenlist_first10) expect(Array.from(perm.slice(0, 10))).toEqual(c.greenlist_first10)
      if (c.perm) expect(Array.from(perm)).toEqual(c.perm)
      if (c.greenlist) expect(Array.from(perm.slice(0, g))).toEqual(c.greenlist)
    }
  })
})

describe('seed arithmetic', () => {
  it('wraps as torch int64 then takes Python % (2**64 - 1)', () => {
    const U64 = (1n << 64n) - 1n
    expect(int64SeedMod(5n)).toBe(5n)
    expect(int64SeedMod(-1n)).toBe(U64 - 1n)
    // 2^63 wraps to −2^63 in int64; Python's floor modulo makes it non-negative.
    expect(int64SeedMod(1n << 63n)).toBe(((-(1n << 63n) % U64) + U64) % U64)
    expect(int64SeedMod(U64)).toBe(U64 - 1n) // int64(2^64-1) = -1
    expect(torchSeed(0x1_0000_0005n)).toBe(5)
    expect(torchSeed(-1n)).toBe(0xffffffff)
  })
})

describe('greenlist membership without building the permutation', () => {
  it('agrees with the full randperm on random cases', () => {
    let s = 12345
    const rnd = () => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0
      return s
    }
    for (let t = 0; t < 200; t++) {
      const n = 2 + (rnd() % 3000)
      const prefix = rnd() % (n + 1)
      const seed = BigInt(rnd()) * BigInt(rnd())
      const perm = randperm(seed, n)
      const green = new Set(Array.from(perm.slice(0, prefix)))
      for (let k = 0; k < 5; k++) {
        const tok = rnd() % n
        expect(inRandpermPrefix(seed, n, prefix, tok)).toBe(green.has(tok))
      }
      expect(inRandpermPrefix(seed, n, prefix, perm[n - 1])).toBe(prefix >= n)
      if (prefix > 0) expect(inRandpermPrefix(seed, n, prefix, perm[prefix - 1])).toBe(true)
    }
  })
  it('out-of-range tokens are never green', () => {
    expect(inRandpermPrefix(1n, 100, 50, -1)).toBe(false)
    expect(inRandpermPrefix(1n, 100, 50, 100)).toBe(false)
  })
})

describe('modU32', () => {
  it('equals % for u32 values, including remainders next to m', () => {
    let s = 99
    const rnd = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0
      return s
    }
    const ms = [1, 2, 3, 7, 1000, 32000, 151936, 2 ** 31 - 1, 2 ** 30 + 3]
    for (const m of ms) {
      for (let k = 0; k < 2000; k++) {
        const r = rnd()
        expect(modU32(r, m)).toBe(r % m)
      }
      const top = 0xffffffff - (0xffffffff % m)
      for (const r of [0, m - 1, m, top - 1, top, 0xffffffff]) if (r >= 0) expect(modU32(r, m)).toBe(r % m)
    }
  })
})
