// Unicode edge cases in detection: right-to-left text and bidi controls, combining marks, emoji ZWJ
// sequences, mixed scripts and homoglyphs, and a megabyte of one character. Each request must give
// either the correct result — exactly what the core computes on the normalised text with the same key
// — or the clean rejection the limits call for (413 over the body limit or the token limit, 400 over
// the text length, 422 for text that normalises to nothing), within a time bound.
import { beforeAll, describe, expect, it } from 'vitest'
import { loadTokenizer } from '../../cli/tokenizers-node.ts'
import { normalizeWithReport } from '../../core/text/normalize.ts'
import { loadWasmKernel } from '../../wasm/node.ts'
import { buildScheme } from '../../worker/src/detection.ts'
import type { WatermarkKeyRecord } from '../../worker/src/store.ts'
import { generate } from '../simulated-lm.ts'
import { type App, call, createApp, envelopeProblems, memoryDeps, newTenant } from './harness.ts'

const deps = memoryDeps() // production limits: 1 MiB bodies, 16,384 tokens
const app: App = createApp(deps)
const MAX_TEXT = 200_000 // DetectRequestSchema: text.max, in code points (as JSON Schema's maxLength)
const BOUND_MS = 15_000
const OPTIONS = { dedup: true, perToken: true, windowed: false, normalize: true }

const tenants: Record<string, { apiKey: string; key: WatermarkKeyRecord }> = {}

beforeAll(async () => {
  for (const tokenizer of ['qwen3', 'llama3']) {
    const apiKey = await newTenant(app, `unicode ${tokenizer}`)
    const r = await call(app, 'POST', '/v1/keys', {
      key: apiKey,
      body: { scheme: 'kgw-lefthash', tokenizer },
    })
    expect(r.status).toBe(201)
    tenants[tokenizer] = { apiKey, key: { ...r.body, tenantId: 'unused' } }
  }
})

type Expected =
  | { status: 200; tokens: number; removedInvisible: number; foldedHomoglyphs: number; normalized: string }
  | { status: 400 | 413 | 422; code: string }

/** What the limits and the core say the answer must be for this text. */
function expected(text: string, tokenizer: string): Expected {
  const bytes = Buffer.byteLength(JSON.stringify({ text, options: OPTIONS }))
  if (bytes > deps.maxBodyBytes) return { status: 413, code: 'payload_too_large' }
  if ([...text].length > MAX_TEXT) return { status: 400, code: 'invalid_request' }
  const n = normalizeWithReport(text)
  if (n.text.trim() === '') return { status: 422, code: 'empty_text' }
  const ids = loadTokenizer(tokenizer).encode(n.text)
  if (ids.length > deps.maxTokens) return { status: 413, code: 'too_many_tokens' }
  return {
    status: 200,
    tokens: ids.length,
    removedInvisible: n.removedInvisible,
    foldedHomoglyphs: n.foldedHomoglyphs,
    normalized: n.text,
  }
}

/** Detects `text` through the API and checks the answer against `expected` and the core. */
async function check(text: string, tokenizer = 'qwen3') {
  const { apiKey, key } = tenants[tokenizer]
  const t0 = performance.now()
  const r = await call(app, 'POST', '/v1/detect', { key: apiKey, body: { text, options: OPTIONS } })
  const ms = performance.now() - t0
  expect(ms, `answered in ${ms.toFixed(0)} ms`).toBeLessThan(BOUND_MS)
  const want = expected(text, tokenizer)
  expect(r.status, r.text.slice(0, 300)).toBe(want.status)
  if (want.status !== 200) {
    expect(envelopeProblems(r)).toEqual([])
    expect(r.body.error.code).toBe(want.code)
    return r
  }
  expect(r.body.tokens).toBe(want.tokens)
  expect(r.body.normalization).toEqual({
    removedInvisible: want.removedInvisible,
    foldedHomoglyphs: want.foldedHomoglyphs,
  })
  // Per-token texts put back together are exactly the normalised text (no byte lost or invented
  // where a token boundary falls inside a multi-byte character); lone surrogates read as U+FFFD.
  expect(r.body.perToken.map((t: { text: string }) => t.text).join('')).toBe(
    Buffer.from(want.normalized).toString(),
  )
  // The statistics are the core's on the same tokens with the same derived key.
  const tok = loadTokenizer(tokenizer)
  const scheme = await buildScheme(deps, key, tok, await loadWasmKernel())
  const core = scheme.detect(tok.encode(want.normalized), OPTIONS)
  expect(r.body.keyId).toBe(key.id)
  expect(r.body.scored).toBe(core.scored)
  expect(r.body.statistic).toBeCloseTo(core.statistic, 9)
  expect(r.body.logPValue).toBeCloseTo(core.logPValue, 9)
  expect(r.body.watermarked).toBe(core.watermarked)
  return r
}

const RTL = {
  arabic: 'مرحبا بالعالم، هذه جملة عربية قصيرة للاختبار.',
  hebrew: 'שלום עולם, זה משפט קצר בעברית לבדיקה.',
  persianDigits: 'سال ۱۴۰۳ و ۲۰۲۴ میلادی',
  bidiControls: 'abc \u202Eevil.exe\u202C \u2067שלום\u2069 \u200Fmark\u200E end',
}

