// Inserts ⌊strength · N⌋ common English words at random word boundaries (N = the text's word count,
// so strength 1 doubles the text). Common words keep the text plausible at a glance; being
// unwatermarked, they dilute the signal and break the contexts the watermark hashes.
import { seededRng } from '../rng.ts'
import { checkStrength, type TextAttack } from './types.ts'
import { pick, rebuildWords, wordSpans } from './words.ts'

export const COMMON_WORDS: readonly string[] = (
  'the of and to a in that is was he for it with as his on be at by had not are but from or have ' +
  'an they which one you were her all she there would their we him been has when who will more no ' +
  'if out so said what up its about into than them can only other new some could time these two ' +
  'may then do first any my now such like our over man me even most made after also did many'
).split(' ')

export const wordInsertion: TextAttack = {
  name: 'word-insertion',
  kind: 'text',
  unit: 'words (inserted / original)',
  apply(text, { seed, strength }) {
    checkStrength(this.name, strength)
    const rng = seededRng(seed)
    const spans = wordSpans(text)
    const n = spans.length
    const count = Math.floor(strength * n)
    // before[i] goes in front of word i; before[n] after the last word
    const before: string[][] = Array.from({ length: n + 1 }, () => [])
    for (let j = 0; j < count; j++) before[Math.floor(rng() * (n + 1))].push(pick(rng, COMMON_WORDS))
    const edited = rebuildWords(text, spans, (i, w) => {
      const words = [...before[i], w, ...(i === n - 1 ? before[n] : [])]
      return words.join(' ')
    })
    return { text: edited, editFraction: n ? count / n : 0 }
  },
}
