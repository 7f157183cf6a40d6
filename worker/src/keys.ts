// Secrets: watermark key material is derived in the core (core/keys, shared with the origin) — never
// stored, returned or logged. API keys are stored as SHA-256 hashes only.

const enc = new TextEncoder()

export { constantTimeEqual as timingSafeEqualHex } from '../../core/keys/request-signing.ts'
export { deriveKeyMaterial } from '../../core/keys/watermark-key.ts'

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', enc.encode(text))
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')
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
