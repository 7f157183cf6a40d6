// WebAssembly scoring kernel (AssemblyScript). Raw-pointer API over linear memory: the JS adapter
// (wasm/kernel.ts) lays out inputs, outputs and scratch above heapBase() and calls these exports.
// Nothing here allocates (--runtime stub never frees), so a long-lived isolate does not grow.
//
// Every function must equal core/kernel/js.ts bit for bit; wasm/kernel.test.ts checks parity.
// Compiler bug to avoid (feasibility §2): at -O1+ `<u64><u32>load<i32>(p)` is emitted as a
// sign-extending load. Always widen via `<u64>load<u32>(p)` or a u32 local.

// ---- static regions ----

// SynthID sampling table (65,536 × u8), uploaded once by the adapter.
const SYNTHID_TABLE: usize = memory.data(65536, 16)
// MT19937 state (624 × u32).
const MT_STATE: usize = memory.data(624 * 4, 16)

export function heapBase(): usize {
  return (__heap_base + 15) & ~(<usize>15)
}

export function synthidTablePtr(): usize {
  return SYNTHID_TABLE
}

// ---- firstOccurrence ----

// Value of the sequence at p, −1 before the start (the JS reference pads contexts with −1).
// @ts-ignore: decorator
@inline function at(tokens: usize, p: i32): u32 {
  return p >= 0 ? load<u32>(tokens + (<usize>p << 2)) : 0xffffffff
}

// 64-bit hash of the window tokens[i − width .. i − 1 (+ i)], −1 padded.
// @ts-ignore: decorator
@inline function windowHash(tokens: usize, start: i32, len: i32): u64 {
  let h: u64 = 0x9e3779b97f4a7c15
  if (start >= 0) {
    let p = tokens + (<usize>start << 2)
    for (let j = 0; j < len; j++) {
      h = (h ^ <u64>load<u32>(p)) * 0xff51afd7ed558ccd
      h ^= h >>> 29
      p += 4
    }
  } else {
    for (let j = 0; j < len; j++) {
      h = (h ^ <u64>at(tokens, start + j)) * 0xff51afd7ed558ccd
      h ^= h >>> 29
    }
  }
  h ^= h >>> 32
  h *= 0xc4ceb9fe1a85ec53
  h ^= h >>> 33
  return h
}

// @ts-ignore: decorator
@inline function sameWindow(tokens: usize, a: i32, b: i32, len: i32): bool {
  for (let j = 0; j < len; j++) {
    if (at(tokens, a + j) != at(tokens, b + j)) return false
  }
  return true
}

/**
 * out[i] = 1 where the window of position i occurs first. Open addressing (linear probing) in
 * `table` (2^bits slots × 8 bytes: fingerprint u32, position + 1 u32; cleared here).
 */
export function firstOccurrence(
  tokens: usize,
  n: i32,
  width: i32,
  withToken: i32,
  out: usize,
  table: usize,
  bits: i32,
): i32 {
  const len = width + (withToken != 0 ? 1 : 0)
  const mask: u32 = (<u32>1 << bits) - 1
  memory.fill(table, 0, <usize>8 << bits)
  let count = 0
  for (let i = 0; i < n; i++) {
    const start = i - width
    const h = windowHash(tokens, start, len)
    const fp = <u32>h
    let slot = <u32>(h >>> 32) & mask
    let first: u8 = 1
    while (true) {
      const e = table + (<usize>slot << 3)
      const pos1 = load<u32>(e, 4)
      if (pos1 == 0) {
        store<u32>(e, fp)
        store<u32>(e, <u32>i + 1, 4)
        count++
        break
      }
      if (load<u32>(e) == fp && sameWindow(tokens, start, <i32>pos1 - 1 - width, len)) {
        first = 0
        break
      }
      slot = (slot + 1) & mask
    }
    store<u8>(out + <usize>i, first)
  }
  return count
}

// ---- Philox4x32-10 (vLLM philox4x32-10-v1) ----

