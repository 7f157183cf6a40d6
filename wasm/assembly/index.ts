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
// Two MT19937 states (624 × u32 each): mtGreen seeds tokens in pairs.
const MT_STATE: usize = memory.data(624 * 4 + 16, 16)
const MT_STATE_B: usize = memory.data(624 * 4 + 16, 16)

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

const P1: u64 = 0x9e3779b185ebca87
const P2: u64 = 0xc2b2ae3d27d4eb4f
const P3: u64 = 0x165667b19e3779f9

// xxh64-style hash of the window tokens[start .. start + len − 1] (−1 padded), two ids per round.
// @ts-ignore: decorator
@inline function windowHash(tokens: usize, start: i32, len: i32): u64 {
  let acc: u64 = P3
  if (start >= 0) {
    let p = tokens + (<usize>start << 2)
    let j = len
    while (j >= 2) {
      acc = rotl<u64>(acc + load<u64>(p) * P2, 31) * P1
      p += 8
      j -= 2
    }
    if (j != 0) acc = rotl<u64>(acc + <u64>load<u32>(p) * P2, 31) * P1
  } else {
    // Near the start: same chunks, built from padded values.
    let j = 0
    for (; j + 1 < len; j += 2) {
      const c = <u64>at(tokens, start + j) | (<u64>at(tokens, start + j + 1) << 32)
      acc = rotl<u64>(acc + c * P2, 31) * P1
    }
    if (j < len) acc = rotl<u64>(acc + <u64>at(tokens, start + j) * P2, 31) * P1
  }
  acc ^= acc >>> 33
  acc *= P2
  acc ^= acc >>> 29
  acc *= P3
  return acc ^ (acc >>> 32)
}

// @ts-ignore: decorator
@inline function sameWindow(tokens: usize, a: i32, b: i32, len: i32): bool {
  for (let j = 0; j < len; j++) {
    if (at(tokens, a + j) != at(tokens, b + j)) return false
  }
  return true
}

// Grows linear memory to cover [0, end); false if the engine refuses.
function ensureMemory(end: usize): bool {
  const have = <usize>memory.size() << 16
  if (end <= have) return true
  return memory.grow(<i32>((end - have + 0xffff) >>> 16)) >= 0
}

// @ts-ignore: decorator
@inline function tableSlots(count: u32): u32 {
  let s: u32 = 16
  while (s < count + (count >>> 1)) s <<= 1
  return s
}

/**
 * out[i] = 1 where the window tokens[i − width .. i − 1] (+ tokens[i] when withToken), −1 padded,
 * occurs for the first time; returns the count (−1 if memory could not grow).
 * A single hash table over millions of windows misses cache on every probe, so windows are first
 * radix-partitioned by the top hash bits into buckets of ~2k, then deduplicated bucket by bucket
 * in a small cache-resident table (positions stay ascending within a bucket). Scratch from `scratch`.
 */
