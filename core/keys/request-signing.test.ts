import { describe, expect, it } from 'vitest'
import { NonceCache, signRequest, verifyRequest } from './request-signing.ts'

const SECRET = 'origin-signing-secret-for-tests'
const body = JSON.stringify({ prompt: 'The jury said', max_tokens: 20 })

async function check(
  h: Record<string, string>,
  overrides: { body?: string; path?: string; now?: number } = {},
) {
  return verifyRequest(
    SECRET,
    'POST',
    overrides.path ?? '/v1/generate',
    overrides.body ?? body,
    new Headers(h),
    new NonceCache(),
    overrides.now,
  )
}

describe('request signing', () => {
  it('accepts a fresh signed request once and rejects its replay', async () => {
    const h = await signRequest(SECRET, 'POST', '/v1/generate', body)
    const nonces = new NonceCache()
    expect(await verifyRequest(SECRET, 'POST', '/v1/generate', body, new Headers(h), nonces)).toBeNull()
    expect(await verifyRequest(SECRET, 'POST', '/v1/generate', body, new Headers(h), nonces)).toBe('replayed')
  })
  it('rejects a tampered body, another path, another secret, a stale timestamp and missing headers', async () => {
    const h = await signRequest(SECRET, 'POST', '/v1/generate', body)
    expect(await check(h, { body: body.replace('20', '2000') })).toBe('invalid')
    expect(await check(h, { path: '/v1/score' })).toBe('invalid')
    const other = await signRequest('another-secret-entirely', 'POST', '/v1/generate', body)
    expect(await check(other)).toBe('invalid')
    const old = await signRequest(SECRET, 'POST', '/v1/generate', body, Date.now() - 5 * 60_000)
    expect(await check(old)).toBe('stale')
    expect(await check({})).toBe('missing')
  })
})
