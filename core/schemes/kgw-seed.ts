/**
 * @module
 * KGW greenlist seeds without BigInt: the int64 / Python-int arithmetic of lm-watermarking, HF and
 * MarkLLM (algorithms.md §2.1–2.2, §4.1) on 32-bit halves. torch keeps only the low 32 bits of a seed,
 * but Python's `% (2**64 − 1)` in between needs the whole 64-bit value, so products are carried in
 * full. `kgw-seed.reference.ts` is the BigInt oracle this must equal (`kgw-seed.test.ts`).
 */
import { randperm } from '../prf/torch-mt19937.ts'

export type KgwSeeding = 'lefthash' | 'selfhash' | 'hf-selfhash' | 'markllm'

export interface KgwSeedConfig {
  seeding: KgwSeeding
  /** < 2^63 (hashKeySchema) */
  hashKey: bigint
  /** h: ids the seed depends on (self-hash variants count the candidate itself). */
  contextWidth: number
  vocabSize: number
  /** Seed of the self-hash hashint table (lm-watermarking 2971215073; HF: the hash key). */
  tableSeed?: bigint
}

export const TABLE_SIZE = 1_000_003
const tableCache = new Map<string, Int32Array>()

/** randperm(1_000_003) under the given seed: the hashint table of the self-hash PRFs. */
export function hashTable(seed: bigint): Int32Array {
  const k = seed.toString()
  let t = tableCache.get(k)
  if (!t) {
    t = randperm(seed, TABLE_SIZE)
    tableCache.set(k, t)
  }
  return t
}

const TWO32 = 4294967296

// Results of the 64-bit helpers, as (hi, lo) u32 halves: module scratch, so the hot loops allocate nothing.
let rHi = 0
let rLo = 0

/** (h·2^32 + l) · a mod 2^64 for a < 2^21 (l·a < 2^53 stays exact). */
function mulSmall(h: number, l: number, a: number): void {
  const p = l * a
  rLo = p >>> 0
  rHi = (Math.imul(h, a) + Math.floor(p / TWO32)) >>> 0
}

/** a · b for u32 a, b: the exact 64-bit product, via 16-bit halves (every partial product < 2^32). */
function mul32(a: number, b: number): void {
  const a0 = a & 0xffff
  const a1 = a >>> 16
  const b0 = b & 0xffff
  const b1 = b >>> 16
  const mid = a0 * b1 + a1 * b0
  const low = a0 * b0 + (mid % 65536) * 65536
  rLo = low >>> 0
  rHi = a1 * b1 + Math.floor(mid / 65536) + Math.floor(low / TWO32)
}

/** (h, l) + (bh, bl) mod 2^64 − 1 (2^64 ≡ 1: a carry out of bit 63 comes back in at bit 0). */
function addModM(h: number, l: number, bh: number, bl: number): void {
  let lo = l + bl
  let hi = h + bh + (lo >= TWO32 ? 1 : 0)
  lo >>>= 0
  if (hi >= TWO32) {
    hi -= TWO32
    lo += 1
    if (lo === TWO32) {
      lo = 0
      hi += 1 // hi < 2^32 − 1 here: the sum of two values < 2^64 − 1 is < 2^65 − 2
    }
  }
  rHi = hi
  rLo = lo
}

/**
 * x · y mod 2^64 − 1 for x = (xh, xl) < 2^63 and a non-negative safe integer y, non-negative: Python's
 * `(key · y) % (2**64 − 1)`. With 2^64 ≡ 1 the 128-bit product folds to xh·yh + xl·yl + cross·2^32
 * (cross = xh·yl + xl·yh), each part reduced the same way.
 */
function mulModM(xh: number, xl: number, y: number): void {
  const yl = y >>> 0
  const yh = Math.floor(y / TWO32)
  mul32(xl, yl)
  let h = rHi
  let l = rLo
  mul32(xh, yh)
  addModM(h, l, rHi, rLo)
  h = rHi
  l = rLo
  // cross = xh·yl + xl·yh < 2^63 + 2^53 < 2^64 (key < 2^63, y < 2^53) = ch·2^32 + cl, and
  // cross·2^32 = ch·2^64 + cl·2^32 ≡ cl·2^32 + ch.
  mul32(xh, yl)
  const p1h = rHi
  const p1l = rLo
  mul32(xl, yh)
  const cl = p1l + rLo
  const ch = p1h + rHi + (cl >= TWO32 ? 1 : 0)
  addModM(h, l, cl >>> 0, ch)
  if (rHi === 0xffffffff && rLo === 0xffffffff) rHi = rLo = 0 // 2^64 − 1 ≡ 0
}

const toBig = (hi: number, lo: number) => (BigInt(hi) << 32n) | BigInt(lo)

/**
 * Seeds of one KGW variant. `seed32` is what manual_seed hands MT19937 (the low 32 bits, §4.1);
 * `seed` is the whole Python value before that truncation (CLI, golden vectors).
 */
export class KgwSeeder {
  readonly lookback: number
  private readonly kHi: number
  private readonly kLo: number
  private readonly table: Int32Array | null
  private readonly prf: Int32Array | null
  private hashes = new Int32Array(0)

  constructor(private readonly c: KgwSeedConfig) {
    if (c.hashKey < 0n || c.hashKey >= 1n << 63n) throw new RangeError('hash key must be in [0, 2^63)')
    this.kHi = Number(c.hashKey >> 32n)
    this.kLo = Number(c.hashKey & 0xffffffffn)
    const selfHash = c.seeding === 'selfhash' || c.seeding === 'hf-selfhash'
    this.table = selfHash ? hashTable(c.tableSeed ?? c.hashKey) : null
    this.prf = c.seeding === 'markllm' ? randperm(c.hashKey, c.vocabSize) : null
    this.lookback = selfHash ? c.contextWidth - 1 : c.contextWidth
  }

