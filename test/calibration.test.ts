// Calibration on human text (Brown corpus, Llama 3 tokenizer, 200-token windows): the empirical
// false-positive rate at α = 0.01 must sit inside the binomial 99 % interval. Exact red/green tests
// are discrete, so their attainable size is below α: the lower check uses that size, the upper α.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { loadTokenizer } from '../cli/tokenizers-node.ts'
import { createScheme } from '../core/schemes/registry.ts'
import { ALPHA, binomialInterval99, calibrate, testKeys } from './calibration.ts'
import { brownWindows } from './fixtures/brown-tokens.ts'
import { loadWasmKernel } from '../wasm/node.ts'

const V = 128_256 // Llama 3 logits
// One window per key: with a fixed key, frequent tokens/n-grams are green or red in every window
// at once, so one key's windows are correlated trials; over random keys each window is exact.
const KEYS = testKeys(2600, 1)
const windows = brownWindows('llama3', 200, 2600)
const kernel = await loadWasmKernel()

function check(row: ReturnType<typeof calibrate>) {
  console.log(JSON.stringify(row))
  const [, hiAlpha] = binomialInterval99(row.windows, ALPHA)
  const [loSize] = binomialInterval99(row.windows, row.expected)
  expect(row.falsePositives).toBeLessThanOrEqual(hiAlpha)
  expect(row.falsePositives).toBeGreaterThanOrEqual(loSize)
}

describe('false-positive rate on Brown (α = 0.01, 200-token windows)', () => {
  it('has enough windows to be meaningful', () => {
    expect(windows.length).toBe(2600)
  })
  it.each([
    ['vllm-redgreen', 0.25, {}],
    ['unigram', Math.floor(0.5 * V) / V, {}],
    ['vllm-gumbel', null, {}],
    ['vllm-dual-key-gumbel', null, {}],
  ] as const)('%s', { timeout: 400_000 }, (name, nullGreen, extra) => {
    // Unigram builds a randperm(V) green list per key: 650 keys × 4 windows keep that affordable.
    check(
      calibrate(name, windows, name === 'unigram' ? KEYS.slice(0, 650) : KEYS, V, nullGreen, extra, kernel),
    )
  })
  // SynthID measures its null model per key set (20,000 n-grams), so it uses 260 keys × 10 windows.
  it.each(['2025', 'table'])('synthid (hash %s)', { timeout: 400_000 }, (hash) => {
    check(calibrate('synthid', windows, KEYS.slice(0, 260), V, null, { hash }, kernel))
  })
})

describe('de-duplication keeps a repeated licence from being flagged', () => {
  const licence = readFileSync(new URL('../node_modules/zod/LICENSE', import.meta.url), 'utf8')
  const tokens = loadTokenizer('llama3').encode(Array(12).fill(licence).join('\n\n'))
  const keys = Array.from({ length: 16 }, (_, i) => BigInt(1000 + i))
  it.each(['vllm-redgreen', 'vllm-gumbel', 'unigram'])('%s', (name) => {
    let flaggedDedup = 0
    let flaggedRaw = 0
    for (const key of keys) {
      const s = createScheme(name, { key, vocabSize: V })
      if (s.detect(tokens, { pValueThreshold: ALPHA }).watermarked) flaggedDedup++
      if (s.detect(tokens, { dedup: false, pValueThreshold: ALPHA }).watermarked) flaggedRaw++
    }
    console.log(JSON.stringify({ name, tokens: tokens.length, keys: keys.length, flaggedDedup, flaggedRaw }))
    // Without de-duplication 12 copies multiply any chance excess by 12 in the count (√12 in z).
    expect(flaggedDedup).toBeLessThanOrEqual(1)
    expect(flaggedRaw).toBeGreaterThanOrEqual(3)
  })
})