describe('unicode in detection', () => {
  it.each(Object.entries(RTL))('right-to-left: %s', async (_name, text) => {
    for (const tokenizer of ['qwen3', 'llama3']) await check(text, tokenizer)
  })

  it('strips bidi controls before scoring and reports them', async () => {
    const r = await check(RTL.bidiControls)
    expect(r.body.normalization.removedInvisible).toBe(6)
  })

  it('combining marks: NFD and NFC spellings are the same text (the second is a cache hit)', async () => {
    const nfc = 'Café crème brûlée, naïve façade, Ångström, Øre, ñandú. '.repeat(4)
    const nfd = nfc.normalize('NFD')
    expect(nfd).not.toBe(nfc)
    const a = await check(nfc)
    const b = await check(nfd)
    expect(b.body.logPValue).toBe(a.body.logPValue)
    expect(b.body.tokens).toBe(a.body.tokens)
    expect(b.body.cache).toBe('hit')
  })

  it('combining marks: stacked (zalgo) marks and marks with no base', async () => {
    const zalgo = Array.from(
      'zalgo text here',
      (c) => c + '\u0300\u0301\u0302\u0303\u0304\u0305\u0306\u0307'.repeat(6),
    ).join('')
    await check(zalgo)
    await check('\u0301\u0302\u0303 orphan marks \u0308')
    await check('\u0915\u094D\u0937\u093F \u0E01\u0E33 \u1100\u1161\u11A8') // Devanagari conjunct, Thai, Hangul jamo
  })

  it('emoji ZWJ sequences, skin tones, flags and keycaps', async () => {
    const family = '👨\u200D👩\u200D👧\u200D👦'
    const r = await check(`${family} ${'👩🏽\u200D💻'} ${'🏳️\u200D🌈'} 🇺🇳🇯🇵 1\uFE0F\u20E3 ❤️`)
    // ZWJ (U+200D) and variation selectors (U+FE0F) are invisible: stripped and counted.
    expect(r.body.normalization.removedInvisible).toBe(3 + 1 + 2 + 1 + 1)
    for (const tokenizer of ['qwen3', 'llama3']) await check(family.repeat(50), tokenizer)
  })

  it('mixed scripts and homoglyphs', async () => {
    await check('Hello мир 世界 مرحبا שלום नमस्ते Γειά σου 🌍 — the end.')
    const spoofed = await check('Pl\u0435\u0430se v\u0435rify your p\u0430ypal \u0430ccount') // Cyrillic е, а
    expect(spoofed.body.normalization.foldedHomoglyphs).toBe(5)
    // Genuine Russian keeps its letters (folding applies only next to Latin).
    const russian = await check('Съешь же ещё этих мягких французских булок, да выпей чаю.')
    expect(russian.body.normalization.foldedHomoglyphs).toBe(0)
  })

  it('a watermarked text still detects when wrapped in RTL, emoji and combining-mark text', async () => {
    const { key } = tenants.qwen3
    const tok = loadTokenizer('qwen3')
    const scheme = await buildScheme(deps, key, tok)
    const text = tok.decode(generate(scheme, tok.logitsSize, 7, 150))
    const r = await check(`${RTL.arabic} ${'👨\u200D👩\u200D👧'} ${text} e\u0301\u0301 ${RTL.hebrew}`)
    expect(r.body.watermarked).toBe(true)
    expect(r.body.pValue).toBeLessThan(1e-6)
  })

  it('lone surrogates and control characters: a correct result or a clean 4xx', async () => {
    const r = await check('before \uD800 middle \uDFFF after \uDC00\uD83D')
    expect(r.status).toBe(200)
    await check('tab\tnewline\ncr\rnul\u0000bell\u0007del\u007Fc1\u0085\u009F end')
  })

  // One megabyte of one character: over the 1 MiB body limit → 413; the most the schema allows (200,000
  // code points) → the correct result, or 413 too_many_tokens, or 422 if it normalises to nothing.
  it.each([
    ['a', 'ASCII letter'],
    [' ', 'space'],
    ['é', 'two-byte letter'],
    ['ب', 'Arabic letter'],
    ['\u0301', 'combining mark'],
    ['😀', 'astral emoji'],
    ['\u200D', 'zero-width joiner'],
    ['中', 'CJK ideograph'],
  ])('1 MB of %j (%s), then the longest text allowed', async (c) => {
    const mb = c.repeat(Math.ceil((1024 * 1024) / Buffer.byteLength(c)))
    expect(Buffer.byteLength(mb)).toBeGreaterThanOrEqual(1024 * 1024)
    const big = await check(mb)
    expect(big.status).toBe(413)
    expect(big.body.error.code).toBe('payload_too_large')
    await check(c.repeat(MAX_TEXT))
    // One code point past the schema's maximum: 400.
    const over = await check(c.repeat(MAX_TEXT + 1))
    expect(over.status).toBe(400)
  })

  it('batch: one item of each kind, every result correct or its own error', async () => {
    const items = [
      RTL.arabic,
      '👨\u200D👩\u200D👧',
      '\u200B\u200D\uFEFF',
      'e\u0301'.repeat(1000),
      '中'.repeat(5000),
    ]
    const r = await call(app, 'POST', '/v1/detect/batch', {
      key: tenants.qwen3.apiKey,
      body: { items: items.map((text) => ({ text })) },
    })
    expect(r.status).toBe(200)
    expect(r.body.results).toHaveLength(items.length)
    items.forEach((text, i) => {
      const want = expected(text, 'qwen3')
      const got = r.body.results[i]
      if (want.status === 200) expect(got.tokens).toBe(want.tokens)
      else expect(got.error.code).toBe(want.code)
    })
    expect(r.body.results[2].error.code).toBe('empty_text')
  })
})