export function firstOccurrence(tokens: usize, n: i32, width: i32, withToken: i32, out: usize, scratch: usize): i32 {
  const len = width + (withToken != 0 ? 1 : 0)
  let bits = 0
  while (n >>> bits > 2048) bits++
  const nb = 1 << bits
  const off = scratch // nb u32 bucket cursors
  const hashes = (off + (<usize>nb << 2) + 15) & ~(<usize>15) // n × u64, reused for the tables
  const part = hashes + (<usize>n << 3) // n × (fingerprint u32, position u32)
  if (!ensureMemory(part + (<usize>n << 3))) return -1
  memory.fill(off, 0, <usize>nb << 2)
  // Bucket = top `bits` bits; fingerprint and slot come from the low 32.
  // (A shift by 64 is a shift by 0 in wasm, so bits = 0 masks the hash to 0 instead.)
  const sh = <u64>(bits != 0 ? 64 - bits : 0)
  const bmask: u64 = bits != 0 ? 0xffffffffffffffff : 0
  for (let i = 0; i < n; i++) {
    const h = windowHash(tokens, i - width, len)
    store<u64>(hashes + (<usize>i << 3), h)
    const c = off + (<usize>((h & bmask) >>> sh) << 2)
    store<u32>(c, load<u32>(c) + 1)
  }
  let sum: u32 = 0
  let most: u32 = 0
  for (let b = 0; b < nb; b++) {
    const c = off + (<usize>b << 2)
    const k = load<u32>(c)
    if (k > most) most = k
    store<u32>(c, sum)
    sum += k
  }
  for (let i = 0; i < n; i++) {
    const h = load<u64>(hashes + (<usize>i << 3))
    const c = off + (<usize>((h & bmask) >>> sh) << 2)
    const k = load<u32>(c)
    store<u32>(c, k + 1)
    store<u64>(part + (<usize>k << 3), (<u64>i << 32) | (h & 0xffffffff))
  }
  // The hashes are consumed: their region hosts the per-bucket table unless that is larger.
  const tableBytes = <usize>tableSlots(most) << 3
  const table = tableBytes <= <usize>n << 3 ? hashes : part + (<usize>n << 3)
  if (!ensureMemory(table + tableBytes)) return -1
  // After the scatter, cursor b holds the end of bucket b (= start of bucket b + 1).
  let count = 0
  let begin: u32 = 0
  for (let b = 0; b < nb; b++) {
    const end = load<u32>(off + (<usize>b << 2))
    const slots = tableSlots(end - begin)
    const mask = slots - 1
    memory.fill(table, 0, <usize>slots << 3)
    for (let k = begin; k < end; k++) {
      const entry = load<u64>(part + (<usize>k << 3))
      const fp = <u32>entry
      const pos = <u32>(entry >>> 32)
      let slot = fp & mask
      let first: u8 = 1
      while (true) {
        const e = table + (<usize>slot << 3)
        const pos1 = load<u32>(e, 4)
        if (pos1 == 0) {
          store<u32>(e, fp)
          store<u32>(e, pos + 1, 4)
          count++
          break
        }
        if (load<u32>(e) == fp && sameWindow(tokens, <i32>pos - width, <i32>pos1 - 1 - width, len)) {
          first = 0
          break
        }
        slot = (slot + 1) & mask
      }
      store<u8>(out + <usize>pos, first)
    }
    begin = end
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

// @ts-ignore: decorator
@inline function padWord(tokens: usize, q: i32, j: i32, width: i32): u32 {
  return j < width ? at(tokens, q + j) : 0xffffffff - <u32>(j & 3)
}

// @ts-ignore: decorator
@inline function pick(sel: u32, c0: u32, c1: u32, c2: u32, c3: u32): u32 {
  return sel < 2 ? (sel == 0 ? c0 : c1) : sel == 2 ? c2 : c3
}

// Same double division then round-to-nearest f32 as Math.fround(((w >>> 8) + 1) / 16777217).
// @ts-ignore: decorator
@inline function uniform(w: u32): f32 {
  return <f32>(<f64>((w >>> 8) + 1) / 16777217.0)
}

// One position, scalar (positions whose context reaches before the start, and the tail).
function philoxOne(tokens: usize, i: i32, width: i32, k0: u32, k1: u32): f32 {
  let s0 = CONTEXT_DOMAIN
  let s1 = <u32>width
  let s2: u32 = 0
  let s3: u32 = 0
  const q = i - width
  for (let off = 0; off < width; off += 4) {
    let c0 = s0 ^ at(tokens, q + off)
    let c1 = s1 ^ padWord(tokens, q, off + 1, width)
    let c2 = s2 ^ padWord(tokens, q, off + 2, width)
    let c3 = s3 ^ padWord(tokens, q, off + 3, width)
    let a = k0 ^ <u32>off
    let b = k1
    for (let r = 0; r < 10; r++) {
      const p0 = M0 * <u64>c0
      const p1 = M1 * <u64>c2
      c0 = <u32>(p1 >>> 32) ^ c1 ^ a
      c2 = <u32>(p0 >>> 32) ^ c3 ^ b
      c1 = <u32>p1
      c3 = <u32>p0
      a += W0
      b += W1
    }
    s0 = c0
    s1 = c1
    s2 = c2
    s3 = c3
  }
  const t = load<u32>(tokens + (<usize>i << 2))
  let c0 = t >>> 2
  let c1 = s0
  let c2 = s1
  let c3 = s2
  let a = k0 ^ s3
  let b = k1 ^ TOKEN_DOMAIN
  for (let r = 0; r < 10; r++) {
    const p0 = M0 * <u64>c0
    const p1 = M1 * <u64>c2
    c0 = <u32>(p1 >>> 32) ^ c1 ^ a
    c2 = <u32>(p0 >>> 32) ^ c3 ^ b
    c1 = <u32>p1
    c3 = <u32>p0
    a += W0
    b += W1
  }
  return uniform(pick(t & 3, c0, c1, c2, c3))
}

// Context slot m of block `off` for four consecutive positions: one unaligned vector load,
// or the pad constant 0xFFFFFFFF − m past the end of the context.
// @ts-ignore: decorator
@inline function slot4(tokens: usize, q: i32, off: i32, m: i32, width: i32): v128 {
  return off + m < width ? v128.load(tokens + (<usize>(q + off + m) << 2)) : i32x4.splat(<i32>(0xffffffff - <u32>m))
}

/** Exhaustive check that the SIMD uniform equals the scalar one for all 2^24 mantissas (tests). */
export function uniformMismatches(): i32 {
  let bad = 0
  for (let m: u32 = 0; m < 1 << 24; m += 4) {
    const w = i32x4.shl(i32x4(<i32>m, <i32>m + 1, <i32>m + 2, <i32>m + 3), 8)
    const u = uniform4(w)
    for (let j: u32 = 0; j < 4; j++) {
      const s = uniform((m + j) << 8)
      const v = j == 0 ? f32x4.extract_lane(u, 0) : j == 1 ? f32x4.extract_lane(u, 1) : j == 2 ? f32x4.extract_lane(u, 2) : f32x4.extract_lane(u, 3)
      if (reinterpret<u32>(s) != reinterpret<u32>(v)) bad++
    }
  }
  return bad
}

// (m + 1)/(2^24 + 1) rounded to f32 equals the f32 just below (m + 1)·2^−24 (exact): the
// quotient lies between 1/2 and 1 ulp below it (vLLM's GPU formula; uniformMismatches checks all m).
// @ts-ignore: decorator
@inline function uniform4(w: v128): v128 {
  const f = f32x4.mul(f32x4.convert_i32x4_u(i32x4.add(i32x4.shr_u(w, 8), i32x4.splat(1))), f32x4.splat(5.9604644775390625e-8))
  return i32x4.sub(f, i32x4.splat(1))
}

/**
 * out[i] = f32 uniform of (key, −1-padded context of width `width`, tokens[i]).
 * Four positions per iteration in SIMD lanes: slot m of every context block is a contiguous
 * vector load, and 32×32→64 products come from i64x2.extmul (hi/lo words shuffled back).
 */
export function philoxUniforms(tokens: usize, n: i32, width: i32, k0: u32, k1: u32, out: usize): void {
  let i = 0
  const head = min<i32>(width, n)
  for (; i < head; i++) store<f32>(out + (<usize>i << 2), philoxOne(tokens, i, width, k0, k1))
  const m0 = i32x4.splat(<i32>M0)
  const m1 = i32x4.splat(<i32>M1)
  const w0 = i32x4.splat(<i32>W0)
  const w1 = i32x4.splat(<i32>W1)
  for (; i + 4 <= n; i += 4) {
    let s0 = i32x4.splat(<i32>CONTEXT_DOMAIN)
    let s1 = i32x4.splat(width)
    let s2 = i32x4.splat(0)
    let s3 = i32x4.splat(0)
    const q = i - width
    for (let off = 0; off < width; off += 4) {
      let c0 = v128.xor(s0, v128.load(tokens + (<usize>(q + off) << 2)))
      let c1 = v128.xor(s1, slot4(tokens, q, off, 1, width))
      let c2 = v128.xor(s2, slot4(tokens, q, off, 2, width))
      let c3 = v128.xor(s3, slot4(tokens, q, off, 3, width))
      let a = i32x4.splat(<i32>(k0 ^ <u32>off))
      let b = i32x4.splat(<i32>k1)
      for (let r = 0; r < 10; r++) {
        const p0l = i64x2.extmul_low_i32x4_u(c0, m0)
        const p0h = i64x2.extmul_high_i32x4_u(c0, m0)
        const p1l = i64x2.extmul_low_i32x4_u(c2, m1)
        const p1h = i64x2.extmul_high_i32x4_u(c2, m1)
        const hi0 = v128.shuffle<i32>(p0l, p0h, 1, 3, 5, 7)
        const hi1 = v128.shuffle<i32>(p1l, p1h, 1, 3, 5, 7)
        c0 = v128.xor(v128.xor(hi1, c1), a)
        c1 = v128.shuffle<i32>(p1l, p1h, 0, 2, 4, 6)
        c2 = v128.xor(v128.xor(hi0, c3), b)
        c3 = v128.shuffle<i32>(p0l, p0h, 0, 2, 4, 6)
        a = i32x4.add(a, w0)
        b = i32x4.add(b, w1)
      }
      s0 = c0
      s1 = c1
      s2 = c2
      s3 = c3
    }
    const t = v128.load(tokens + (<usize>i << 2))
    let c0 = i32x4.shr_u(t, 2)
    let c1 = s0
    let c2 = s1
    let c3 = s2
    let a = v128.xor(i32x4.splat(<i32>k0), s3)
    let b = i32x4.splat(<i32>(k1 ^ TOKEN_DOMAIN))
    for (let r = 0; r < 10; r++) {
      const p0l = i64x2.extmul_low_i32x4_u(c0, m0)
      const p0h = i64x2.extmul_high_i32x4_u(c0, m0)
      const p1l = i64x2.extmul_low_i32x4_u(c2, m1)
      const p1h = i64x2.extmul_high_i32x4_u(c2, m1)
      const hi0 = v128.shuffle<i32>(p0l, p0h, 1, 3, 5, 7)
      const hi1 = v128.shuffle<i32>(p1l, p1h, 1, 3, 5, 7)
      c0 = v128.xor(v128.xor(hi1, c1), a)
      c1 = v128.shuffle<i32>(p1l, p1h, 0, 2, 4, 6)
      c2 = v128.xor(v128.xor(hi0, c3), b)
      c3 = v128.shuffle<i32>(p0l, p0h, 0, 2, 4, 6)
      a = i32x4.add(a, w0)
      b = i32x4.add(b, w1)
    }
    // Word t & 3 of each lane's block.
    const sel = v128.and(t, i32x4.splat(3))
    let w = v128.and(c0, i32x4.eq(sel, i32x4.splat(0)))
    w = v128.or(w, v128.and(c1, i32x4.eq(sel, i32x4.splat(1))))
    w = v128.or(w, v128.and(c2, i32x4.eq(sel, i32x4.splat(2))))
    w = v128.or(w, v128.and(c3, i32x4.eq(sel, i32x4.splat(3))))
    v128.store(out + (<usize>i << 2), uniform4(w))
  }
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), philoxOne(tokens, i, width, k0, k1))
}

