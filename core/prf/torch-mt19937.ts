// MT19937 exactly as PyTorch's CPU generator drives it (aten/src/ATen/core/MT19937RNGEngine.h),
// plus the CPU samplers the watermark references build on: randperm, rand (float32), randint.
// Text watermarked with a CPU torch.Generator can only be detected by reproducing this stream.

import { lowU32, wrapInt64 } from './int64.ts'

const N = 624
const M = 397
// Constants as int32 so the JIT keeps every step in integer registers.
const MATRIX_A = 0x9908b0df | 0
const UPPER_MASK = 0x80000000 | 0
const LOWER_MASK = 0x7fffffff
const TEMPER_B = 0x9d2c5680 | 0
const TEMPER_C = 0xefc60000 | 0

const U64 = (1n << 64n) - 1n

export class MT19937 {
  private readonly state = new Int32Array(N)
  private index = N

  /** `seed` is the u32 MT seed; torch keeps only the low 32 bits of its 64-bit seed (see torchSeed). */
  constructor(seed: number) {
    this.reseed(seed)
  }

  reseed(seed: number): void {
    seedState(this.state, seed)
    this.index = N
  }

  nextU32(): number {
    if (this.index >= N) {
      twistState(this.state)
      this.index = 0
    }
    return temper(this.state[this.index++])
  }
}

/** init_genrand: the state for `seed` (u32), in place. */
function seedState(s: Int32Array, seed: number): void {
  s[0] = seed
  for (let j = 1; j < N; j++) s[j] = Math.imul(1812433253, s[j - 1] ^ (s[j - 1] >>> 30)) + j
}

/** The MT19937 recurrence over the whole state, in place (three loops so no index needs a modulo). */
function twistState(s: Int32Array): void {
  let k = 0
  for (; k < N - M; k++) {
    const y = (s[k] & UPPER_MASK) | (s[k + 1] & LOWER_MASK)
    s[k] = s[k + M] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A)
  }
  for (; k < N - 1; k++) {
    const y = (s[k] & UPPER_MASK) | (s[k + 1] & LOWER_MASK)
    s[k] = s[k + M - N] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A)
  }
  const y = (s[N - 1] & UPPER_MASK) | (s[0] & LOWER_MASK)
  s[N - 1] = s[M - 1] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A)
}

function temper(word: number): number {
  let y = word | 0
  y ^= y >>> 11
  y ^= (y << 7) & TEMPER_B
  y ^= (y << 15) & TEMPER_C
  y ^= y >>> 18
  return y >>> 0
}

/**
 * The u32 that seeds MT19937 after `torch.Generator().manual_seed(seed)`.
 * Python passes ints < 2**64; negative ones are reinterpreted as two's complement;
 * MT19937 then keeps only the low 32 bits.
 */
export function torchSeed(seed: bigint | number): number {
  return lowU32(BigInt(seed))
}

/**
 * Seed arithmetic of lm-watermarking / HF: products are torch int64 tensors (they wrap),
 * then Python's `% (2**64 - 1)` (floor modulo, non-negative) before manual_seed.
 */
export function int64SeedMod(value: bigint): bigint {
  const wrapped = wrapInt64(value)
  const r = wrapped % U64
  return r < 0n ? r + U64 : r
}

/**
 * r % m for u32 r and 0 < m < 2^31 without a float modulo (slow for values ≥ 2^31): the quotient's
 * rounding can only overshoot by one (r and m are exact; an integral r/m is exact), so fix that case.
 */
export function modU32(r: number, m: number): number {
  const z = r - Math.floor(r / m) * m
  return z < 0 ? z + m : z
}

/** torch.randperm(n) on CPU: Fisher–Yates, swap i with i + (mt() % (n − i)), no rejection. */
export function randperm(seed: bigint | number, n: number): Int32Array {
  if (n >= 214748364) throw new RangeError('randperm: n too large for the CPU small-n path')
  const mt = new MT19937(torchSeed(seed))
  const r = new Int32Array(n)
  for (let i = 0; i < n; i++) r[i] = i
  for (let i = 0; i < n - 1; i++) {
    const z = modU32(mt.nextU32(), n - i)
    const t = r[i]
    r[i] = r[i + z]
    r[i + z] = t
  }
  return r
}

