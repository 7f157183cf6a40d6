import { describe, expect, it } from 'vitest'
import { loadTokenizer } from '../../cli/tokenizers-node.ts'
import { loadBrownDocuments } from '../../test/fixtures/brown.ts'
import { seededRng } from '../rng.ts'
import { EMOJIS, emoji } from './emoji.ts'
import { pick, wordSpans } from './words.ts'

const tokenizer = loadTokenizer('qwen3')
const doc = loadBrownDocuments()[3].text
const TEXT = doc.slice(0, wordSpans(doc)[299].end)

describe('emoji', () => {
  it('lists emoji that render as emoji without a selector', () => {
    for (const e of EMOJIS) expect(e).toMatch(/^\p{Emoji_Presentation}$/u)
  })

  it('offers single-token emojis as choices, every round(1/strength) steps', () => {
    const plan = emoji.generation(tokenizer, 0.3)
    expect(plan.every).toBe(3)
    expect(emoji.generation(tokenizer, 0.1).every).toBe(10)
    expect(emoji.generation(tokenizer, 1).every).toBe(1)
    expect(plan.choices.length).toBeGreaterThan(EMOJIS.length / 2)
    expect(new Set(plan.choices).size).toBe(plan.choices.length)
    for (const id of plan.choices) {
      expect(tokenizer.decode([id])).toMatch(/^\p{Emoji_Presentation}$/u)
      expect(Array.from(tokenizer.encode(tokenizer.decode([id])))).toEqual([id])
    }
  })

  it.each([0.1, 0.5])('clean removes what generation inserted and nothing else (strength %s)', (strength) => {
    const { every, choices } = emoji.generation(tokenizer, strength)
    const rng = seededRng(5)
    // every every-th generated token is an emoji, as the consumer's generation loop makes it
    const out: number[] = []
    let inserted = 0
    for (const id of tokenizer.encode(TEXT)) {
      if ((out.length + 1) % every === 0) {
        out.push(pick(rng, choices))
        inserted++
      }
      out.push(id)
    }
    const attacked = tokenizer.decode(out)
    const r = emoji.clean(attacked)
    expect(r.text).toBe(TEXT)
    expect(r.editFraction).toBeCloseTo(inserted / (inserted + wordSpans(TEXT).length), 12)
  })

  it('clean removes selector and joiner sequences whole, and keeps text symbols', () => {
    const r = emoji.clean('I \u2764\uFE0F you 👨\u200D👩\u200D👧 and 👍🏽, © 2024 ™ #1 ok')
    expect(r.text).toBe('I  you  and , © 2024 ™ #1 ok')
    expect(r.editFraction).toBeCloseTo(3 / 12, 12) // ❤️, the family and 👍🏽 of 9 words left
  })
})
