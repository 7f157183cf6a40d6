// Replaces ⌊strength · L⌋ of the text's L ASCII letters (capped at those with a lookalike) with
// Cyrillic or Greek lookalikes. Most lookalikes come from the detector's own fold table, so
// normalisation maps them back; a few it does not know are mixed in, as a real attacker would:
// those survive normalisation and change the tokens.
import { seededRng } from '../rng.ts'
import { SCRIPT_HOMOGLYPHS } from '../text/normalize.ts'
import { checkStrength, type TextAttack } from './types.ts'
import { pick, sampleWhere } from './words.ts'

export type HomoglyphTable = Readonly<Record<string, readonly string[]>>

/** Latin letter → the lookalikes normalizeText folds back to it. */
export const RECOVERABLE_HOMOGLYPHS: HomoglyphTable = invert(SCRIPT_HOMOGLYPHS)

/**
 * Lookalikes the normaliser leaves alone: Cyrillic һ (U+04BB) for h, palochka ӏ (U+04CF) for l,
 * Greek lunate sigma ϲ (U+03F2) for c, yot ϳ (U+03F3) for j, kappa κ (U+03BA) for k, upsilon
 * υ (U+03C5) for u. A word holding one of them and no Latin letter also counts as foreign to the
 * normaliser, so the recoverable lookalikes in that word stay too.
 */
export const UNRECOVERABLE_HOMOGLYPHS: HomoglyphTable = {
  h: ['\u04BB'],
  l: ['\u04CF'],
  c: ['\u03F2'],
  j: ['\u03F3'],
  k: ['\u03BA'],
  u: ['\u03C5'],
}

function invert(fold: Readonly<Record<string, string>>): HomoglyphTable {
  const table: Record<string, string[]> = {}
  for (const [glyph, latin] of Object.entries(fold)) table[latin] = [...(table[latin] ?? []), glyph]
  return table
}

function merge(a: HomoglyphTable, b: HomoglyphTable): HomoglyphTable {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])]
  return Object.fromEntries(keys.map((k) => [k, [...(a[k] ?? []), ...(b[k] ?? [])]]))
}

/** A homoglyph attack drawing from `table`; the registered one uses both sets. */
export function homoglyphAttack(table: HomoglyphTable): TextAttack {
  return {
    name: 'homoglyph',
    kind: 'text',
    unit: 'letters',
    apply(text, { seed, strength }) {
      checkStrength(this.name, strength)
      const rng = seededRng(seed)
      const chars = [...text]
      const letters = chars.filter((ch) => /[A-Za-z]/.test(ch)).length
      const chosen = sampleWhere(rng, chars, Math.floor(strength * letters), (ch) => Object.hasOwn(table, ch))
      for (const i of chosen) chars[i] = pick(rng, table[chars[i]])
      return { text: chars.join(''), editFraction: letters ? chosen.length / letters : 0 }
    },
  }
}

export const homoglyph = homoglyphAttack(merge(RECOVERABLE_HOMOGLYPHS, UNRECOVERABLE_HOMOGLYPHS))
