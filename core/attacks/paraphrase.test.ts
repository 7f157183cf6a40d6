import { describe, expect, it } from 'vitest'
import { loadTokenizer } from '../../cli/tokenizers-node.ts'
import { paraphrase } from './paraphrase.ts'
import { AttackInputError } from './types.ts'

const TEXT = 'The jury said the election was conducted fairly and found no evidence of fraud.'

describe('paraphrase', () => {
  it('asks for a rewrite of the text, hotter as strength grows', () => {
    const weak = paraphrase.request(TEXT, { seed: 0, strength: 0.1 })
    const strong = paraphrase.request(TEXT, { seed: 0, strength: 1 })
    expect(weak.prompt).toBe(`Rewrite the following text in your own words:\n\n${TEXT}\n\nRewritten:`)
    expect(strong.temperature).toBeGreaterThan(weak.temperature)
    expect(weak.temperature).toBeGreaterThan(0)
    expect(() => paraphrase.request(TEXT, { seed: 0, strength: 0 })).toThrow(AttackInputError)
  })

  it('budgets about 1.5 times the text in tokens', () => {
    const tokenizer = loadTokenizer('qwen3')
    const long = TEXT.repeat(10)
    const { maxTokens } = paraphrase.request(long, { seed: 0, strength: 0.5, tokenizer })
    expect(maxTokens).toBe(Math.ceil(1.5 * tokenizer.encode(long).length))
    // without a tokenizer it estimates from the word count
    const estimate = paraphrase.request(long, { seed: 0, strength: 0.5 }).maxTokens
    expect(estimate / maxTokens).toBeGreaterThan(0.8)
    expect(estimate / maxTokens).toBeLessThan(1.25)
  })

  it('measures the rewrite as word-level distance from the original', () => {
    expect(paraphrase.finish(` ${TEXT}\n`, TEXT)).toEqual({ text: TEXT, editFraction: 0 })
    expect(paraphrase.finish('Nothing alike here.', TEXT).editFraction).toBe(1)
    // 13 of the 14 words in common (one word changed)
    const r = paraphrase.finish(TEXT.replace('fairly', 'honestly'), TEXT)
    expect(r.editFraction).toBeCloseTo(1 / 14, 12)
  })

  it('refuses an empty model answer', () => {
    expect(() => paraphrase.finish('  \n', TEXT)).toThrow(/paraphrase: the model returned no text/)
  })
})
