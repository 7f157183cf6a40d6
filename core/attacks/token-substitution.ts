// Re-tokenises the text and replaces ⌊strength · T⌋ of its T tokens with random vocabulary ids
// that decode to a plain word piece (letters only, with a leading space iff the replaced token
// had one, so word boundaries stay put), then decodes. editFraction counts the replaced positions
// of the original tokenisation; re-encoding the result may merge or split pieces.
import type { Rng } from '../schemes/types.ts'
import { seededRng } from '../rng.ts'
import type { TextTokenizer } from '../tokenizers/registry.ts'
import { AttackInputError, checkStrength, type TextAttack } from './types.ts'
import { sampleIndices } from './words.ts'

const WORD_PIECE = /^ ?[A-Za-z]+$/
// Rejection sampling: about half of a BPE vocabulary are plain word pieces, so failing this many
// draws in a row means the vocabulary has none of the wanted kind.
const MAX_DRAWS = 10_000

function randomWordPiece(rng: Rng, tokenizer: TextTokenizer, leadingSpace: boolean, not: number): number {
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    const id = Math.floor(rng() * tokenizer.vocabSize)
    const piece = tokenizer.decode([id])
    if (id !== not && WORD_PIECE.test(piece) && piece.startsWith(' ') === leadingSpace) return id
  }
  throw new AttackInputError('token-substitution', `no plain word pieces found in tokenizer ${tokenizer.id}`)
}

export const tokenSubstitution: TextAttack = {
  name: 'token-substitution',
  kind: 'text',
  unit: 'tokens',
  apply(text, { seed, strength, tokenizer }) {
    checkStrength(this.name, strength)
    if (!tokenizer) throw new AttackInputError(this.name, 'needs ctx.tokenizer to re-tokenise the text')
    const rng = seededRng(seed)
    const ids = Array.from(tokenizer.encode(text))
    const positions = sampleIndices(rng, ids.length, Math.floor(strength * ids.length))
    for (const i of positions) {
      ids[i] = randomWordPiece(rng, tokenizer, tokenizer.decode([ids[i]]).startsWith(' '), ids[i])
    }
    return { text: tokenizer.decode(ids), editFraction: ids.length ? positions.length / ids.length : 0 }
  },
}
