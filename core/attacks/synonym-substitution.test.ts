import { expect, it } from 'vitest'
import { matchCase, SYNONYMS, synonymSubstitution } from './synonym-substitution.ts'

it('the generated table maps lowercase words to other lowercase words, sorted', () => {
  const keys = Object.keys(SYNONYMS)
  expect(keys.length).toBeGreaterThan(1000)
  expect(keys).toEqual([...keys].sort())
  for (const [word, synonyms] of Object.entries(SYNONYMS)) {
    expect(word).toMatch(/^[a-z]+$/)
    expect(synonyms.length).toBeGreaterThan(0)
    expect(synonyms).toEqual([...synonyms].sort())
    for (const s of synonyms) expect(s).toMatch(/^[a-z]+$/)
    expect(synonyms).not.toContain(word)
  }
})

it('keeps the casing of the word it replaces', () => {
  expect(matchCase('big', 'large')).toBe('large')
  expect(matchCase('Big', 'large')).toBe('Large')
  expect(matchCase('BIG', 'large')).toBe('LARGE')
  expect(matchCase('I', 'one')).toBe('One')
})

it('replaces every covered word at strength 1, keeping punctuation and case', () => {
  const text = '("Quickly," she said.) The BIG house'
  const r = synonymSubstitution.apply(text, { seed: 4, strength: 1 })
  const [open, said, the, big, house] = r.text.split(' ').filter((_, i) => i !== 1)
  expect(open).toMatch(/^\("[A-Z][a-z]+,"$/)
  expect(open).not.toBe('("Quickly,"')
  expect(SYNONYMS.quickly).toContain(open.slice(2, -2).toLowerCase())
  expect(said).toBe('said.)') // an inflected form: not in the table
  expect(the).toBe('The')
  expect(big).toMatch(/^[A-Z]+$/)
  expect(SYNONYMS.house).toContain(house)
  expect(r.editFraction).toBeCloseTo(3 / 6, 12)
})
