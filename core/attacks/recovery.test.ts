// Character attacks against the detector's normalisation: what it undoes and what it cannot.
import { describe, expect, it } from 'vitest'
import { loadBrownDocuments } from '../../test/fixtures/brown.ts'
import { normalizeText } from '../text/normalize.ts'
import { homoglyph, homoglyphAttack, RECOVERABLE_HOMOGLYPHS, UNRECOVERABLE_HOMOGLYPHS } from './homoglyph.ts'
import { wordSpans } from './words.ts'
import { zeroWidth } from './zero-width.ts'

const doc = loadBrownDocuments()[2].text
const TEXT = doc.slice(0, wordSpans(doc)[399].end)

it('the passage is already normal, so recovery means equality with it', () => {
  expect(normalizeText(TEXT)).toBe(TEXT)
})

describe.each([0.1, 0.5, 1])('strength %s', (strength) => {
  it('normalisation strips every zero-width insertion', () => {
    const r = zeroWidth.apply(TEXT, { seed: 3, strength })
    expect(r.text.length).toBeGreaterThan(TEXT.length)
    expect(normalizeText(r.text)).toBe(TEXT)
  })

  it('normalisation folds every recoverable homoglyph back', () => {
    const r = homoglyphAttack(RECOVERABLE_HOMOGLYPHS).apply(TEXT, { seed: 3, strength })
    expect(r.editFraction).toBeGreaterThan(0.09)
    expect(normalizeText(r.text)).toBe(TEXT)
  })
})

it('the unrecoverable homoglyphs survive normalisation, and the registered attack mixes both', () => {
  const unrecoverable = new Set(Object.values(UNRECOVERABLE_HOMOGLYPHS).flat())
  const original = [...TEXT]
  const attacked = [...homoglyph.apply(TEXT, { seed: 3, strength: 0.3 }).text]
  const normalized = [...normalizeText(attacked.join(''))]
  expect(normalized).toHaveLength(original.length)
  const replaced = original.flatMap((ch, i) => (attacked[i] !== ch ? [i] : []))
  const restored = replaced.filter((i) => normalized[i] === original[i])
  for (const i of replaced) {
    if (unrecoverable.has(attacked[i])) expect(normalized[i]).toBe(attacked[i])
  }
  // Recoverable lookalikes in a word that also holds an unrecoverable one (and no Latin letter)
  // stay unfolded too, so the share restored is below the recoverable share of replacements.
  const recoverableShare = replaced.filter((i) => !unrecoverable.has(attacked[i])).length / replaced.length
  const restoredShare = restored.length / replaced.length
  expect(restoredShare).toBeGreaterThan(0.5)
  expect(restoredShare).toBeLessThanOrEqual(recoverableShare)
  console.info(
    `homoglyph@0.3: ${replaced.length} letters replaced, ${(100 * recoverableShare).toFixed(1)}% with recoverable lookalikes, ${(100 * restoredShare).toFixed(1)}% restored by normalizeText`,
  )
})
