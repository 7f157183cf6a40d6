// Copy-paste (Kirchenbauer et al. 2023, "CP-k-x%"): the watermarked text diluted in human text.
// With W the watermarked text's word count, the result has W words: w = round((1 − strength) · W)
// watermarked words, as k contiguous spans (ctx.spans, default 3) taken in order from random
// places in the watermarked text, pasted in order at random word boundaries of the first W − w
// words of the human text. So the length the detector sees is unchanged and the watermarked share is
// 1 − strength; editFraction is the human share (W − w) / W. Fewer than k watermarked words give
// one-word spans; strength 1 gives human text only.
import { COPY_PASTE_SPANS } from '../experiments/spec.ts'
import { seededRng } from '../rng.ts'
import type { Rng } from '../schemes/types.ts'
import { AttackInputError, checkStrength, type TextAttack } from './types.ts'
import { sampleIndices, type WordSpan, wordSpans } from './words.ts'

export { COPY_PASTE_SPANS }

/** `total` split into `parts` non-negative integers, uniformly over compositions (stars and bars). */
function randomComposition(rng: Rng, total: number, parts: number): number[] {
  const bars = sampleIndices(rng, total + parts - 1, parts - 1)
  return [...bars, total + parts - 1].map((b, i) => b - (i ? bars[i - 1] + 1 : 0))
}

const slice = (text: string, spans: WordSpan[], from: number, to: number) =>
  from < to ? text.slice(spans[from].start, spans[to - 1].end) : ''

export const copyPaste: TextAttack = {
  name: 'copy-paste',
  kind: 'text',
  unit: 'words (human share)',
  apply(text, { seed, strength, humanText, spans = COPY_PASTE_SPANS }) {
    checkStrength(this.name, strength)
    if (!(Number.isInteger(spans) && spans >= 1))
      throw new AttackInputError(this.name, `spans must be a positive integer, got ${spans}`)
    const marked = wordSpans(text)
    const total = marked.length
    const keep = Math.round((1 - strength) * total)
    const humanWords = total - keep
    if (humanText === undefined) throw new AttackInputError(this.name, 'needs ctx.humanText to paste into')
    const human = wordSpans(humanText)
    if (human.length < humanWords) {
      throw new AttackInputError(
        this.name,
        `ctx.humanText has ${human.length} words; strength ${strength} needs at least ${humanWords}`,
      )
    }
    const rng = seededRng(seed)
    const k = Math.min(spans, keep)
    // span lengths as equal as possible; the unused watermarked words spread over the k + 1 gaps
    const lengths = Array.from({ length: k }, (_, i) => Math.floor(keep / k) + (i < keep % k ? 1 : 0))
    const skips = randomComposition(rng, total - keep, k + 1)
    // paste points: distinct word boundaries of the human text where it has enough of them
    const points =
      humanWords + 1 >= k
        ? sampleIndices(rng, humanWords + 1, k)
        : lengths.map(() => Math.floor(rng() * (humanWords + 1))).sort((a, b) => a - b)
    const pieces: string[] = []
    let at = 0
    let humanAt = 0
    for (let s = 0; s < k; s++) {
      at += skips[s]
      pieces.push(slice(humanText, human, humanAt, points[s]), slice(text, marked, at, at + lengths[s]))
      humanAt = points[s]
      at += lengths[s]
    }
    pieces.push(slice(humanText, human, humanAt, humanWords))
    return {
      text: pieces.filter(Boolean).join(' '),
      editFraction: total ? humanWords / total : 0,
    }
  },
}