/**
 * Is `token` within randperm(seed, n)[0:prefix]? Follows the token's position through the
 * swaps instead of building the permutation: at most `prefix` draws, early exit when green.
 */
export function inRandpermPrefix(seed: bigint | number, n: number, prefix: number, token: number): boolean {
  return inRandpermPrefixMt(new MT19937(torchSeed(seed)), n, prefix, token)
}

/** Same as inRandpermPrefix with a caller-owned generator (already seeded), to avoid allocation. */
export function inRandpermPrefixMt(mt: MT19937, n: number, prefix: number, token: number): boolean {
  if (token < 0 || token >= n) return false
  if (prefix >= n) return true
  // Step i settles position i; the token is green iff it is moved to (or stays at) some i < prefix.
  let pos = token
  for (let i = 0; i < prefix; i++) {
    const z = modU32(mt.nextU32(), n - i)
    if (pos === i + z) return true
    if (pos === i) pos = i + z
  }
  return false
}

/**
 * targets[k] = i0 + k + temper(s[k]) % (n − i0 − k) for k < count: the positions that Fisher–Yates
 * steps i0 … i0 + count − 1 swap with, from one twisted block. inverse[i] = 1 / (n − i): the quotient
 * from the reciprocal is off by at most one either way (m ≥ 2, so q < 2^31), then corrected.
 */
function swapTargets(
  s: Int32Array,
  i0: number,
  count: number,
  n: number,
  inverse: Float64Array,
  targets: Int32Array,
): void {
  for (let k = 0; k < count; k++) {
    const r = temper(s[k])
    const m = n - i0 - k
    let z = r - ((r * inverse[i0 + k]) | 0) * m
    if (z < 0) z += m
    else if (z >= m) z -= m
    targets[k] = i0 + k + z
  }
}

const UNTRACKED = -1 // posOf[j]: out of range, or settled green
const REPEAT = -2 // posOf[j] ≤ REPEAT: −2 − index of the id's first occurrence

/**
 * Green flags of many ids under ONE seed: id ∈ randperm(seed, n)[0 : prefix]. Runs the first
 * `prefix` Fisher–Yates steps once and follows every id's position (a bitmap marks the positions that
 * hold one), instead of building the permutation (n steps over an n-sized array) or walking the steps
 * once per id. The same draws and `mt() % (n − i)` as randperm, so the flags are exact.
 * The WASM kernel's mtGreenOneSeed is the same pass; this one serves the JavaScript kernel.
 */
export class RandpermPrefixTracker {
  private readonly state = new Int32Array(N)
  private readonly targets = new Int32Array(N)
  /** 1 / (n − i): the modulo becomes a multiply and a one-step correction. */
  private readonly inverse: Float64Array
  /** Bit p set iff position p holds a tracked id (small enough to stay in L1). */
  private readonly marked: Int32Array
  /** position → index + 1 of the id there, 0 = none */
  private readonly slotAt: Int32Array
  private posOf = new Int32Array(0)

  constructor(
    readonly n: number,
    readonly prefix: number,
  ) {
    this.inverse = new Float64Array(Math.max(0, Math.min(prefix, n)))
    for (let i = 0; i < this.inverse.length; i++) this.inverse[i] = 1 / (n - i)
    this.marked = new Int32Array((n + 31) >>> 5)
    this.slotAt = new Int32Array(n)
  }

  private perm: Int32Array | null = null

  /** The whole greenlist of `seed` as a bitmap (bit p of out[p >> 5]); see ScoringKernel.mtGreenBitmap. */
  bitmap(seed: number, out: Uint32Array): void {
    this.perm ??= new Int32Array(this.n)
    greenBitmap(seed, this.n, this.prefix, this.inverse, this.perm, out)
  }

