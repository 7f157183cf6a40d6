import { describe, expect, it } from 'vitest'
import { newId, randomHex, sha256Hex, toHex } from './hex.ts'

describe('hex', () => {
  it('writes every byte value as two lower-case digits', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i)
    const hex = toHex(all)
    expect(hex).toHaveLength(512)
    expect(hex.slice(0, 6)).toBe('000102')
    expect(hex.slice(-4)).toBe('feff')
    expect(toHex(all.buffer)).toBe(hex)
  })

  it('hashes UTF-8 text like the SHA-256 test vectors', async () => {
    expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(await sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  })

  it('makes random tokens and ids of the documented shape', () => {
    expect(randomHex(8)).toMatch(/^[0-9a-f]{16}$/)
    expect(newId('dt')).toMatch(/^dt_[0-9a-f]{24}$/)
    expect(new Set(Array.from({ length: 100 }, () => newId('x'))).size).toBe(100)
  })
})