const M0: u64 = 0xd2511f53
const M1: u64 = 0xcd9e8d57
const W0: u32 = 0x9e3779b9
const W1: u32 = 0xbb67ae85
const CONTEXT_DOMAIN: u32 = 0x574d4358
const TOKEN_DOMAIN: u32 = 0x574d544b

/** out[i] = f32 uniform of (key, −1-padded context of width `width`, tokens[i]). */
export function philoxUniforms(tokens: usize, n: i32, width: i32, k0: u32, k1: u32, out: usize): void {
  const kt1 = k1 ^ TOKEN_DOMAIN
  for (let i = 0; i < n; i++) {
    // Absorb the context once per position, 4 ids per call.
    let s0 = CONTEXT_DOMAIN
    let s1 = <u32>width
    let s2: u32 = 0
    let s3: u32 = 0
    const base = i - width
    for (let off = 0; off < width; off += 4) {
      const q = base + off
      let c0 = s0 ^ at(tokens, q)
      let c1 = s1 ^ (off + 1 < width ? at(tokens, q + 1) : 0xfffffffe)
      let c2 = s2 ^ (off + 2 < width ? at(tokens, q + 2) : 0xfffffffd)
      let c3 = s3 ^ (off + 3 < width ? at(tokens, q + 3) : 0xfffffffc)
      let a = k0 ^ <u32>off
      let b = k1
      for (let r = 0; r < 10; r++) {
        const p0 = M0 * <u64>c0
        const p1 = M1 * <u64>c2
        const n0 = <u32>(p1 >>> 32) ^ c1 ^ a
        const n2 = <u32>(p0 >>> 32) ^ c3 ^ b
        c1 = <u32>p1
        c3 = <u32>p0
        c0 = n0
        c2 = n2
        a += W0
        b += W1
      }
      s0 = c0
      s1 = c1
      s2 = c2
      s3 = c3
    }
    // Candidate call: tokens 4g..4g+3 share one block; pick word t & 3.
    const t = load<u32>(tokens + (<usize>i << 2))
    let c0 = t >>> 2
    let c1 = s0
    let c2 = s1
    let c3 = s2
    let a = k0 ^ s3
    let b = kt1
    for (let r = 0; r < 10; r++) {
      const p0 = M0 * <u64>c0
      const p1 = M1 * <u64>c2
      const n0 = <u32>(p1 >>> 32) ^ c1 ^ a
      const n2 = <u32>(p0 >>> 32) ^ c3 ^ b
      c1 = <u32>p1
      c3 = <u32>p0
      c0 = n0
      c2 = n2
      a += W0
      b += W1
    }
    const sel = t & 3
    const w = sel < 2 ? (sel == 0 ? c0 : c1) : sel == 2 ? c2 : c3
    // Same double division then round-to-nearest f32 as Math.fround(((w >>> 8) + 1) / 16777217).
    store<f32>(out + (<usize>i << 2), <f32>(<f64>((w >>> 8) + 1) / 16777217.0))
  }
}

// ---- torch CPU MT19937 + randperm prefix membership ----

const MT_N = 624
const MT_M = 397
const MATRIX_A: u32 = 0x9908b0df

/**
 * Divisibility table for m = vocab − i, i < count (12 bytes each: qinv, thr, shift), where
 * m = q·2^shift, q odd, qinv = q^−1 mod 2^32, thr = ⌊(2^32 − 1)/m⌋.
 * x ≡ 0 (mod m) ⇔ rotr(x·qinv, shift) ≤ thr (Hacker's Delight 10-17), so `r % m == d` is tested
 * with one multiply instead of a division: r ≥ d and (r − d) ≡ 0 (mod m).
 */
