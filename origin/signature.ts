// Middleware that admits only requests the edge signed (core/keys/request-signing.ts): HMAC over
// method, path, timestamp, nonce and body hash; stale timestamps and replayed nonces are refused.
// ORIGIN_ALLOW_UNSIGNED=1 turns the check off for local development only.
import type { MiddlewareHandler } from 'hono'
import { NonceCache, type SignatureFailure, verifyRequest } from '../core/keys/request-signing.ts'
import { ApiError, ERROR_CODES, type ErrorCode } from './errors.ts'

export interface SignatureOptions {
  /** ORIGIN_SIGNING_SECRET; required unless allowUnsigned. */
  secret?: string
  allowUnsigned?: boolean
  /** Clock for the staleness check (tests). */
  now?: () => number
}

const FAILURES: Record<SignatureFailure, [ErrorCode, string]> = {
  missing: [ERROR_CODES.unsigned, 'this origin answers only requests signed by the edge'],
  invalid: [ERROR_CODES.badSignature, 'the request signature does not match its method, path and body'],
  stale: [ERROR_CODES.staleRequest, 'the request timestamp is outside the accepted clock skew'],
  replayed: [ERROR_CODES.replayedRequest, 'this request was already received'],
}

/**
 * Verifies each request's signature before its body is parsed.
 *
 * @example
 * app.use('/v1/*', requireSignature({ secret: process.env.ORIGIN_SIGNING_SECRET }))
 */
export function requireSignature(options: SignatureOptions): MiddlewareHandler {
  const { secret, allowUnsigned = false, now = Date.now } = options
  if (allowUnsigned)
    return async function allowUnsignedRequests(_c, next) {
      await next()
    }
  if (!secret || secret.length < 16)
    throw new Error(
      'ORIGIN_SIGNING_SECRET (at least 16 characters) is required unless ORIGIN_ALLOW_UNSIGNED=1',
    )
  const nonces = new NonceCache()
  return async function verifySignature(c, next) {
    const url = new URL(c.req.url)
    // the body is read once here; Hono caches it for the handler
    const body = await c.req.text()
    const failure = await verifyRequest(
      secret,
      c.req.method,
      `${url.pathname}${url.search}`,
      body,
      c.req.raw.headers,
      nonces,
      now(),
    )
    if (failure) {
      const [code, message] = FAILURES[failure]
      throw new ApiError(401, code, message)
    }
    await next()
  }
}
