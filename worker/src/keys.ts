// Secrets: watermark key material is derived (HKDF-SHA256, WebCrypto) from a master secret and the
// key id — never stored, returned or logged. API keys are stored as SHA-256 hashes only.

const enc = new TextEncoder()

/** 64 bits of watermark key material for a key id; deterministic for (master secret, key id). */
export async function deriveKeyMaterial(masterSecret: string, keyId: string): Promise<bigint> {
  if (masterSecret.length < 16) throw new Error('WATERMARK_MASTER_SECRET must be at least 16 characters')
  const ikm = await crypto.subtle.importKey('raw', enc.encode(masterSecret), 'HKDF', false, ['deriveBits'])
  const bits = await crypto.subtle.deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: enc.encode('wmlab/watermark-key/v1'), info: enc.encode(keyId) },
    ikm,
    64,
  )
  return new DataView(bits).getBigUint64(0, false)
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', enc.encode(text))
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Constant-time comparison of two hex digests of equal length. */
export function timingSafeEqualHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

/** A new API key: `wml_` + 32 random bytes base64url; only its hash is stored. */
export function newApiKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return `wml_${btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`
}

export function newId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12))
  return `${prefix}_${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}
