// The worker inside workerd: module-scope WASM kernel, tokenizer, routes and error envelope.
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'

// The key is random per run; at vLLM's default p <= 0.01 one run in a hundred would call this human
// text watermarked. At 1e-9 a false call means a real bug.
const STRICT = { pValueThreshold: 1e-9 }

const post = (path: string, body: unknown, key?: string) =>
  SELF.fetch(`http://lab.test${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  })

describe('worker in workerd', () => {
  it('runs in the Workers runtime', () => {
    expect(navigator.userAgent).toBe('Cloudflare-Workers')
  })
  it('bootstraps a tenant, creates a key and detects text', async () => {
    const t = await post('/admin/tenants', { name: 'edge' }, 'dev-admin-token')
    expect(t.status).toBe(201)
    const { apiKey } = (await t.json()) as { apiKey: string }
    const k = await post('/v1/keys', { scheme: 'vllm-gumbel', tokenizer: 'qwen3', params: STRICT }, apiKey)
    expect(k.status).toBe(201)
    const d = await post(
      '/v1/detect',
      { text: 'The Fulton County Grand Jury said Friday an investigation took place.' },
      apiKey,
    )
    expect(d.status).toBe(200)
    const r = (await d.json()) as { watermarked: boolean; tokens: number; scored: number }
    expect(r.watermarked).toBe(false)
    expect(r.tokens).toBeGreaterThan(10)
    expect(r.scored).toBe(r.tokens)
  })
  it('answers bad input with the error envelope, never a 500', async () => {
    const r = await SELF.fetch('http://lab.test/v1/detect', {
      method: 'POST',
      headers: { authorization: 'Bearer x' },
      body: '{',
    })
    expect(r.status).toBe(401)
    const body = (await r.json()) as { error: { code: string } }
    expect(body.error.code).toBe('unauthorized')
  })
  it('serves health and the OpenAPI document', async () => {
    expect((await SELF.fetch('http://lab.test/health')).status).toBe(200)
    const doc = (await (await SELF.fetch('http://lab.test/openapi.json')).json()) as {
      paths: Record<string, unknown>
    }
    expect(Object.keys(doc.paths)).toContain('/v1/detect')
  })
})
