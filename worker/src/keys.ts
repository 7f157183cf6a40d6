// Secrets: watermark key material is derived in the core (core/keys, shared with the origin) — never
// stored, returned or logged. API keys are stored as SHA-256 hashes only.

export { constantTimeEqual as timingSafeEqualHex } from '../../core/keys/request-signing.ts'
export { newId, sha256Hex } from '../../core/keys/hex.ts'
export { deriveKeyMaterial } from '../../core/keys/watermark-key.ts'

/** A new API key: `wml_` + 32 random bytes base64url; only its hash is stored. */
export function newApiKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return `wml_${btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`
}
