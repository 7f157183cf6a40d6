// The shared suite every text attack must pass, on a real Brown passage, plus the registry.
import { describe, expect, it } from 'vitest'
import { loadTokenizer } from '../../cli/tokenizers-node.ts'
import { loadBrownDocuments } from '../../test/fixtures/brown.ts'
import { ATTACK_NAMES } from '../experiments/spec.ts'
import { attackKind, attackNames, getAttack, UnknownAttackError } from './registry.ts'
import { SYNONYMS } from './synonym-substitution.ts'
import { AttackInputError, type TextAttack } from './types.ts'
import { splitPunctuation, wordSpans } from './words.ts'
import { ZERO_WIDTH_CHARS } from './zero-width.ts'

const [doc, humanDoc] = loadBrownDocuments()
const TEXT = doc.text.slice(0, wordSpans(doc.text)[399].end) // 400 words, paragraphs kept
const WORDS = wordSpans(TEXT).map((w) => w.text)
const tokenizer = loadTokenizer('qwen3')
const ctx = (seed: number, strength: number) => ({ seed, strength, tokenizer, humanText: humanDoc.text })
const textAttacks = attackNames.map(getAttack).filter((a): a is TextAttack => a.kind === 'text')

const words = (text: string) => wordSpans(text).map((w) => w.text)
const differing = (a: string[], b: string[]) => a.filter((x, i) => x !== b[i]).length
const codePoints = (s: string) => [...s]

// Synonym substitution can only reach the share of words its table covers.
const synonymCoverage =
  WORDS.filter((w) => Object.hasOwn(SYNONYMS, splitPunctuation(w)[1].toLowerCase())).length / WORDS.length

// The edited fraction measured on the output, independently of what the attack reports.
const measure: Record<string, (out: string) => number> = {
  'word-deletion': (out) => 1 - words(out).length / WORDS.length,
  'word-insertion': (out) => words(out).length / WORDS.length - 1,
  typos: (out) => differing(words(out), WORDS) / WORDS.length,
  'case-change': (out) => differing(words(out), WORDS) / WORDS.length,
  'synonym-substitution': (out) => differing(words(out), WORDS) / WORDS.length,
  homoglyph: (out) =>
    differing(codePoints(out), codePoints(TEXT)) / codePoints(TEXT).filter((c) => /[A-Za-z]/.test(c)).length,
  'zero-width': (out) =>
    codePoints(out).filter((c) => (ZERO_WIDTH_CHARS as readonly string[]).includes(c)).length /
    (codePoints(TEXT).length - 1),
}

describe('registry', () => {
  it('covers ATTACK_NAMES exactly, each under its own name', () => {
    expect([...attackNames].sort()).toEqual([...ATTACK_NAMES].sort())
    for (const name of ATTACK_NAMES) expect(getAttack(name).name).toBe(name)
  })

  it('knows which attacks need a model call or act during generation', () => {
    expect(attackKind('paraphrase')).toBe('origin')
    expect(attackKind('emoji')).toBe('generation')
    expect(ATTACK_NAMES.filter((n) => attackKind(n) === 'text')).toHaveLength(ATTACK_NAMES.length - 2)
  })

  it('rejects unknown names', () => {
    expect(() => getAttack('rot13')).toThrow(UnknownAttackError)
  })
})

describe.each(textAttacks)('$name', (attack) => {
  it('is deterministic given the seed, and the seed matters', () => {
    const a = attack.apply(TEXT, ctx(7, 0.3))
    expect(attack.apply(TEXT, ctx(7, 0.3))).toEqual(a)
    expect(attack.apply(TEXT, ctx(8, 0.3)).text).not.toBe(a.text)
  })

  it.each([0.1, 0.3, 0.5])('edits the requested fraction %s', (strength) => {
    const target = attack.name === 'synonym-substitution' ? Math.min(strength, synonymCoverage) : strength
    const r = attack.apply(TEXT, ctx(1, strength))
    expect(r.text).not.toBe(TEXT)
    expect(Math.abs(r.editFraction - target)).toBeLessThan(0.01)
    const measured = measure[attack.name]?.(r.text)
    if (measured !== undefined) expect(measured).toBeCloseTo(r.editFraction, 9)
  })

  it('rejects a strength outside (0, 1]', () => {
    expect(() => attack.apply(TEXT, ctx(1, 0))).toThrow(AttackInputError)
    expect(() => attack.apply(TEXT, ctx(1, 1.5))).toThrow(/strength must be in \(0, 1\], got 1.5/)
  })
})

describe('inputs an attack needs', () => {
  it('token-substitution names the missing tokenizer', () => {
    const attack = getAttack('token-substitution') as TextAttack
    expect(() => attack.apply(TEXT, { seed: 1, strength: 0.1 })).toThrow(AttackInputError)
    expect(() => attack.apply(TEXT, { seed: 1, strength: 0.1 })).toThrow(/needs ctx.tokenizer/)
  })

  it('copy-paste names the missing or too short human text', () => {
    const attack = getAttack('copy-paste') as TextAttack
    expect(() => attack.apply(TEXT, { seed: 1, strength: 0.5 })).toThrow(/needs ctx.humanText/)
    expect(() => attack.apply(TEXT, { seed: 1, strength: 0.5, humanText: 'too short' })).toThrow(
      /ctx.humanText has 2 words; strength 0.5 needs at least 200/,
    )
  })
})

it('synonym substitution covers a useful share of running text', () => {
  // a regression guard on the generated table (npm run build:synonyms)
  expect(synonymCoverage).toBeGreaterThan(0.15)
})
