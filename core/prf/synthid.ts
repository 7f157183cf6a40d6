// SynthID-Text g-values (Dathathri et al., Nature 2024), bit-exact with the reference code.
//
// Sources followed (read 2025, see /work/shared/specs/algorithms.md §2.3):
// - google-deepmind/synthid-text @ addb4a158143c7c6851a1308f78b89fceed59683 (2025-06-13, merge of PR #32
//   "hash_fix": commits 32197c3 "Remove hash table lookup" + 883f60f): src/synthid_text/hashing_function.py
//   (accumulate_hash) and src/synthid_text/logits_processing.py (hash_iv, _compute_keys,
//   compute_ngram_keys, get_gvals). This is the '2025' variant.
// - synthid-text before 32197c3 (e.g. 37fa9b2) and HF transformers
//   src/transformers/generation/logits_process.py SynthIDTextWatermarkLogitsProcessor (read at 00857b6):
//   h0 = 1 and `sample_g_values` = sampling_table[key_hash % 65536]. This is the 'table' variant.
//
// Both variants: all arithmetic is torch int64 (wraps mod 2^64, signed).
//   accumulate_hash(h, data): for d in data: h = (h + d) * 6364136223846793005 + 1
//   context hash  = acc(h0, ngram[0..n-2])           (also the context-repetition key)
//   candidate     = acc(context hash, [ngram[n-1]])  (== acc(h0, whole ngram))
//   key hash[l]   = acc(candidate, [keys[l]])
// 'table': h0 = 1; g[l] = table[keyHash[l] mod 65536]; torch floor-mod by 2^16 = the low 16 bits.
//   table = torch.randint(0, 2, (65536,), generator=Generator('cpu').manual_seed(0)) = mt19937() % 2.
//   (A CUDA generator gives a different table; only CPU is reproducible.)
// '2025': h0 = int.from_bytes(sha256(int64 little-endian bytes of keys), 'big') % (2**63 - 1)
//   (`torch.tensor(keys).to(torch.long).numpy().tobytes()` is native order, i.e. little-endian on
//   x86/ARM); then 12 rounds of k = acc(k, [1]) >> 5 (shift = 64 // 12, arithmetic on int64);
//   g = (k >> 30) % 2, i.e. bit 30 of the final k.

import { sha256 } from '@noble/hashes/sha2.js'
import { lowU32, wrapInt64 } from './int64.ts'
import { MT19937 } from './torch-mt19937.ts'
import { toHex } from '../keys/hex.ts'

export type SynthidVariant = 'table' | '2025'

const TABLE_SIZE = 65536
const ROUNDS_2025 = 12
const SHIFT_2025 = 5 // 64 // 12
const INT64_MAX = (1n << 63n) - 1n

/** accumulate_hash on signed int64: for d of data, h = (h + d)·6364136223846793005 + 1 (wrapping). */
export function accumulateHash(h: bigint, data: Iterable<bigint | number>): bigint {
  // Runs on uint32 halves: a BigInt.asIntN(64, …) loop crashed TurboFan in Node 20 (V8 11.3,
  // "RepresentationChangerError: Phi of kRepTagged (SignedBigInt64) cannot be changed to kRepWord64").
  let lo = splitLo(h)
  let hi = splitHi(h)
  for (const d of data) {
    const b = BigInt(d)
    lcg(lo, hi, splitLo(b), splitHi(b))
    lo = rLo
    hi = rHi
  }
  return joinHalves(lo, hi)
}

let tableCache: Uint8Array | undefined

/** The 65,536-entry CPU sampling table of HF / pre-2025 synthid-text (seed 0), cached. */
export function synthidTable(): Uint8Array {
  if (tableCache) return tableCache
  const mt = new MT19937(0)
  const t = new Uint8Array(TABLE_SIZE)
  for (let i = 0; i < TABLE_SIZE; i++) t[i] = mt.nextU32() & 1 // randint(0, 2) on CPU = mt() % 2
  tableCache = t
  return t
}

let ivCacheKey = ''
let ivCacheValue = 0n

/** IV of the 2025 variant: SHA-256 over the keys as int64 LE, read big-endian, mod 2^63 − 1. */
export function synthidIv2025(keys: readonly number[]): bigint {
  const cacheKey = keys.join(',')
  if (cacheKey === ivCacheKey) return ivCacheValue
  const bytes = new Uint8Array(8 * keys.length)
  const view = new DataView(bytes.buffer)
  for (let i = 0; i < keys.length; i++) {
    if (!Number.isSafeInteger(keys[i])) throw new RangeError(`synthid: key ${keys[i]} is not a safe integer`)
    view.setBigInt64(8 * i, BigInt(keys[i]), true)
  }
  const hex = `0x${toHex(sha256(bytes))}`
  ivCacheKey = cacheKey
  ivCacheValue = BigInt(hex) % INT64_MAX
  return ivCacheValue
}

