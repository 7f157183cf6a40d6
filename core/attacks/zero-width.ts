// Inserts an invisible character into ⌊strength · G⌋ of the G gaps between adjacent characters
// (code points). All five are stripped by the detector's normalisation; without it they split
// words into different tokens.
import { seededRng } from '../rng.ts'
import { checkStrength, type TextAttack } from './types.ts'
import { pick, sampleIndices } from './words.ts'

/** ZWSP, ZWNJ, ZWJ, BOM (zero-width no-break space), word joiner. */
export const ZERO_WIDTH_CHARS = ['\u200B', '\u200C', '\u200D', '\uFEFF', '\u2060'] as const

export const zeroWidth: TextAttack = {
  name: 'zero-width',
  kind: 'text',
  unit: 'character gaps',
  apply(text, { seed, strength }) {
    checkStrength(this.name, strength)
    const rng = seededRng(seed)
    const chars = [...text]
    const gaps = Math.max(0, chars.length - 1)
    // gap g lies after character g
    const chosen = sampleIndices(rng, gaps, Math.floor(strength * gaps))
    for (const g of chosen) chars[g] += pick(rng, ZERO_WIDTH_CHARS)
    return { text: chars.join(''), editFraction: gaps ? chosen.length / gaps : 0 }
  },
}
