// Copy-paste on tagged words (w0 w1 … watermarked, h0 h1 … human), so every word's origin is visible.
import { expect, it } from 'vitest'
import { COPY_PASTE_SPANS, copyPaste } from './copy-paste.ts'

const tagged = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(' ')
const MARKED = tagged('w', 300)
const HUMAN = tagged('h', 1000)

/** Runs of consecutive watermarked words (w5 w6 w7 is one run; w5 h0 w6 and w5 w7 are two). */
const runsOf = (words: string[]) =>
  words.filter(
    (w, i) =>
      w.startsWith('w') &&
      !(words[i - 1]?.startsWith('w') && Number(words[i - 1].slice(1)) === Number(w.slice(1)) - 1),
  )

it.each([0.1, 0.25, 0.5, 0.9])(
  'pastes %s human share around 3 in-order spans of the watermarked text',
  (strength) => {
    const r = copyPaste.apply(MARKED, { seed: 11, strength, humanText: HUMAN })
    const words = r.text.split(' ')
    expect(words).toHaveLength(300)
    const marked = words.filter((w) => w.startsWith('w')).map((w) => Number(w.slice(1)))
    const human = words.filter((w) => w.startsWith('h')).map((w) => Number(w.slice(1)))
    // the human words are the human text's first ones, in order
    expect(human).toEqual(human.map((_, i) => i))
    expect(human.length / 300).toBeCloseTo(r.editFraction, 12)
    expect(Math.abs(marked.length / 300 - (1 - strength))).toBeLessThanOrEqual(0.5 / 300)
    // watermarked words come in order, as k runs of consecutive words in the output
    expect(marked).toEqual([...marked].sort((a, b) => a - b))
    expect(runsOf(words)).toHaveLength(COPY_PASTE_SPANS)
  },
)

it.each([1, 2, 5, 12])('pastes k = %s spans when the spec asks for them', (spans) => {
  for (const seed of [1, 2, 3]) {
    const r = copyPaste.apply(MARKED, { seed, strength: 0.5, humanText: HUMAN, spans })
    const words = r.text.split(' ')
    expect(words).toHaveLength(300)
    expect(runsOf(words), `seed ${seed}`).toHaveLength(spans)
    const marked = words.filter((w) => w.startsWith('w')).map((w) => Number(w.slice(1)))
    expect(marked).toHaveLength(150)
    expect(marked).toEqual([...marked].sort((a, b) => a - b))
    // Spans as equal as possible: 150 words in k runs differ in length by at most one.
    const lengths = runsOf(words).map((start) => {
      let n = 1
      for (let i = words.indexOf(start) + 1; words[i] === `w${Number(start.slice(1)) + n}`; i++) n++
      return n
    })
    expect(Math.max(...lengths) - Math.min(...lengths)).toBeLessThanOrEqual(1)
  }
  // k = 3 is the default: leaving spans out gives the same text.
  expect(copyPaste.apply(MARKED, { seed: 4, strength: 0.5, humanText: HUMAN, spans: 3 })).toEqual(
    copyPaste.apply(MARKED, { seed: 4, strength: 0.5, humanText: HUMAN }),
  )
})

it('rejects a span count that is not a positive integer', () => {
  for (const spans of [0, -1, 1.5, Number.NaN])
    expect(() => copyPaste.apply(MARKED, { seed: 1, strength: 0.5, humanText: HUMAN, spans })).toThrow(
      /copy-paste: spans must be a positive integer/,
    )
})

it('uses one-word spans when fewer than k watermarked words are kept, and none at strength 1', () => {
  const few = copyPaste.apply(tagged('w', 10), { seed: 1, strength: 0.85, humanText: HUMAN })
  expect(few.text.split(' ').filter((w) => w.startsWith('w'))).toHaveLength(2)
  const none = copyPaste.apply(MARKED, { seed: 1, strength: 1, humanText: HUMAN })
  expect(none).toEqual({ text: tagged('h', 300), editFraction: 1 })
})
