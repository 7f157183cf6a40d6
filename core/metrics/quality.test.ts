import { describe, expect, it } from 'vitest'
import { NgramCorpus } from './ngrams.ts'
import {
  distinctN,
  logDiversity,
  MAX_LOG_DIVERSITY,
  meanLogPerplexity,
  meanPerplexity,
  repetitionRate,
} from './quality.ts'

describe('NgramCorpus', () => {
  it('counts per text and over the corpus', () => {
    const corpus = new NgramCorpus(4)
    // the cat saw the cat: words {the, cat, saw}; bigrams the-cat ×2, cat-saw, saw-the
    expect(corpus.add('the cat saw the cat')).toEqual({ total: [5, 4, 3, 2], unique: [3, 3, 3, 2] })
    expect(corpus.add('the dog')).toEqual({ total: [2, 1, 0, 0], unique: [2, 1, 0, 0] })
    expect(corpus.distinct(1)).toBe(4 / 7) // the cat saw dog
    expect(corpus.distinct(2)).toBe(4 / 5) // the-cat cat-saw saw-the the-dog
    expect(corpus.distinct(3)).toBe(1) // the cat saw, cat saw the, saw the cat
    expect(() => corpus.distinct(4)).toThrow(/\[1, 3\]/) // 4-grams are counted per text only
  })

  it('splits on any JavaScript whitespace and keeps case and punctuation', () => {
    const corpus = new NgramCorpus(1)
    expect(corpus.add(' a\tb\nA\u00a0b.\u2003a  ')).toEqual({ total: [5], unique: [4] })
    expect(corpus.add('')).toEqual({ total: [0], unique: [0] })
  })

  it('stays exact across many words (table growth, no hash merging)', () => {
    const corpus = new NgramCorpus(2)
    const words = Array.from({ length: 20_000 }, (_, i) => `w${i}`)
    const counts = corpus.add([...words, ...words].join(' '))
    expect(counts.unique).toEqual([20_000, 20_000]) // w19999-w0 is the one new bigram of the repeat
    expect(counts.total).toEqual([40_000, 39_999])
  })
})

describe('distinctN', () => {
  it('divides unique by total n-grams over the corpus, none spanning two texts', () => {
    // bigrams: ab ba ab | ab bc → {ab, ba, bc} = 3 of 5
    expect(distinctN(['a b a b', 'a b c'], 2)).toBe(0.6)
    expect(distinctN(['a b a b', 'a b c'], 1)).toBe(3 / 7)
    expect(distinctN(['x'], 2)).toBe(0)
  })
})

describe('logDiversity', () => {
  it('multiplies 1 − rep_n for n = 2, 3, 4 without the /100 bug', () => {
    // a b a b a: bigrams ab ba ab ba (2/4), trigrams aba bab aba (2/3), 4-grams abab baba (2/2)
    // div = ½ · ⅔ · 1 = ⅓ → −ln(1 − ⅓)
    expect(logDiversity('a b a b a')).toBeCloseTo(-Math.log(2 / 3), 14)
    // a a a a a: ratios ¼, ⅓, ½ → div = 1/24
    expect(logDiversity('a a a a a')).toBeCloseTo(-Math.log(23 / 24), 14)
  })

  it('clamps at e^−20 when nothing repeats (div = 1)', () => {
    expect(logDiversity('one two three four five six')).toBe(MAX_LOG_DIVERSITY)
    expect(logDiversity('short')).toBe(20) // no n-gram at all: rep_n = 0
  })
})

describe('repetitionRate', () => {
  it('is the fraction of 3-grams repeating an earlier one', () => {
    expect(repetitionRate('a b c a b c')).toBe(0.25) // abc bca cab abc
    expect(repetitionRate('a a a a a a')).toBe(0.75) // 4 × aaa, 3 repeats
    expect(repetitionRate('a b')).toBe(0)
  })
})

describe('perplexity means', () => {
  it('averages perplexities or their logs, skipping unusable values', () => {
    expect(meanPerplexity([10, 20, null, Number.NaN, 0, Infinity])).toBe(15)
    expect(Math.exp(meanLogPerplexity([10, 1000, null]))).toBeCloseTo(100, 10)
    expect(meanPerplexity([null])).toBe(0)
  })
})