export function mtDivTable(table: usize, vocab: u32, count: i32): void {
  for (let i = 0; i < count; i++) {
    const m = vocab - <u32>i
    const sh = ctz<u32>(m)
    const q = m >>> sh
    let inv = q // correct to 3 bits for odd q
    inv *= 2 - q * inv
    inv *= 2 - q * inv
    inv *= 2 - q * inv
    inv *= 2 - q * inv
    const e = table + <usize>i * 12
    store<u32>(e, inv)
    store<u32>(e, <u32>0xffffffff / m, 4)
    store<u32>(e, sh, 8)
  }
}

// @ts-ignore: decorator
@inline function temper(y: u32): u32 {
  y ^= y >>> 11
  y ^= (y << 7) & 0x9d2c5680
  y ^= (y << 15) & 0xefc60000
  return y ^ (y >>> 18)
}

// @ts-ignore: decorator
@inline function twistWord(cur: u32, next: u32, far: u32): u32 {
  const y = (cur & 0x80000000) | (next & 0x7fffffff)
  return far ^ (y >>> 1) ^ ((0 - (y & 1)) & MATRIX_A)
}

/**
 * Is `token` in torch CPU randperm(vocab)[0 : green] after manual_seed(seed)? Follows the token
 * through the Fisher–Yates swaps, with d = pos − i; step i draws r and z = r % (vocab − i):
 * green iff z == d; when d == 0 the token moves to i + z. MT words are produced block by block,
 * twist and temper fused into the test loop (a block cut short is never reused: next call reseeds).
 */
function mtMember(seed: u32, token: u32, vocab: u32, green: u32, div: usize): u8 {
  const st = MT_STATE
  // init_with_uint32
  let prev = seed
  store<u32>(st, prev)
  for (let j: u32 = 1; j < <u32>MT_N; j++) {
    prev = 1812433253 * (prev ^ (prev >>> 30)) + j
    store<u32>(st + (<usize>j << 2), prev)
  }
  let d: u32 = token
  let i: u32 = 0
  while (true) {
    const left = green - i
    const lim: u32 = left < <u32>MT_N ? left : <u32>MT_N
    let e = div + <usize>i * 12
    // k in [0, 227): far word s[k + 397] is still old.
    const lim1: u32 = lim < <u32>(MT_N - MT_M) ? lim : <u32>(MT_N - MT_M)
    let k: u32 = 0
    for (; k < lim1; k++) {
      const p = st + (<usize>k << 2)
      const s = twistWord(load<u32>(p), load<u32>(p, 4), load<u32>(p, MT_M * 4))
      store<u32>(p, s)
      const y = temper(s)
      const hit = (y >= d) & (rotr<u32>((y - d) * load<u32>(e), load<u32>(e, 8)) <= load<u32>(e, 4))
      if (hit | (d == 0)) {
        if (hit) return 1
        d = y % (vocab - i)
      }
      d--
      i++
      e += 12
    }
    // k in [227, 623): far word s[k − 227] is already new.
    const lim2: u32 = lim < <u32>(MT_N - 1) ? lim : <u32>(MT_N - 1)
    for (; k < lim2; k++) {
      const p = st + (<usize>k << 2)
      const s = twistWord(load<u32>(p), load<u32>(p, 4), load<u32>(p - (MT_N - MT_M) * 4))
      store<u32>(p, s)
      const y = temper(s)
      const hit = (y >= d) & (rotr<u32>((y - d) * load<u32>(e), load<u32>(e, 8)) <= load<u32>(e, 4))
      if (hit | (d == 0)) {
        if (hit) return 1
        d = y % (vocab - i)
      }
      d--
      i++
      e += 12
    }
    if (lim < <u32>MT_N) return 0 // green steps exhausted: red
    // k = 623 wraps to s[0] (new) and s[396] (new).
    const p = st + (<usize>(MT_N - 1) << 2)
    const s = twistWord(load<u32>(p), load<u32>(st), load<u32>(st, (MT_M - 1) * 4))
    store<u32>(p, s)
    const y = temper(s)
    const hit = (y >= d) & (rotr<u32>((y - d) * load<u32>(e), load<u32>(e, 8)) <= load<u32>(e, 4))
    if (hit | (d == 0)) {
      if (hit) return 1
      d = y % (vocab - i)
    }
    d--
    i++
    if (i >= green) return 0
  }
}