  get selfSalted(): boolean {
    return this.table !== null
  }

  /** The seed (before manual_seed's 32-bit truncation) for the greenlist that decides ids[end] (self-hash) or follows ids[end − h .. end − 1]. */
  seed(ids: ArrayLike<number>, end: number): bigint {
    if (this.c.seeding === 'markllm') return this.c.hashKey * BigInt(this.markllmF(ids, end))
    this.seedHalves(ids, end)
    return toBig(rHi, rLo)
  }

  /** The u32 MT19937 seed of `seed(ids, end)`. */
  seed32(ids: ArrayLike<number>, end: number): number {
    // MarkLLM's seed key · f is a Python int never reduced: only its low 32 bits matter.
    if (this.c.seeding === 'markllm') return Math.imul(this.kLo, this.markllmF(ids, end)) >>> 0
    this.seedHalves(ids, end)
    return rLo
  }

  /** out[i] = seed32(tokens, i) for every i ≥ lookback (detection); hashint is looked up once per token. */
  seeds(tokens: Int32Array, out: Uint32Array): void {
    const n = tokens.length
    if (!this.table) {
      for (let i = this.lookback; i < n; i++) out[i] = this.seed32(tokens, i)
      return
    }
    if (this.hashes.length < n) this.hashes = new Int32Array(n)
    const a = this.hashes
    for (let i = 0; i < n; i++) a[i] = this.hashint(tokens[i])
    const h = this.c.contextWidth
    for (let i = this.lookback; i < n; i++) out[i] = this.anchoredMin(a, i - h + 1, a[i])
  }

  /**
   * Self-hash generation: out[j] = seed32 of [...window, candidates[j]] for j < count, where window holds
   * the lookback ids before the candidate.
   */
  anchoredSeeds(
    window: ArrayLike<number>,
    candidates: ArrayLike<number>,
    count: number,
    out: Uint32Array,
  ): void {
    const h = this.c.contextWidth
    if (this.hashes.length < h) this.hashes = new Int32Array(h)
    const a = this.hashes
    for (let i = 0; i < h - 1; i++) a[i] = this.hashint(window[window.length - (h - 1) + i])
    for (let j = 0; j < count; j++) {
      a[h - 1] = this.hashint(candidates[j])
      out[j] = this.anchoredMin(a, 0, a[h - 1])
    }
  }

  private hashint(x: number): number {
    return this.table![((x % TABLE_SIZE) + TABLE_SIZE) % TABLE_SIZE] + 1
  }

  /**
   * Low 32 bits of anchored min-hash: min over a[from .. from + h − 1] of key·a_i·anchor as wrapping
   * int64 (the min is signed), then Python's % (2**64 − 1): a negative v becomes v + 2^64 − 1, i.e.
   * its unsigned bits minus one. Leaves the whole seed in (rHi, rLo).
   */
  private anchoredMin(a: Int32Array, from: number, anchor: number): number {
    mulSmall(this.kHi, this.kLo, anchor)
    const ph = rHi
    const pl = rLo
    let mh = 0
    let ml = 0
    for (let i = from, end = from + this.c.contextWidth; i < end; i++) {
      mulSmall(ph, pl, a[i])
      if (i === from || (rHi | 0) < (mh | 0) || (rHi === mh && rLo < ml)) {
        mh = rHi
        ml = rLo
      }
    }
    if ((mh | 0) < 0) {
      // unsigned bits − 1; no borrow past bit 63 since the value is ≥ 2^63
      if (ml === 0) mh -= 1
      ml = (ml - 1) >>> 0
    }
    rHi = mh
    rLo = ml
    return ml
  }

  /** The whole seed into (rHi, rLo) for lefthash and the self-hash variants. */
  private seedHalves(ids: ArrayLike<number>, end: number): void {
    const h = this.c.contextWidth
    if (this.table) {
      if (this.hashes.length < h) this.hashes = new Int32Array(h)
      const a = this.hashes
      for (let i = 0; i < h; i++) a[i] = this.hashint(ids[end - h + 1 + i])
      this.anchoredMin(a, 0, a[h - 1])
      return
    }
    // additive_prf: Python ints, key · Σ context, then % (2**64 − 1) (floor modulo: non-negative).
    let sum = 0
    for (let i = end - h; i < end; i++) sum += ids[i]
    const y = Math.abs(sum)
    const small = this.kHi === 0 ? this.kLo * y : Number.POSITIVE_INFINITY
    if (small <= Number.MAX_SAFE_INTEGER) {
      // exact as a double and < 2^64 − 1: no reduction (the references' default key 15485863 lands here)
      rHi = Math.floor(small / TWO32)
      rLo = small >>> 0
    } else mulModM(this.kHi, this.kLo, y)
    if (sum < 0 && (rHi !== 0 || rLo !== 0)) {
      // −r mod M = M − r = ~r (M is all ones)
      rHi = ~rHi >>> 0
      rLo = ~rLo >>> 0
    }
  }

  /** MarkLLM f_time: prf[(Π context) mod V] (Python floor modulo; the product is taken mod V as it goes). */
  private markllmF(ids: ArrayLike<number>, end: number): number {
    const v = this.c.vocabSize
    let prod = 1 % v
    for (let i = end - this.c.contextWidth; i < end; i++) {
      const x = ((ids[i] % v) + v) % v
      prod = (prod * x) % v // < 2^48: exact (V ≤ 2^24)
    }
    return this.prf![prod]
  }
}
