// Lower-case hex, and the hashes, ids and random tokens written with it. WebCrypto only, so the same
// in Workers, browsers and Node. These run several times on every request.

const DIGITS = new TextEncoder().encode('0123456789abcdef')
const ascii = new TextDecoder()

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const src = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)
  // One buffer and one string: concatenating a digit pair per byte left 32 garbage strings per hash.
  const out = new Uint8Array(src.length * 2)
  for (let i = 0; i < src.length; i++) {
    out[2 * i] = DIGITS[src[i]! >> 4]!
    out[2 * i + 1] = DIGITS[src[i]! & 15]!
  }
  return ascii.decode(out)
}

/** `bytes` random bytes (crypto.getRandomValues) as hex. */
export function randomHex(bytes: number): string {
  return toHex(crypto.getRandomValues(new Uint8Array(bytes)))
}

const encoder = new TextEncoder()

/** Hex SHA-256 of the UTF-8 text. */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-256', encoder.encode(text)))
}

/** `prefix_` + 24 hex digits (96 random bits): the id format of every stored row. */
export function newId(prefix: string): string {
  return `${prefix}_${randomHex(12)}`
}
