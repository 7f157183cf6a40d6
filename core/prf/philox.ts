// Philox4x32-10 keyed PRF exactly as vLLM's native watermarking uses it
// (vllm/v1/watermarking/prfs/philox.py, version tag `philox4x32-10-v1`).
// Integer-only, so generation on any device and detection at the edge agree bit for bit.
import { sha256 } from '@noble/hashes/sha2.js'

export const PHILOX_VERSION = 'philox4x32-10-v1'

const M0 = 0xd2511f53
const M1 = 0xcd9e8d57
const W0 = 0x9e3779b9
const W1 = 0xbb67ae85
const CONTEXT_DOMAIN = 0x574d4358 // "WMCX"
const TOKEN_DOMAIN = 0x574d544b // "WMTK"

/** High 32 bits of the 64-bit product of two u32 (16-bit split keeps every step exact in doubles). */
export function mulhi32(a: number, b: number): number {
  const aLo = a & 0xffff
  const aHi = a >>> 16
  const bLo = b & 0xffff
  const bHi = b >>> 16
  const lolo = aLo * bLo
  const mid1 = aHi * bLo
  const mid2 = aLo * bHi
  const carry = ((lolo >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff)) >>> 16
  return (aHi * bHi + (mid1 >>> 16) + (mid2 >>> 16) + carry) >>> 0
}

/** Random123 Philox4x32 with 10 rounds. Writes the 4 output words into `out`. */
export function philox4x32_10(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
): Uint32Array {
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi32(M0, c0)
    const lo0 = Math.imul(M0, c0) >>> 0
    const hi1 = mulhi32(M1, c2)
    const lo1 = Math.imul(M1, c2) >>> 0
    const n0 = (hi1 ^ c1 ^ k0) >>> 0
    const n2 = (hi0 ^ c3 ^ k1) >>> 0
    c0 = n0
    c1 = lo1
    c2 = n2
    c3 = lo0
    if (r !== 9) {
      k0 = (k0 + W0) >>> 0
      k1 = (k1 + W1) >>> 0
    }
  }
  out[0] = c0
  out[1] = c1
  out[2] = c2
  out[3] = c3
  return out
}

/** A 64-bit watermark key as vLLM splits it: k0 = low word, k1 = high word. */
export interface PhiloxKey {
  k0: number
  k1: number
}

export function splitKey(key: bigint): PhiloxKey {
  if (key < 0n || key > 0xffffffffffffffffn) throw new RangeError('watermark key must be in [0, 2^64 − 1]')
  return { k0: Number(key & 0xffffffffn), k1: Number(key >> 32n) }
}

/**
 * Absorbs `width` context ids (oldest first; −1 = before the completion) into a 4-word state,
 * four ids per Philox call; pad slots of a partial block are 0xFFFFFFFF − i.
 * `context(i)` returns the i-th context id.
 */
export function philoxContextState(
  key: PhiloxKey,
  width: number,
  context: (i: number) => number,
  out: Uint32Array,
): Uint32Array {
  let s0 = CONTEXT_DOMAIN
  let s1 = width >>> 0
  let s2 = 0
  let s3 = 0
  for (let off = 0; off < width; off += 4) {
    const b0 = off < width ? context(off) >>> 0 : 0xffffffff
    const b1 = off + 1 < width ? context(off + 1) >>> 0 : 0xfffffffe
    const b2 = off + 2 < width ? context(off + 2) >>> 0 : 0xfffffffd
    const b3 = off + 3 < width ? context(off + 3) >>> 0 : 0xfffffffc
    philox4x32_10(s0 ^ b0, s1 ^ b1, s2 ^ b2, s3 ^ b3, (key.k0 ^ off) >>> 0, key.k1, out)
    s0 = out[0]
    s1 = out[1]
    s2 = out[2]
    s3 = out[3]
  }
  out[0] = s0
  out[1] = s1
  out[2] = s2
  out[3] = s3
  return out
}

const scratch = new Uint32Array(4)

/** The PRF word of candidate `token` under an absorbed context state; tokens 4g..4g+3 share one call. */
export function philoxTokenWord(key: PhiloxKey, state: Uint32Array, token: number): number {
  const t = token >>> 0
  philox4x32_10(
    t >>> 2,
    state[0],
    state[1],
    state[2],
    (key.k0 ^ state[3]) >>> 0,
    (key.k1 ^ TOKEN_DOMAIN) >>> 0,
    scratch,
  )
  return scratch[t & 3]
}

/** Top 24 bits of the word as a float32 in (0, 1): ((w >>> 8) + 1) / (2^24 + 1). Never 0 or 1. */
export function philoxUniform(word: number): number {
  return Math.fround(((word >>> 8) + 1) / 16777217)
}

/** Convenience: the uniform for (key, context oldest-first, token). */
export function philoxUniformFor(key: PhiloxKey, context: readonly number[], token: number): number {
  const state = philoxContextState(key, context.length, (i) => context[i], new Uint32Array(4))
  return philoxUniform(philoxTokenWord(key, state, token))
}

/** Uniforms of every candidate 0 … out.length − 1 after one context: the generation side's PRF row. */
export function philoxUniformsForCandidates(
  key: PhiloxKey,
  context: readonly number[],
  out: Float32Array,
): Float32Array {
  const state = philoxContextState(key, context.length, (i) => context[i], new Uint32Array(4))
  for (let v = 0; v < out.length; v++) out[v] = philoxUniform(philoxTokenWord(key, state, v))
  return out
}

/** vLLM derive_watermark_key: first 8 bytes (big-endian) of SHA-256(domain ‖ key as 8 bytes big-endian). */
export function deriveWatermarkKey(key: bigint, domain: 'key_a' | 'key_b'): bigint {
  const d = new TextEncoder().encode(domain)
  const msg = new Uint8Array(d.length + 8)
  msg.set(d)
  new DataView(msg.buffer).setBigUint64(d.length, key, false)
  return new DataView(sha256(msg).buffer).getBigUint64(0, false)
}
