// Flips the case of ⌊strength · N⌋ of the N words (to upper, lower or title case, whichever
// differs from the word's own), among the words that have a cased letter.
import { checkStrength, type TextAttack } from './types.ts'
import { pick, rewriteWords } from './words.ts'

const title = (w: string) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()
const CASINGS = [(w: string) => w.toUpperCase(), (w: string) => w.toLowerCase(), title]

export const caseChange: TextAttack = {
  name: 'case-change',
  kind: 'text',
  unit: 'words',
  apply(text, { seed, strength }) {
    checkStrength(this.name, strength)
    return rewriteWords(
      text,
      seed,
      strength,
      (w) => w.toUpperCase() !== w.toLowerCase(),
      (w, rng) =>
        pick(
          rng,
          CASINGS.map((f) => f(w)).filter((v) => v !== w),
        ),
    )
  },
}