/** out[i] = tokens[i] ∈ randperm(seeds[i], vocab)[0 : greenCount]; `div` from mtDivTable(vocab, ≥ greenCount). */
export function mtGreen(seeds: usize, tokens: usize, n: i32, vocab: i32, greenCount: i32, div: usize, out: usize): void {
  for (let i = 0; i < n; i++) {
    const t = load<i32>(tokens + (<usize>i << 2))
    let g: u8 = 0
    if (t >= 0 && t < vocab) {
      if (greenCount >= vocab) g = 1
      else if (greenCount > 0) g = mtMember(load<u32>(seeds + (<usize>i << 2)), <u32>t, <u32>vocab, <u32>greenCount, div)
    }
    store<u8>(out + <usize>i, g)
  }
}

// ---- SynthID g-values ----

const MULT: i64 = 6364136223846793005
const MULT_LO: u32 = 0x4c957f2d

/**
 * keys: [h0, key_0 .. key_{depth−1}] as i64. variant 0 = table (h0 = 1, g = table[hash & 0xffff]),
 * 1 = 2025 (12 rounds of k = ((k + 1)·MULT + 1) >> 5, g = bit 30).
 * Returns the index of the first negative token (the reference rejects them), or −1.
 */
export function synthidGValues(tokens: usize, n: i32, contextLen: i32, keys: usize, depth: i32, variant: i32, out: usize): i32 {
  if (n <= contextLen) return -1
  for (let i = 0; i < n; i++) {
    if (load<i32>(tokens + (<usize>i << 2)) < 0) return i
  }
  const kp = keys + 8
  let o = out
  if (variant == 0) {
    // Only the low 16 bits are used, and low bits of a product depend only on low bits: i32 suffices.
    for (let i = contextLen; i < n; i++) {
      let h: u32 = 1
      let p = tokens + (<usize>(i - contextLen) << 2)
      for (let j = 0; j <= contextLen; j++) {
        h = (h + load<u32>(p)) * MULT_LO + 1
        p += 4
      }
      for (let l = 0; l < depth; l++) {
        const k = ((h + load<u32>(kp + (<usize>l << 3))) * MULT_LO + 1) & 0xffff
        store<u8>(o + <usize>l, load<u8>(SYNTHID_TABLE + <usize>k))
      }
      o += <usize>depth
    }
    return -1
  }
  const h0 = load<i64>(keys)
  const C1 = MULT + 1
  for (let i = contextLen; i < n; i++) {
    let h = h0
    let p = tokens + (<usize>(i - contextLen) << 2)
    for (let j = 0; j <= contextLen; j++) {
      h = (h + <i64>load<u32>(p)) * MULT + 1
      p += 4
    }
    // Two layers per iteration: independent chains overlap in the pipeline.
    let l = 0
    for (; l + 1 < depth; l += 2) {
      let a = (h + load<i64>(kp + (<usize>l << 3))) * MULT + 1
      let b = (h + load<i64>(kp + (<usize>l << 3), 8)) * MULT + 1
      for (let r = 0; r < 12; r++) {
        a = (a * MULT + C1) >> 5
        b = (b * MULT + C1) >> 5
      }
      store<u8>(o + <usize>l, <u8>(<u32>(a >>> 30) & 1))
      store<u8>(o + <usize>l, <u8>(<u32>(b >>> 30) & 1), 1)
    }
    if (l < depth) {
      let a = (h + load<i64>(kp + (<usize>l << 3))) * MULT + 1
      for (let r = 0; r < 12; r++) a = (a * MULT + C1) >> 5
      store<u8>(o + <usize>l, <u8>(<u32>(a >>> 30) & 1))
    }
    o += <usize>depth
  }
  return -1
}
