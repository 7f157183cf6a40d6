// GPT-2 byte-level alphabet: printable bytes stand for themselves, the other 68 bytes for
// U+0100 + n in byte order. Byte-level BPE vocabularies are written in this alphabet.

/** BYTE_TO_CHAR[b] is the alphabet code unit for byte b. */
export const BYTE_TO_CHAR: Uint16Array = (() => {
  const t = new Uint16Array(256)
  let n = 0
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)
    t[b] = printable ? b : 256 + n++
  }
  return t
})()

/** CHAR_TO_BYTE[c] is the byte for alphabet code unit c (< 0x144), or -1 outside the alphabet. */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const t = new Int16Array(0x144).fill(-1)
  for (let b = 0; b < 256; b++) t[BYTE_TO_CHAR[b]] = b
  return t
})()

/** Bytes of an alphabet string, or null when a character is outside the alphabet. */
export function alphabetToBytes(s: string): Uint8Array | null {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    const b = c < 0x144 ? CHAR_TO_BYTE[c] : -1
    if (b < 0) return null
    out[i] = b
  }
  return out
}

/**
 * Bytes as the reference ByteLevel decoder produces them: a character outside the alphabet
 * becomes byte 0 (its table lookup is undefined, which a Uint8Array stores as 0).
 */
export function alphabetToBytesLoose(s: string): Uint8Array {
  const chars = Array.from(s)
  const out = new Uint8Array(chars.length)
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i].codePointAt(0) as number
    const b = c < 0x144 ? CHAR_TO_BYTE[c] : -1
    out[i] = Math.max(b, 0)
  }
  return out
}
