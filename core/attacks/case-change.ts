// Flips the case of ⌊strength · N⌋ of the N words (to upper, lower or title case, whichever
// differs from the word's own), among the words that have a cased letter.
import { seededRng } from '../rng.ts'
import { checkStrength, type TextAttack } from './types.ts'
import { pick, rebuildWords, sampleWhere, wordSpans } from './words.ts'

const title = (w: string) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()
const CASINGS = [(w: string) => w.toUpperCase(), (w: string) => w.toLowerCase(), title]

export const caseChange: TextAttack = {
  name: 'case-change',
  kind: 'text',
  unit: 'words',
  apply(text, { seed, strength }) {
    checkStrength(this.name, strength)
    const rng = seededRng(seed)
    const spans = wordSpans(text)
    const changeable = (w: string) => w.toUpperCase() !== w.toLowerCase()
    const chosen = new Set(
      sampleWhere(rng, spans, Math.floor(strength * spans.length), (s) => changeable(s.text)),
    )
    const edited = rebuildWords(text, spans, (i, w) => {
      if (!chosen.has(i)) return w
      const options = CASINGS.map((f) => f(w)).filter((v) => v !== w)
      return pick(rng, options)
    })
    return { text: edited, editFraction: spans.length ? chosen.size / spans.length : 0 }
  },
}