  /** out[j] = 1 iff ids[j] (j < count) is green under `seed` (the u32 MT seed). */
  flags(seed: number, ids: ArrayLike<number>, count: number, out: Uint8Array): void {
    const { state: s, inverse, marked, slotAt, n, prefix, targets } = this
    if (this.posOf.length < count) this.posOf = new Int32Array(count)
    const posOf = this.posOf
    let left = 0
    for (let j = 0; j < count; j++) {
      const p = ids[j]
      out[j] = 0
      posOf[j] = UNTRACKED
      if (!(p >= 0 && p < n)) continue
      if (prefix >= n) out[j] = 1
      if (prefix >= n || prefix <= 0) continue
      if (slotAt[p] !== 0) {
        posOf[j] = REPEAT - (slotAt[p] - 1)
        continue
      }
      posOf[j] = p
      slotAt[p] = j + 1
      marked[p >>> 5] |= 1 << (p & 31)
      left++
    }
    seedState(s, seed)
    for (let i = 0; i < prefix && left > 0; ) {
      twistState(s)
      const end = Math.min(N, prefix - i)
      swapTargets(s, i, end, n, inverse, targets)
      for (let k = 0; k < end; k++, i++) {
        const t = targets[k]
        if ((((marked[t >>> 5] >>> (t & 31)) | (marked[i >>> 5] >>> (i & 31))) & 1) === 0) continue
        // Step i swaps positions i and t: the id at t is settled at i < prefix (green), the id at i moves to t.
        const a = slotAt[t]
        const b = slotAt[i]
        if (a !== 0) {
          out[a - 1] = 1
          posOf[a - 1] = UNTRACKED
          slotAt[t] = 0
          marked[t >>> 5] &= ~(1 << (t & 31))
          left--
        }
        if (b !== 0 && t !== i) {
          slotAt[i] = 0
          marked[i >>> 5] &= ~(1 << (i & 31))
          slotAt[t] = b
          marked[t >>> 5] |= 1 << (t & 31)
          posOf[b - 1] = t
        }
      }
    }
    // Red ids still sit at their last position: clear the scratch. Repeats copy their first occurrence.
    for (let j = 0; j < count; j++) {
      const p = posOf[j]
      if (p <= REPEAT) out[j] = out[REPEAT - p]
      else if (p !== UNTRACKED) {
        slotAt[p] = 0
        marked[p >>> 5] &= ~(1 << (p & 31))
      }
    }
  }
}

/**
 * Bit p of out (⌈n/32⌉ words) set iff p ∈ randperm(seed, n)[0 : prefix]: the first `prefix`
 * Fisher–Yates steps on `perm` (scratch of n entries), with randperm's draws and modulo.
 */
function greenBitmap(
  seed: number,
  n: number,
  prefix: number,
  inverse: Float64Array,
  perm: Int32Array,
  out: Uint32Array,
): void {
  const words = (n + 31) >>> 5
  if (out.length < words) throw new RangeError(`bitmap needs ${words} words, got ${out.length}`)
  out.fill(0, 0, words)
  if (prefix >= n) {
    for (let p = 0; p < n; p++) out[p >>> 5] |= 1 << (p & 31)
    return
  }
  if (prefix <= 0) return
  for (let p = 0; p < n; p++) perm[p] = p
  const s = new Int32Array(N)
  const targets = new Int32Array(N)
  seedState(s, seed)
  for (let i = 0; i < prefix; ) {
    twistState(s)
    const end = Math.min(N, prefix - i)
    swapTargets(s, i, end, n, inverse, targets)
    for (let k = 0; k < end; k++, i++) {
      const t = targets[k]
      const a = perm[i]
      perm[i] = perm[t]
      perm[t] = a
    }
  }
  for (let j = 0; j < prefix; j++) out[perm[j] >>> 5] |= 1 << (perm[j] & 31)
}

/** torch.rand(count) float32 on CPU: (mt() & 0xFFFFFF) · 2^-24, one draw per element. */
export function randFloat32(seed: bigint | number, count: number): Float32Array {
  const mt = new MT19937(torchSeed(seed))
  const out = new Float32Array(count)
  for (let i = 0; i < count; i++) out[i] = (mt.nextU32() & 0xffffff) * 2 ** -24
  return out
}

/** torch.randint(lo, hi, (count,)) on CPU for ranges below 2^32: mt() % range + lo. */
export function randint(seed: bigint | number, lo: number, hi: number, count: number): Int32Array {
  const range = hi - lo
  if (!(range > 0 && range <= 0xffffffff)) throw new RangeError('randint: range must be in (0, 2^32]')
  const mt = new MT19937(torchSeed(seed))
  const out = new Int32Array(count)
  for (let i = 0; i < count; i++) out[i] = (mt.nextU32() % range) + lo
  return out
}
