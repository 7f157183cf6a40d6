// Edge → origin request signing: HMAC-SHA256 over method, path, timestamp, nonce and the body's
// SHA-256, sent in headers. The origin rejects stale timestamps and replayed nonces, so a captured
// request cannot be sent again and a changed body or path fails the check.
import { toHex } from './hex.ts'

const enc = new TextEncoder()

export const SIGNATURE_HEADERS = {
  timestamp: 'x-wmlab-timestamp',
  nonce: 'x-wmlab-nonce',
  signature: 'x-wmlab-signature',
} as const

/** How far a request's timestamp may be from the origin's clock. */
export const MAX_CLOCK_SKEW_MS = 60_000

async function hmacHex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    enc.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  )
  return toHex(await crypto.subtle.sign('HMAC', key, enc.encode(message)))
}

async function canonical(method: string, path: string, timestamp: string, nonce: string, body: string) {
  const bodyHash = toHex(await crypto.subtle.digest('SHA-256', enc.encode(body)))
  return `${method.toUpperCase()}\n${path}\n${timestamp}\n${nonce}\n${bodyHash}`
}

/** Headers that sign one request. `path` includes the query string, if any. */
export async function signRequest(
  secret: string,
  method: string,
  path: string,
  body: string,
  now = Date.now(),
): Promise<Record<string, string>> {
  const timestamp = String(now)
  const nonce = toHex(crypto.getRandomValues(new Uint8Array(16)).buffer as ArrayBuffer)
  const signature = await hmacHex(secret, await canonical(method, path, timestamp, nonce, body))
  return {
    [SIGNATURE_HEADERS.timestamp]: timestamp,
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.signature]: signature,
  }
}

export type SignatureFailure = 'missing' | 'stale' | 'replayed' | 'invalid'

/** Remembers nonces for the skew window; a nonce seen twice in it is a replay. */
export class NonceCache {
  private readonly seen = new Map<string, number>()
  constructor(private readonly windowMs = 2 * MAX_CLOCK_SKEW_MS) {}
  /** True the first time a nonce is offered. */
  claim(nonce: string, now = Date.now()): boolean {
    if (this.seen.size > 10_000)
      for (const [n, t] of this.seen) if (now - t > this.windowMs) this.seen.delete(n)
    if (this.seen.has(nonce)) return false
    this.seen.set(nonce, now)
    return true
  }
}

/** Checks a signed request; null when it is good. The nonce is claimed only for a valid signature. */
export async function verifyRequest(
  secret: string,
  method: string,
  path: string,
  body: string,
  headers: { get(name: string): string | null },
  nonces: NonceCache,
  now = Date.now(),
): Promise<SignatureFailure | null> {
  const timestamp = headers.get(SIGNATURE_HEADERS.timestamp)
  const nonce = headers.get(SIGNATURE_HEADERS.nonce)
  const signature = headers.get(SIGNATURE_HEADERS.signature)
  if (!timestamp || !nonce || !signature) return 'missing'
  const ts = Number(timestamp)
  if (!/^\d{1,16}$/.test(timestamp) || Math.abs(now - ts) > MAX_CLOCK_SKEW_MS) return 'stale'
  const expected = await hmacHex(secret, await canonical(method, path, timestamp, nonce, body))
  if (!constantTimeEqual(expected, signature.toLowerCase())) return 'invalid'
  if (!nonces.claim(nonce, now)) return 'replayed'
  return null
}

/** Constant-time comparison of two strings of equal length (hex digests). */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}
