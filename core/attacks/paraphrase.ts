// Paraphrase by an unwatermarked model (the consumer sends `request` to the origin). Strength sets
// the sampling temperature: a hotter rewrite strays further from the watermarked wording.
// editFraction is the word-level distance 1 − LCS / max(n, m) between original and rewrite.
import { AttackInputError, checkStrength, type OriginAttack } from './types.ts'

const MIN_TEMPERATURE = 0.3
const MAX_TEMPERATURE = 1.2
// English averages ~1.3 tokens a word; the rewrite may run ~1.5 times as long.
const TOKENS_PER_WORD = 1.3
const LENGTH_ALLOWANCE = 1.5

const words = (text: string) => text.split(/\s+/).filter(Boolean)

/** Length of the longest common subsequence of two word lists (two rolling rows). */
function lcsLength(a: string[], b: string[]): number {
  let prev = new Uint32Array(b.length + 1)
  let row = new Uint32Array(b.length + 1)
  for (const x of a) {
    for (let j = 1; j <= b.length; j++) {
      row[j] = x === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], row[j - 1])
    }
    ;[prev, row] = [row, prev]
  }
  return prev[b.length]
}

export const paraphrase: OriginAttack = {
  name: 'paraphrase',
  kind: 'origin',
  unit: 'words (1 − LCS share)',
  request(text, { strength, tokenizer }) {
    checkStrength(this.name, strength)
    const tokens = tokenizer ? tokenizer.encode(text).length : words(text).length * TOKENS_PER_WORD
    return {
      prompt: `Rewrite the following text in your own words:\n\n${text.trim()}\n\nRewritten:`,
      temperature: MIN_TEMPERATURE + (MAX_TEMPERATURE - MIN_TEMPERATURE) * strength,
      maxTokens: Math.max(16, Math.ceil(LENGTH_ALLOWANCE * tokens)),
    }
  },
  finish(modelOutput, original) {
    const text = modelOutput.trim()
    if (text === '') throw new AttackInputError(this.name, 'the model returned no text')
    const a = words(original)
    const b = words(text)
    return { text, editFraction: 1 - lcsLength(a, b) / Math.max(a.length, b.length, 1) }
  },
}
