// The compiled binary form: same ids as the tokenizer built from tokenizer.json and as the
// reference, same decode, loaded within the start-up budget; unsupported types fall back.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { compiledTokenizerPath, loadTokenizer, loadTokenizerFiles } from '../cli/tokenizers-node.ts'
import {
  compileTokenizer,
  createCompiledTokenizer,
  createTokenizer,
  deserializeBpe,
  getTokenizerSpec,
  serializeBpe,
} from '../core/tokenizers/registry.ts'
import { adversarialTexts } from './tokenizer-adversarial.ts'
import { loadBrownDocuments } from './fixtures/brown.ts'

const sample = [
  ...loadBrownDocuments()
    .slice(0, 20)
    .map((d) => d.text),
  ...adversarialTexts(300, 5),
]

describe.each(['qwen3', 'llama3'])('%s compiled form', (id) => {
  const spec = getTokenizerSpec(id)
  const { tokenizerJson, tokenizerConfig } = loadTokenizerFiles(id)
  const bin = serializeBpe(compileTokenizer(tokenizerJson, tokenizerConfig))
  const fromBin = createCompiledTokenizer(spec, bin)
  const fromJson = createTokenizer(spec, tokenizerJson, tokenizerConfig)
  const ref = loadTokenizer(id, { reference: true })

  it('gives the same ids as the JSON and the reference', () => {
    expect(fromBin.kind).toBe('fast-bpe')
    expect(fromJson.kind).toBe('fast-bpe')
    for (const t of sample) {
      const expected = Array.from(ref.encode(t))
      expect(Array.from(fromBin.encode(t))).toEqual(expected)
      expect(Array.from(fromJson.encode(t))).toEqual(expected)
    }
  })

  it('decodes as the reference; tokenTexts concatenate to the text', () => {
    for (const t of sample) {
      const ids = fromBin.encode(t)
      if (ids.length === 0) continue
      expect(fromBin.decode(ids)).toBe(ref.decode(ids))
      // lone surrogates aside, per-token pieces concatenate to the decoded text
      if (!/\p{Cs}/u.test(t)) expect(fromBin.tokenTexts(ids).join('')).toBe(fromBin.decode(ids))
    }
    // the whole id range, added tokens and logits padding included
    const all = Array.from({ length: spec.logitsSize }, (_, i) => i)
    expect(fromBin.decode(all)).toBe(ref.decode(all))
    expect(fromBin.tokenTexts(all)).toEqual(ref.tokenTexts(all))
  })

  it('serialises deterministically; the build output, if present, is current', () => {
    // byte comparison by Buffer.compare: expect().toEqual on megabytes takes minutes
    expect(Buffer.compare(serializeBpe(deserializeBpe(bin)), bin)).toBe(0)
    const path = compiledTokenizerPath(id)
    if (path)
      expect(Buffer.compare(serializeBpe(deserializeBpe(new Uint8Array(readFileSync(path)))), bin)).toBe(0)
  })

  it('loads in ≤ 50 ms with ≤ 16 MB of heap', () => {
    let best = Number.POSITIVE_INFINITY
    let heap = Number.POSITIVE_INFINITY
    for (let k = 0; k < 3; k++) {
      const h0 = process.memoryUsage().heapUsed
      const t0 = performance.now()
      const tok = createCompiledTokenizer(spec, bin)
      tok.encode('warm up')
      best = Math.min(best, performance.now() - t0)
      heap = Math.min(heap, process.memoryUsage().heapUsed - h0)
    }
    expect(best).toBeLessThan(50)
    expect(heap).toBeLessThan(16 * 2 ** 20)
  })
})

describe('fallback to @huggingface/tokenizers', () => {
  it('says so for a tokenizer type the fast encoder does not implement', () => {
    const { tokenizerJson, tokenizerConfig } = loadTokenizerFiles('qwen3')
    const lowercased = { ...tokenizerJson, normalizer: { type: 'Lowercase' } }
    const tok = createTokenizer(getTokenizerSpec('qwen3'), lowercased, tokenizerConfig)
    expect(tok.kind).toBe('reference')
    expect(tok.fallbackReason).toMatch(/normalizer Lowercase/)
    expect(Array.from(tok.encode('Hello World'))).toEqual(
      Array.from(loadTokenizer('qwen3').encode('hello world')),
    )
  })

  it('the compiled form checks the spec', () => {
    const { tokenizerJson, tokenizerConfig } = loadTokenizerFiles('llama3')
    const c = compileTokenizer(tokenizerJson, tokenizerConfig)
    expect(() => createCompiledTokenizer({ ...getTokenizerSpec('llama3'), vocabSize: 128000 }, c)).toThrow(
      /vocabSize 128000/,
    )
  })
})
