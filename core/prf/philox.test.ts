import { describe, expect, it } from 'vitest'
import { loadVectors } from '../../test/vectors.ts'
import {
  deriveWatermarkKey,
  mulhi32,
  philox4x32_10,
  philoxContextState,
  philoxTokenWord,
  philoxUniform,
  philoxUniformFor,
  splitKey,
} from './philox.ts'

const v = loadVectors('vllm.json')
const hex = (words: ArrayLike<number>) =>
  Array.from(words, (w) => `0x${(w >>> 0).toString(16).padStart(8, '0')}`)

describe('Philox4x32-10 (vLLM philox4x32-10-v1 golden vectors)', () => {
  it('mulhi32 is exact', () => {
    for (const [a, b] of [
      [0xffffffff, 0xffffffff],
      [0xd2511f53, 0x12345678],
      [1, 1],
      [0, 0xffffffff],
    ]) {
      expect(mulhi32(a, b)).toBe(Number((BigInt(a) * BigInt(b)) >> 32n))
    }
  })
  it('block function known answers', () => {
    for (const c of v.philox4x32_10_block) {
      const out = philox4x32_10(
        c.counter[0],
        c.counter[1],
        c.counter[2],
        c.counter[3],
        c.key[0],
        c.key[1],
        new Uint32Array(4),
      )
      expect(Array.from(out)).toEqual(c.output)
    }
  })
  it('PRF words, context states and uniforms', () => {
    for (const c of v.prf_words) {
      const key = splitKey(BigInt(c.key_str))
      expect(hex([key.k0, key.k1])).toEqual(c.key_words_hex)
      const state = philoxContextState(key, c.context.length, (i) => c.context[i], new Uint32Array(4))
      expect(hex(state)).toEqual(c.context_state_hex)
      const word = philoxTokenWord(key, state, c.token)
      expect(word).toBe(c.word)
      expect(word >>> 8).toBe(c.mantissa24)
      const u = philoxUniform(word)
      expect(u).toBe(c.uniform)
      const f = new Float32Array([u])
      expect(hex(new Uint32Array(f.buffer))[0]).toBe(c.uniform_f32_hex)
    }
  })
  it('red/green membership and Gumbel uniforms', () => {
    for (const c of v.red_green_membership) {
      const u = philoxUniformFor(splitKey(BigInt(c.key_str)), c.context, c.token)
      expect(u).toBe(c.uniform)
      expect(u < Math.fround(c.gamma)).toBe(c.green)
    }
    for (const c of v.gumbel_uniforms) {
      const u = philoxUniformFor(splitKey(BigInt(c.key_str)), c.context, c.token)
      expect(u).toBe(c.uniform)
      expect(Math.fround(-Math.log(Math.fround(-Math.log(u))))).toBeCloseTo(c.gumbel_noise_f32, 6)
      expect(-Math.log1p(-u)).toBeCloseTo(c.detector_token_score, 14)
    }
  })
  it('dual-key derivation', () => {
    for (const c of v.derive_watermark_key) {
      expect(deriveWatermarkKey(BigInt(c.key_str), c.domain).toString()).toBe(c.derived_str)
    }
  })
  it('rejects keys outside [0, 2^64 − 1]', () => {
    expect(() => splitKey(-1n)).toThrow(RangeError)
    expect(() => splitKey(1n << 64n)).toThrow(RangeError)
  })
})
