// Lower-case hex, and the hashes, ids and random tokens written with it. WebCrypto only, so the same
// in Workers, browsers and Node. One table lookup per byte: these run on every request.

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'))

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  let out = ''
  for (const b of bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)) out += HEX[b]
  return out
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
