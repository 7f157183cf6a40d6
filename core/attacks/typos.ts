// Misspells ⌊strength · N⌋ of the N words (among those with a letter), one typo each: swap two
// adjacent letters, drop a letter, double one, or hit a neighbouring QWERTY key.
import type { Rng } from '../schemes/types.ts'
import { checkStrength, type TextAttack } from './types.ts'
import { pick, rewriteWords } from './words.ts'

const ROWS = ['qwertyuiop', 'asdfghjkl', 'zxcvbnm']

// Keys touching each key; each row sits half a key right of the one above it.
const NEIGHBOURS: ReadonlyMap<string, string[]> = new Map(
  ROWS.flatMap((row, r) =>
    [...row].map((key, c) => {
      const near = [row[c - 1], row[c + 1], ROWS[r - 1]?.[c], ROWS[r - 1]?.[c + 1]]
      near.push(ROWS[r + 1]?.[c - 1], ROWS[r + 1]?.[c])
      return [key, near.filter((k): k is string => k !== undefined)]
    }),
  ),
)

const hasLetter = (ch: string) => /\p{L}/u.test(ch)

/** One random typo; always changes the word (which must contain a letter). */
export function misspell(rng: Rng, word: string): string {
  const chars = [...word]
  const letters = chars.flatMap((ch, i) => (hasLetter(ch) ? [i] : []))
  const swappable = letters.filter((i) => hasLetter(chars[i + 1] ?? '') && chars[i] !== chars[i + 1])
  const keyed = letters.filter((i) => NEIGHBOURS.has(chars[i].toLowerCase()))
  const ops = ['double']
  if (swappable.length) ops.push('swap')
  if (keyed.length) ops.push('neighbour')
  if (chars.length > 1) ops.push('drop')
  const op = pick(rng, ops)
  if (op === 'swap') {
    const i = pick(rng, swappable)
    ;[chars[i], chars[i + 1]] = [chars[i + 1], chars[i]]
  } else if (op === 'neighbour') {
    const i = pick(rng, keyed)
    const key = pick(rng, NEIGHBOURS.get(chars[i].toLowerCase()) as string[])
    chars[i] = chars[i] === chars[i].toLowerCase() ? key : key.toUpperCase()
  } else {
    const i = pick(rng, letters)
    if (op === 'drop') chars.splice(i, 1)
    else chars.splice(i, 0, chars[i])
  }
  return chars.join('')
}

export const typos: TextAttack = {
  name: 'typos',
  kind: 'text',
  unit: 'words',
  apply(text, { seed, strength }) {
    checkStrength(this.name, strength)
    return rewriteWords(text, seed, strength, hasLetter, (w, rng) => misspell(rng, w))
  },
}