// ---- torch CPU MT19937 + randperm prefix membership ----

const MT_N = 624
const MT_M = 397
const MATRIX_A: u32 = 0x9908b0df
const GREEN: u32 = 0xffffffff // step result: the token landed in the prefix

/**
 * Divisibility table for m = vocab − i, i < count, as three u32 arrays of `cap` entries at
 * table (qinv), table + 4·cap (thr), table + 8·cap (low mask), where m = q·2^s, q odd,
 * qinv = q^−1 mod 2^32, thr = ⌊(2^32 − 1)/q⌋, low mask = 2^s − 1. Then for any u32 x:
 * x ≡ 0 (mod m) ⇔ (x & lowmask) == 0 and x·qinv ≤ thr (Hacker's Delight 10-16/17), so the
 * per-step `r % m == d` becomes r ≥ d and (r − d) ≡ 0 (mod m): one multiply, no division.
 */
export function mtDivTable(table: usize, cap: i32, vocab: u32, count: i32): void {
  const cb = <usize>cap << 2
  for (let i = 0; i < count; i++) {
    const m = vocab - <u32>i
    const sh = ctz<u32>(m)
    const q = m >>> sh
    let inv = q // correct to 3 bits for odd q; each Newton step doubles that
    inv *= 2 - q * inv
    inv *= 2 - q * inv
    inv *= 2 - q * inv
    inv *= 2 - q * inv
    const e = table + (<usize>i << 2)
    store<u32>(e, inv)
    store<u32>(e + cb, <u32>0xffffffff / q)
    store<u32>(e + 2 * cb, (<u32>1 << sh) - 1)
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
 * One Fisher–Yates step i with draw y, d = pos − i: green iff y % m == d (m = vocab − i);
 * when d == 0 the token moves to i + (y % m). Returns d for step i + 1, or GREEN.
 * qp points at qinv[i]; cb = 4·cap.
 */
// @ts-ignore: decorator
@inline function stepScalar(y: u32, d: u32, i: u32, vocab: u32, qp: usize, cb: usize): u32 {
  const x = y - d
  const hit = (y >= d) & ((x & load<u32>(qp + 2 * cb)) == 0) & (x * load<u32>(qp) <= load<u32>(qp + cb))
  if (hit) return GREEN
  if (d == 0) return y % (vocab - i) - 1
  return d - 1
}

// @ts-ignore: decorator
@inline function twistScalar(p: usize, nextP: usize, farP: usize): u32 {
  const s = twistWord(load<u32>(p), load<u32>(nextP), load<u32>(farP))
  store<u32>(p, s)
  return temper(s)
}

/**
 * Four steps at once: twist + temper state words k..k+3 (at p; far words at farP) with SIMD and
 * test all four against d, d−1, d−2, d−3. Any hit or any d reaching 0 replays the four scalar.
 */
// @ts-ignore: decorator
@inline function stepVector(p: usize, farP: usize, d: u32, i: u32, vocab: u32, qp: usize, cb: usize): u32 {
  const y = v128.or(
    v128.and(v128.load(p), i32x4.splat(<i32>0x80000000)),
    v128.and(v128.load(p, 4), i32x4.splat(0x7fffffff)),
  )
  const mag = v128.and(i32x4.neg(v128.and(y, i32x4.splat(1))), i32x4.splat(<i32>MATRIX_A))
  const s = v128.xor(v128.xor(v128.load(farP), i32x4.shr_u(y, 1)), mag)
  v128.store(p, s)
  let t = v128.xor(s, i32x4.shr_u(s, 11))
  t = v128.xor(t, v128.and(i32x4.shl(t, 7), i32x4.splat(<i32>0x9d2c5680)))
  t = v128.xor(t, v128.and(i32x4.shl(t, 15), i32x4.splat(<i32>0xefc60000)))
  t = v128.xor(t, i32x4.shr_u(t, 18))
  const dv = i32x4.sub(i32x4.splat(<i32>d), i32x4(0, 1, 2, 3))
  const x = i32x4.sub(t, dv)
  const hit = v128.and(
    v128.and(i32x4.ge_u(t, dv), i32x4.eq(v128.and(x, v128.load(qp + 2 * cb)), i32x4.splat(0))),
    i32x4.le_u(i32x4.mul(x, v128.load(qp)), v128.load(qp + cb)),
  )
  // d < 4: the token's own position comes up in these four steps (it moves): the scalar path handles it.
  if (d >= 4 && !v128.any_true(hit)) return d - 4
  let e = stepScalar(<u32>i32x4.extract_lane(t, 0), d, i, vocab, qp, cb)
  if (e == GREEN) return GREEN
  e = stepScalar(<u32>i32x4.extract_lane(t, 1), e, i + 1, vocab, qp + 4, cb)
  if (e == GREEN) return GREEN
  e = stepScalar(<u32>i32x4.extract_lane(t, 2), e, i + 2, vocab, qp + 8, cb)
  if (e == GREEN) return GREEN
  return stepScalar(<u32>i32x4.extract_lane(t, 3), e, i + 3, vocab, qp + 12, cb)
}

// init_with_uint32 for two generators at once (two independent multiply chains overlap).
// @ts-ignore: decorator
@inline function seed2(a: usize, sa: u32, b: usize, sb: u32): void {
  store<u32>(a, sa)
  store<u32>(b, sb)
  for (let j: u32 = 1; j < <u32>MT_N; j++) {
    sa = 1812433253 * (sa ^ (sa >>> 30)) + j
    sb = 1812433253 * (sb ^ (sb >>> 30)) + j
    store<u32>(a + (<usize>j << 2), sa)
    store<u32>(b + (<usize>j << 2), sb)
  }
}

/**
 * Is `token` in torch CPU randperm(vocab)[0 : green] for the seeded state at st? Follows the
 * token through the Fisher–Yates swaps (d = pos − i), twisting the state in place block by block
 * with the test fused in; a block cut short by an early exit is never reused (next token reseeds).
 * Twist ranges: k < 227 reads s[k + 397] (old), 227 ≤ k < 623 reads s[k − 227] (new), k = 623 wraps.
 */
function mtMember(st: usize, token: u32, vocab: u32, green: u32, div: usize, cb: usize): u8 {
  let d: u32 = token
  let i: u32 = 0
  while (true) {
    const left = green - i
    const lim: u32 = left < <u32>MT_N ? left : <u32>MT_N
    let qp = div + (<usize>i << 2)
    let k: u32 = 0
    const vA: u32 = min<u32>(224, lim & ~3)
    for (; k < vA; k += 4) {
      const p = st + (<usize>k << 2)
      d = stepVector(p, p + MT_M * 4, d, i, vocab, qp, cb)
      if (d == GREEN) return 1
      i += 4
      qp += 16
    }
    const sA: u32 = min<u32>(MT_N - MT_M, lim)
    for (; k < sA; k++) {
      const p = st + (<usize>k << 2)
      d = stepScalar(twistScalar(p, p + 4, p + MT_M * 4), d, i, vocab, qp, cb)
      if (d == GREEN) return 1
      i++
      qp += 4
    }
    if (lim > <u32>(MT_N - MT_M)) {
      const vB: u32 = MT_N - MT_M + ((min<u32>(MT_N - 1, lim) - (MT_N - MT_M)) & ~3)
      for (; k < vB; k += 4) {
        const p = st + (<usize>k << 2)
        d = stepVector(p, p - (MT_N - MT_M) * 4, d, i, vocab, qp, cb)
        if (d == GREEN) return 1
        i += 4
        qp += 16
      }
      const sB: u32 = min<u32>(MT_N - 1, lim)
      for (; k < sB; k++) {
        const p = st + (<usize>k << 2)
        d = stepScalar(twistScalar(p, p + 4, p - (MT_N - MT_M) * 4), d, i, vocab, qp, cb)
        if (d == GREEN) return 1
        i++
        qp += 4
      }
    }
    if (lim < <u32>MT_N) return 0 // green steps exhausted: red
    const p = st + (<usize>(MT_N - 1) << 2)
    d = stepScalar(twistScalar(p, st, st + (MT_M - 1) * 4), d, i, vocab, qp, cb)
    if (d == GREEN) return 1
    i++
    if (i >= green) return 0
  }
}

// @ts-ignore: decorator
@inline function mtOne(st: usize, tokens: usize, i: i32, vocab: i32, greenCount: i32, div: usize, cb: usize, out: usize): void {
  const t = load<i32>(tokens + (<usize>i << 2))
  let g: u8 = 0
  if (t >= 0 && t < vocab) {
    if (greenCount >= vocab) g = 1
    else if (greenCount > 0) g = mtMember(st, <u32>t, <u32>vocab, <u32>greenCount, div, cb)
  }
  store<u8>(out + <usize>i, g)
}

/**
 * out[i] = tokens[i] ∈ randperm(seeds[i], vocab)[0 : greenCount]; `div` (capacity `cap`) from
 * mtDivTable(vocab, ≥ min(greenCount, vocab − 1)). Tokens are taken in pairs to seed two states at once.
 */
export function mtGreen(
  seeds: usize,
  tokens: usize,
  n: i32,
  vocab: i32,
  greenCount: i32,
  div: usize,
  cap: i32,
  out: usize,
): void {
  const cb = <usize>cap << 2
  const stB = MT_STATE_B
  let i = 0
  for (; i + 1 < n; i += 2) {
    seed2(MT_STATE, load<u32>(seeds + (<usize>i << 2)), stB, load<u32>(seeds + (<usize>i << 2), 4))
    mtOne(MT_STATE, tokens, i, vocab, greenCount, div, cb, out)
    mtOne(stB, tokens, i + 1, vocab, greenCount, div, cb, out)
  }
  if (i < n) {
    const s = load<u32>(seeds + (<usize>i << 2))
    seed2(MT_STATE, s, stB, s)
    mtOne(MT_STATE, tokens, i, vocab, greenCount, div, cb, out)
  }
}

// ---- one seed, many ids: a single Fisher–Yates pass that follows every id ----

// Each step's swap target t in the current MT19937 block (mtGreenOneSeed).
const MT_TARGETS: usize = memory.data(624 * 4 + 16, 16)

const UNTRACKED: u32 = 0xffffffff // pos[j]: out of range, or settled green
const REPEAT: u32 = 0x80000000 // pos[j] = REPEAT | index of the id's first occurrence

/**
 * inv[i] = ⌈2^32 / (vocab − i)⌉ (u32, since m ≥ 2) for i < count. For u32 y, q = (y · inv) >> 32 is
 * ⌊y / m⌋ or one more (the error y · (inv − 2^32/m) / 2^32 is below 1), so `y % m` is one widening
 * multiply, a multiply back and one correction — four lanes at a time with pmuludq-style extmul.
 */
export function mtInverseTable(inv: usize, vocab: u32, count: i32): void {
  for (let i = 0; i < count; i++) {
    const m = <u64>(vocab - <u32>i)
    store<u32>(inv + (<usize>i << 2), <u32>(((<u64>1 << 32) + m - 1) / m))
  }
}

/** Twists all 624 words of the state at st in place (SIMD where four words read only old or only new). */
function twistBlock(st: usize): void {
  let k: u32 = 0
  for (; k < 224; k += 4) {
    const p = st + (<usize>k << 2)
    const y = v128.or(
      v128.and(v128.load(p), i32x4.splat(<i32>0x80000000)),
      v128.and(v128.load(p, 4), i32x4.splat(0x7fffffff)),
    )
    const mag = v128.and(i32x4.neg(v128.and(y, i32x4.splat(1))), i32x4.splat(<i32>MATRIX_A))
    v128.store(p, v128.xor(v128.xor(v128.load(p + MT_M * 4), i32x4.shr_u(y, 1)), mag))
  }
  for (; k < <u32>(MT_N - MT_M); k++) {
    const p = st + (<usize>k << 2)
    store<u32>(p, twistWord(load<u32>(p), load<u32>(p + 4), load<u32>(p + MT_M * 4)))
  }
  for (; k < 620; k += 4) {
    const p = st + (<usize>k << 2)
    const y = v128.or(
      v128.and(v128.load(p), i32x4.splat(<i32>0x80000000)),
      v128.and(v128.load(p, 4), i32x4.splat(0x7fffffff)),
    )
    const mag = v128.and(i32x4.neg(v128.and(y, i32x4.splat(1))), i32x4.splat(<i32>MATRIX_A))
    v128.store(p, v128.xor(v128.xor(v128.load(p - (MT_N - MT_M) * 4), i32x4.shr_u(y, 1)), mag))
  }
  for (; k < <u32>(MT_N - 1); k++) {
    const p = st + (<usize>k << 2)
    store<u32>(p, twistWord(load<u32>(p), load<u32>(p + 4), load<u32>(p - (MT_N - MT_M) * 4)))
  }
  const p = st + (<usize>(MT_N - 1) << 2)
  store<u32>(p, twistWord(load<u32>(p), load<u32>(st), load<u32>(st + (MT_M - 1) * 4)))
}

/** MT_TARGETS[k] = i0 + k + temper(st[k]) % (vocab − i0 − k) for k < count. */
function swapTargets(st: usize, i0: u32, count: u32, vocab: u32, inv: usize): void {
  let k: u32 = 0
  const lane = i32x4(0, 1, 2, 3)
  for (; k + 4 <= count; k += 4) {
    const i = i0 + k
    let y = v128.load(st + (<usize>k << 2))
    y = v128.xor(y, i32x4.shr_u(y, 11))
    y = v128.xor(y, v128.and(i32x4.shl(y, 7), i32x4.splat(<i32>0x9d2c5680)))
    y = v128.xor(y, v128.and(i32x4.shl(y, 15), i32x4.splat(<i32>0xefc60000)))
    y = v128.xor(y, i32x4.shr_u(y, 18))
    const r = v128.load(inv + (<usize>i << 2))
    // High halves of the four u32 × u32 products: q = ⌊y / m⌋ or one more.
    const q = v128.shuffle<i32>(i64x2.extmul_low_i32x4_u(y, r), i64x2.extmul_high_i32x4_u(y, r), 1, 3, 5, 7)
    const m = i32x4.sub(i32x4.splat(<i32>(vocab - i)), lane)
    let z = i32x4.sub(y, i32x4.mul(q, m)) // exact mod 2^32; the true value lies in [−m, m)
    z = i32x4.add(z, v128.and(m, i32x4.lt_s(z, i32x4.splat(0))))
    v128.store(MT_TARGETS + (<usize>k << 2), i32x4.add(z, i32x4.add(i32x4.splat(<i32>i), lane)))
  }
  for (; k < count; k++) {
    const i = i0 + k
    const y = temper(load<u32>(st + (<usize>k << 2)))
    const m = vocab - i
    let z = <i32>(y - <u32>((<u64>y * <u64>load<u32>(inv + (<usize>i << 2))) >>> 32) * m)
    if (z < 0) z += <i32>m
    store<u32>(MT_TARGETS + (<usize>k << 2), i + <u32>z)
  }
}

/** The first marked position in [from, limit), or limit. */
function nextMarked(marked: usize, from: u32, limit: u32): u32 {
  if (from >= limit) return limit
  let w = from >>> 5
  let bits = load<u32>(marked + (<usize>w << 2)) & (<u32>0xffffffff << (from & 31))
  const lastWord = (limit - 1) >>> 5
  while (bits == 0) {
    if (w >= lastWord) return limit
    w++
    bits = load<u32>(marked + (<usize>w << 2))
  }
  return min<u32>((w << 5) + ctz<u32>(bits), limit)
}

// @ts-ignore: decorator
@inline function isMarked(marked: usize, p: u32): u32 {
  return (load<u32>(marked + (<usize>(p >>> 5) << 2)) >>> (p & 31)) & 1
}

// @ts-ignore: decorator
@inline function setMark(marked: usize, p: u32, on: bool): void {
  const a = marked + (<usize>(p >>> 5) << 2)
  const bit: u32 = 1 << (p & 31)
  store<u32>(a, on ? load<u32>(a) | bit : load<u32>(a) & ~bit)
}

/**
 * out[j] = ids[j] ∈ torch CPU randperm(seed, vocab)[0 : green] for n ids under ONE seed, in one pass
 * of the first `green` Fisher–Yates steps that follows every id's position, instead of one pass per
 * id. Step i swaps positions i and t = i + y % (vocab − i): the id at t settles at i (green); the id
 * at i moves to t. Only steps touching a marked position do work.
 * Scratch: marked (⌈vocab/32⌉ u32, all zero) and slot (vocab u32, all zero) are left zero again;
 * pos holds n u32. inv from mtInverseTable(vocab, ≥ green). Needs 0 < green < vocab.
 */
export function mtGreenOneSeed(
  seed: u32,
  ids: usize,
  n: i32,
  vocab: u32,
  green: u32,
  inv: usize,
  marked: usize,
  slot: usize,
  pos: usize,
  out: usize,
): void {
  let left: i32 = 0
  for (let j = 0; j < n; j++) {
    const p = load<u32>(ids + (<usize>j << 2))
    store<u8>(out + <usize>j, 0)
    store<u32>(pos + (<usize>j << 2), UNTRACKED)
    if (p >= vocab) continue
    const sp = slot + (<usize>p << 2)
    const first = load<u32>(sp)
    if (first != 0) {
      store<u32>(pos + (<usize>j << 2), REPEAT | (first - 1)) // answered by its first occurrence
      continue
    }
    store<u32>(sp, <u32>j + 1)
    store<u32>(pos + (<usize>j << 2), p)
    setMark(marked, p, true)
    left++
  }
  const st = MT_STATE
  seedState(st, seed)
  let i: u32 = 0
  // The next step that finds a tracked id at position i: a register compare instead of a bitmap load.
  let nextI = nextMarked(marked, 0, green)
  while (i < green && left > 0) {
    twistBlock(st)
    const end: u32 = min<u32>(<u32>MT_N, green - i)
    swapTargets(st, i, end, vocab, inv)
    for (let k: u32 = 0; k < end; k++, i++) {
      // Four steps at once when none of them touches a tracked position (nearly always).
      if ((k & 3) == 0 && k + 4 <= end && nextI - i >= 4) {
        const t4 = v128.load(MT_TARGETS + (<usize>k << 2))
        const any =
          isMarked(marked, <u32>i32x4.extract_lane(t4, 0)) |
          isMarked(marked, <u32>i32x4.extract_lane(t4, 1)) |
          isMarked(marked, <u32>i32x4.extract_lane(t4, 2)) |
          isMarked(marked, <u32>i32x4.extract_lane(t4, 3))
        if (any == 0) {
          k += 3
          i += 3
          continue
        }
      }
      const t = load<u32>(MT_TARGETS + (<usize>k << 2))
      if (isMarked(marked, t) == 0 && i != nextI) continue
      const a = load<u32>(slot + (<usize>t << 2))
      const b = load<u32>(slot + (<usize>i << 2))
      if (a != 0) {
        store<u8>(out + <usize>(a - 1), 1)
        store<u32>(slot + (<usize>t << 2), 0)
        store<u32>(pos + (<usize>(a - 1) << 2), UNTRACKED)
        setMark(marked, t, false)
        left--
      }
      if (b != 0 && t != i) {
        store<u32>(slot + (<usize>i << 2), 0)
        setMark(marked, i, false)
        store<u32>(slot + (<usize>t << 2), b)
        setMark(marked, t, true)
        store<u32>(pos + (<usize>(b - 1) << 2), t)
      }
      nextI = nextMarked(marked, i + 1, green)
    }
  }
  // Red ids still sit at their last position: clear the scratch. Repeats copy their first occurrence.
  for (let j = 0; j < n; j++) {
    const p = load<u32>(pos + (<usize>j << 2))
    if (p == UNTRACKED) continue
    if (p & REPEAT) store<u8>(out + <usize>j, load<u8>(out + <usize>(p & ~REPEAT)))
    else {
      store<u32>(slot + (<usize>p << 2), 0)
      setMark(marked, p, false)
    }
  }
}

/** init_genrand for the state at st. */
function seedState(st: usize, seed: u32): void {
  store<u32>(st, seed)
  for (let j: u32 = 1; j < <u32>MT_N; j++) {
    const prev = load<u32>(st + (<usize>(j - 1) << 2))
    store<u32>(st + (<usize>j << 2), 1812433253 * (prev ^ (prev >>> 30)) + j)
  }
}

/**
 * The whole greenlist of one seed as a bitmap: bit p of bits (⌈vocab/32⌉ u32) set iff p ∈ torch CPU
 * randperm(seed, vocab)[0 : green]. Runs the first `green` Fisher–Yates steps on perm (vocab u32,
 * all zero on entry and again on exit) — the permutation itself, worth it when a seed recurs.
 * inv from mtInverseTable(vocab, ≥ green). Needs 0 < green < vocab.
 */
export function mtGreenBitmap(seed: u32, vocab: u32, green: u32, inv: usize, perm: usize, bits: usize): void {
  let v = i32x4(0, 1, 2, 3)
  const four = i32x4.splat(4)
  const vocab4 = vocab & ~3
  for (let p: u32 = 0; p < vocab4; p += 4) {
    v128.store(perm + (<usize>p << 2), v)
    v = i32x4.add(v, four)
  }
  for (let p = vocab4; p < vocab; p++) store<u32>(perm + (<usize>p << 2), p)
  const st = MT_STATE
  seedState(st, seed)
  let i: u32 = 0
  while (i < green) {
    twistBlock(st)
    const end: u32 = min<u32>(<u32>MT_N, green - i)
    swapTargets(st, i, end, vocab, inv)
    for (let k: u32 = 0; k < end; k++, i++) {
      const pi = perm + (<usize>i << 2)
      const pt = perm + (<usize>load<u32>(MT_TARGETS + (<usize>k << 2)) << 2)
      const a = load<u32>(pi)
      store<u32>(pi, load<u32>(pt))
      store<u32>(pt, a)
    }
  }
  memory.fill(bits, 0, <usize>((vocab + 31) >>> 5) << 2)
  for (let j: u32 = 0; j < green; j++) setMark(bits, load<u32>(perm + (<usize>j << 2)), true)
  memory.fill(perm, 0, <usize>vocab << 2)
}

// ---- SynthID g-values ----

const MULT: i64 = 6364136223846793005
const MULT_LO: u32 = 0x4c957f2d

/**
 * keys: [h0, key_0 .. key_{depth−1}] as i64. variant 0 = table (h0 = 1, g = table[hash & 0xffff]),
 * 1 = 2025 (12 rounds of k = ((k + 1)·MULT + 1) >> 5, g = bit 30). One row per `stride`-th position
 * from contextLen (stride contextLen + 1: candidates laid out as [context, candidate] blocks).
 * Returns the index of the first negative token (the reference rejects them), or −1.
 */
export function synthidGValues(tokens: usize, n: i32, contextLen: i32, keys: usize, depth: i32, variant: i32, out: usize, stride: i32): i32 {
  if (n <= contextLen) return -1
  for (let i = 0; i < n; i++) {
    if (load<i32>(tokens + (<usize>i << 2)) < 0) return i
  }
  const kp = keys + 8
  let o = out
  if (variant == 0) {
    // Only the low 16 bits are used, and low bits of a product depend only on low bits: i32 suffices.
    for (let i = contextLen; i < n; i += stride) {
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
  for (let i = contextLen; i < n; i += stride) {
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