/** h0 of the hash chain for a variant. */
export function synthidInitialHash(variant: SynthidVariant, keys: readonly number[]): bigint {
  return variant === 'table' ? 1n : synthidIv2025(keys)
}

/** Hash of the n−1 context tokens: the value SynthID keeps in its context history. */
export function synthidContextHash(
  variant: SynthidVariant,
  keys: readonly number[],
  context: readonly number[],
): bigint {
  return accumulateHash(synthidInitialHash(variant, keys), context)
}

// ---- Fast int64 on two uint32 halves, no allocation. Results land in rLo / rHi. ----

const M_LO = 0x4c957f2d
const M_HI = 0x5851f42d
const M_LO_0 = M_LO & 0xffff
const M_LO_1 = M_LO >>> 16
let rLo = 0
let rHi = 0

// (x + d) * MULT + 1 mod 2^64; halves are uint32.
function lcg(xLo: number, xHi: number, dLo: number, dHi: number): void {
  let lo = xLo + dLo
  const carry = lo > 0xffffffff ? 1 : 0
  lo >>>= 0
  const hi = (xHi + dHi + carry) >>> 0
  // Full 32×32 → 64 product lo·M_LO from 16-bit limbs (each partial product is exact in a double).
  const a0 = lo & 0xffff
  const a1 = lo >>> 16
  const p00 = a0 * M_LO_0
  const p01 = a0 * M_LO_1
  const p10 = a1 * M_LO_0
  const p11 = a1 * M_LO_1
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
  let outLo = (mid & 0xffff) * 65536 + (p00 & 0xffff)
  let outHi = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(lo, M_HI) + Math.imul(hi, M_LO)
  outLo += 1
  if (outLo === 0x100000000) {
    outLo = 0
    outHi += 1
  }
  rLo = outLo
  rHi = outHi >>> 0
}

function splitLo(x: bigint): number {
  return lowU32(x)
}

function splitHi(x: bigint): number {
  return lowU32(x >> 32n)
}

function joinHalves(lo: number, hi: number): bigint {
  return wrapInt64((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0))
}

// Token ids are data; they must be non-negative int32 to take the cheap split (dHi = 0).
function checkToken(t: number): void {
  if (!(Number.isInteger(t) && t >= 0 && t <= 0x7fffffff)) throw new RangeError(`synthid: bad token id ${t}`)
}

// g from a per-layer key hash held in (lo, hi): lcg(k, 1) then an arithmetic >> 5, 12 times, then bit 30.
// The hot loop of generation, so lcg is inlined on locals here (module-level result slots are slow).
function g2025(lo: number, hi: number): number {
  for (let r = 0; r < ROUNDS_2025; r++) {
    // k + 1
    lo += 1
    if (lo === 0x100000000) {
      lo = 0
      hi = (hi + 1) | 0
    }
    // (k + 1) · MULT, low 64 bits; lo · M_LO needs its high word, from 16-bit limbs.
    const a0 = lo & 0xffff
    const a1 = lo >>> 16
    const p00 = a0 * M_LO_0
    const p01 = a0 * M_LO_1
    const p10 = a1 * M_LO_0
    const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
    let pLo = (mid & 0xffff) * 65536 + (p00 & 0xffff)
    let pHi =
      a1 * M_LO_1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(lo, M_HI) + Math.imul(hi, M_LO)
    // + 1
    pLo += 1
    if (pLo === 0x100000000) {
      pLo = 0
      pHi += 1
    }
    // Arithmetic shift right of the int64 by 5 (`| 0` and `<<` reduce pHi mod 2^32 first).
    lo = ((pLo >>> SHIFT_2025) | (pHi << (32 - SHIFT_2025))) >>> 0
    hi = (pHi | 0) >> SHIFT_2025
  }
  return (lo >>> 30) & 1
}

interface KeyHalves {
  lo: Uint32Array
  hi: Uint32Array
}

function keyHalves(keys: readonly number[]): KeyHalves {
  const lo = new Uint32Array(keys.length)
  const hi = new Uint32Array(keys.length)
  for (let l = 0; l < keys.length; l++) {
    if (!Number.isSafeInteger(keys[l])) throw new RangeError(`synthid: key ${keys[l]} is not a safe integer`)
    const k = BigInt(keys[l])
    lo[l] = splitLo(k)
    hi[l] = splitHi(k)
  }
  return { lo, hi }
}

// Writes depth g-values for candidate hash (cLo, cHi) at out[offset..offset+depth).
function fillG(
  variant: SynthidVariant,
  kh: KeyHalves,
  cLo: number,
  cHi: number,
  out: Uint8Array,
  offset: number,
  table: Uint8Array | undefined,
): void {
  const depth = kh.lo.length
  if (variant === 'table') {
    // Only the low 16 bits of the key hash are used, and they depend only on low bits of the inputs.
    for (let l = 0; l < depth; l++) {
      const k = (Math.imul((cLo + kh.lo[l]) | 0, M_LO) + 1) & 0xffff
      out[offset + l] = table![k]
    }
    return
  }
  for (let l = 0; l < depth; l++) {
    lcg(cLo, cHi, kh.lo[l], kh.hi[l])
    out[offset + l] = g2025(rLo, rHi)
  }
}

