import { describe, expect, it } from 'vitest'
import {
  FOLD_CANDIDATE_RE,
  foldHomoglyphs,
  NormalizeOptionsSchema,
  normalizeText,
  normalizeWithReport,
} from './normalize.ts'

const PLAIN =
  'The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary election produced "no evidence" that any irregularities took place.'

describe('normalizeWithReport', () => {
  it('leaves plain English unchanged', () => {
    expect(normalizeWithReport(PLAIN)).toEqual({ text: PLAIN, removedInvisible: 0, foldedHomoglyphs: 0 })
    const typo =
      'It\u2019s \u201Cfine\u201D \u2014 really\u2026 caf\u00E9 na\u00EFve, 1\u20132.\n\tNext line.'
    expect(normalizeText(typo)).toBe(typo)
  })

  it('undoes zero-width and other invisible insertions', () => {
    const words = PLAIN.split(' ')
    const attacked = words
      .map((w, i) => (i % 2 ? `${w.slice(0, 1)}\u200B${w.slice(1)}` : `\u2060${w}\u00AD`))
      .join(' ')
    const r = normalizeWithReport(`\uFEFF${attacked}\u202E\u2066\uFE0F\u{E0041}\u180E`)
    expect(r.text).toBe(PLAIN)
    expect(r.removedInvisible).toBe(1 + Math.floor(words.length / 2) + 2 * Math.ceil(words.length / 2) + 5)
    expect(r.foldedHomoglyphs).toBe(0)
  })

  it('keeps ordinary whitespace', () => {
    expect(normalizeText('a\tb\nc\r\nd  e')).toBe('a\tb\nc\r\nd  e')
  })

  it('folds Cyrillic and Greek homoglyphs back to Latin', () => {
    // е о а р с у х і ѕ ԁ (Cyrillic), ο α ν ι (Greek), capitals А Т Н Ο Κ
    const attacked =
      '\u0422h\u0435 Fult\u043En C\u043Eunt\u0443 Gr\u0430n\u0501 Jur\u0443 \u0455\u0430\u0456\u0501 Fr\u03B9day \u03B1n in\u03BDestig\u03B1tion \u03BFf Atl\u0430nt\u0430\'s re\u0441ent \u0440rimary ele\u0441tion \u0440rodu\u0441ed "no e\u03BDiden\u0441e" that any irregularities took pla\u0441e.'
    const r = normalizeWithReport(attacked)
    expect(r.text).toBe(PLAIN)
    expect(r.foldedHomoglyphs).toBe(27)
    expect(normalizeText('\u0410\u0422\u041D \u039F\u039A \u0445')).toBe('ATH OK x')
  })

  it('folds words made only of lookalikes when next to Latin text', () => {
    expect(normalizeText('I \u0455\u0435\u0435 \u0430 dog')).toBe('I see a dog')
    expect(normalizeText('\u0455\u0435\u0435')).toBe('see')
  })

  it('leaves genuine Cyrillic and Greek text alone in mixedScript scope', () => {
    const ru = 'Они пошли в сад, а потом домой. Сор и рос.'
    expect(normalizeWithReport(ru)).toEqual({ text: ru, removedInvisible: 0, foldedHomoglyphs: 0 })
    const el = 'Ο άνθρωπος και ο σκύλος.'
    expect(normalizeText(el)).toBe(el)
    // 'all' folds regardless of script
    expect(normalizeText('сад', { foldScope: 'all' })).toBe('caд')
  })

  it('folds fullwidth ASCII, math alphanumerics and Unicode spaces', () => {
    expect(
      normalizeText('\uFF28\uFF45\uFF4C\uFF4C\uFF4F\uFF0C\u3000\uFF57\uFF4F\uFF52\uFF4C\uFF44\uFF01'),
    ).toBe('Hello, world!')
    expect(
      normalizeText(
        '\u{1D407}\u{1D41E}\u{1D425}\u{1D425}\u{1D428} \u{1D5C8}\u{1D5CB}\u{1D5BD} \u{1D7D9}\u{1D7DA}',
      ),
    ).toBe('Hello ord 12')
    const r = normalizeWithReport('a\u00A0b\u2003c\u202Fd\u205Fe\u3000f')
    expect(r).toEqual({ text: 'a b c d e f', removedInvisible: 0, foldedHomoglyphs: 5 })
  })

  it('keeps fullwidth punctuation and U+3000 in CJK text', () => {
    const zh = '你好\uFF0C世界\uFF01\u3000再见\u3002'
    expect(normalizeText(zh)).toBe(zh)
    expect(normalizeText(zh, { foldScope: 'all' })).toBe('你好,世界! 再见\u3002')
  })

  it('does not fold dashes or quotes', () => {
    const s = 'a\u2010b\u2011c\u2012d\u2013e\u2014f\u2015 \u2018x\u2019 \u201Cy\u201D'
    expect(normalizeText(s)).toBe(s)
  })

  it('NFC composes combining accents, also across stripped invisibles', () => {
    expect(normalizeText('cafe\u0301 n\u0303')).toBe('caf\u00E9 \u00F1')
    expect(normalizeText('cafe\u200B\u0301')).toBe('caf\u00E9')
    expect(normalizeText('cafe\u0301', { nfc: false })).toBe('cafe\u0301')
    // precomposed lookalike: Cyrillic ё inside a Latin word folds to ë
    expect(normalizeText('No\u0451l')).toBe('No\u00EBl')
  })

  it('NFKC is opt-in', () => {
    expect(normalizeText('\uFB01ne x\u00B2')).toBe('\uFB01ne x\u00B2')
    expect(normalizeText('\uFB01ne x\u00B2', { nfkc: true })).toBe('fine x2')
  })

  it('each step can be switched off', () => {
    const s = '\u200Bh\u0435llo'
    expect(normalizeText(s, { stripInvisible: false, foldHomoglyphs: false })).toBe(s)
    expect(normalizeText(s, { foldHomoglyphs: false })).toBe('h\u0435llo')
    expect(normalizeText(s, { stripInvisible: false })).toBe('\u200Bhello')
  })

  it('validates options', () => {
    expect(NormalizeOptionsSchema.parse({})).toEqual({
      nfc: true,
      stripInvisible: true,
      foldHomoglyphs: true,
      nfkc: false,
      foldScope: 'mixedScript',
    })
    expect(() => normalizeText('x', { nfc: 'yes' } as never)).toThrow()
    expect(() => normalizeText('x', { bogus: true } as never)).toThrow()
  })
})

describe('fold fast path', () => {
  it('FOLD_CANDIDATE_RE matches every code point that folding, or NFD then folding, can change', () => {
    const missed: string[] = []
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue
      const ch = String.fromCodePoint(cp)
      if (FOLD_CANDIDATE_RE.test(ch)) continue
      // Folded alone and in Latin context, as is and after NFD (normalizeWithReport folds the NFD).
      for (const probe of [ch, `a${ch}b`, ch.normalize('NFD'), `a${ch}b`.normalize('NFD')]) {
        const r = foldHomoglyphs(probe, 'all')
        if (r.folded !== 0 || r.text !== probe) missed.push(cp.toString(16))
      }
    }
    expect(missed).toEqual([])
  }, 120_000)
})
