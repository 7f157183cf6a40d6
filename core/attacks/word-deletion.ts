// Deletes ⌊strength · N⌋ of the N whitespace words, chosen uniformly at random.
import { seededRng } from '../rng.ts'
import { checkStrength, type TextAttack } from './types.ts'
import { rebuildWords, sampleIndices, wordSpans } from './words.ts'

export const wordDeletion: TextAttack = {
  name: 'word-deletion',
  kind: 'text',
  unit: 'words',
  apply(text, { seed, strength }) {
    checkStrength(this.name, strength)
    const spans = wordSpans(text)
    const deleted = new Set(sampleIndices(seededRng(seed), spans.length, Math.floor(strength * spans.length)))
    return {
      text: rebuildWords(text, spans, (i, w) => (deleted.has(i) ? null : w)),
      editFraction: spans.length ? deleted.size / spans.length : 0,
    }
  },
}