/** One g per layer for an n-gram (context tokens then the candidate token). */
export function synthidGValues(
  variant: SynthidVariant,
  keys: readonly number[],
  ngram: readonly number[],
): Uint8Array {
  const h0 = synthidInitialHash(variant, keys)
  let lo = splitLo(h0)
  let hi = splitHi(h0)
  for (const t of ngram) {
    checkToken(t)
    lcg(lo, hi, t, 0)
    lo = rLo
    hi = rHi
  }
  const out = new Uint8Array(keys.length)
  fillG(variant, keyHalves(keys), lo, hi, out, 0, variant === 'table' ? synthidTable() : undefined)
  return out
}

/**
 * g-values of every candidate 0..vocabSize−1 after a fixed context, for generation.
 * Returns vocabSize × depth, row-major by candidate. Pass `out` to reuse a buffer across steps.
 */
export function synthidGValuesForCandidates(
  variant: SynthidVariant,
  keys: readonly number[],
  context: readonly number[],
  vocabSize: number,
  out?: Uint8Array,
): Uint8Array {
  if (!(Number.isInteger(vocabSize) && vocabSize > 0 && vocabSize <= 0x80000000)) {
    throw new RangeError(`synthid: bad vocabSize ${vocabSize}`)
  }
  return synthidGValuesForTokens(
    variant,
    keys,
    context,
    allIds(vocabSize),
    out ?? new Uint8Array(vocabSize * keys.length),
  )
}

let idsCache = new Int32Array(0)
/** 0 … n − 1, shared between calls (the candidate list of a full-vocabulary step). */
function allIds(n: number): Int32Array {
  if (idsCache.length < n) idsCache = Int32Array.from({ length: n }, (_, i) => i)
  return idsCache.subarray(0, n)
}

/**
 * g-values of the given candidate tokens after a fixed context (e.g. synthid-text's top-k path):
 * tokens.length × depth, row-major in the order of `tokens`.
 */
export function synthidGValuesForTokens(
  variant: SynthidVariant,
  keys: readonly number[],
  context: readonly number[],
  tokens: ArrayLike<number>,
  out?: Uint8Array,
): Uint8Array {
  const depth = keys.length
  const res = out ?? new Uint8Array(tokens.length * depth)
  if (res.length < tokens.length * depth) throw new RangeError('synthid: output buffer too small')
  for (const t of context) checkToken(t)
  const ctx = synthidContextHash(variant, keys, context)
  const ctxLo = splitLo(ctx)
  const ctxHi = splitHi(ctx)
  const kh = keyHalves(keys)
  const table = variant === 'table' ? synthidTable() : undefined
  for (let i = 0; i < tokens.length; i++) {
    checkToken(tokens[i])
    lcg(ctxLo, ctxHi, tokens[i], 0)
    fillG(variant, kh, rLo, rHi, res, i * depth, table)
  }
  return res
}

/**
 * g-values of every full n-gram of a token sequence (SynthID compute_g_values):
 * (ids.length − ngramLen + 1) × depth, row-major by position; empty when the text is too short.
 */
export function synthidGValuesForSequence(
  variant: SynthidVariant,
  keys: readonly number[],
  ids: readonly number[],
  ngramLen: number,
): Uint8Array {
  const depth = keys.length
  const n = Math.max(0, ids.length - ngramLen + 1)
  const out = new Uint8Array(n * depth)
  if (n === 0) return out
  for (const t of ids) checkToken(t)
  const h0 = synthidInitialHash(variant, keys)
  const h0Lo = splitLo(h0)
  const h0Hi = splitHi(h0)
  const kh = keyHalves(keys)
  const table = variant === 'table' ? synthidTable() : undefined
  for (let p = 0; p < n; p++) {
    let lo = h0Lo
    let hi = h0Hi
    for (let j = 0; j < ngramLen; j++) {
      lcg(lo, hi, ids[p + j], 0)
      lo = rLo
      hi = rHi
    }
    fillG(variant, kh, lo, hi, out, p * depth, table)
  }
  return out
}

/**
 * Context hashes (h0 chained over ids[p..p+ngramLen−2]) for every full n-gram position p, as used by
 * compute_context_repetition_mask. Length max(0, ids.length − ngramLen + 1).
 */
export function synthidContextHashesForSequence(
  variant: SynthidVariant,
  keys: readonly number[],
  ids: readonly number[],
  ngramLen: number,
): bigint[] {
  const n = Math.max(0, ids.length - ngramLen + 1)
  const out: bigint[] = new Array(n)
  const h0 = synthidInitialHash(variant, keys)
  for (let p = 0; p < n; p++) out[p] = accumulateHash(h0, ids.slice(p, p + ngramLen - 1))
  return out
}
