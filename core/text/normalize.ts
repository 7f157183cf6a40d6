// Text normalisation applied before tokenisation, so that cheap character-level attacks
// (zero-width insertion, homoglyph substitution, fullwidth or math-alphanumeric lookalikes)
// do not change the token ids a detector sees. Pure: no I/O, no platform imports.
import { z } from 'zod'

export const NormalizeOptionsSchema = z
  .object({
    // canonical composition (the Qwen tokenizer applies NFC itself; Llama 3 does not)
    nfc: z.boolean().default(true),
    stripInvisible: z.boolean().default(true),
    foldHomoglyphs: z.boolean().default(true),
    // full compatibility folding; off by default because it rewrites ordinary typography
    // (ligatures, superscripts, ellipsis, ...), which changes the tokens of clean text
    nfkc: z.boolean().default(false),
    // 'mixedScript': fold Cyrillic/Greek lookalikes only in words that are Latin or sit next to
    // Latin words, and leave fullwidth forms / U+3000 alone in text containing CJK, so genuine
    // Russian, Greek or Chinese text keeps its tokens. 'all': fold every table entry everywhere.
    foldScope: z.enum(['mixedScript', 'all']).default('mixedScript'),
  })
  .strict()

export type NormalizeOptions = z.input<typeof NormalizeOptionsSchema>
export type ResolvedNormalizeOptions = z.output<typeof NormalizeOptionsSchema>

export interface NormalizeReport {
  text: string
  removedInvisible: number
  foldedHomoglyphs: number
}

// Zero-width, invisible-operator, bidi-control, soft hyphen, Mongolian vowel separator, BOM,
// variation selectors and tag characters. Ordinary whitespace (\t \n \r, space) is kept.
// (variation selectors in their own class: a lint flags them next to base characters)
export const INVISIBLE_RE =
  /[\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\u{E0000}-\u{E007F}]|[\uFE00-\uFE0F]/gu

// Script confusables → Latin. Only letters whose usual glyph is indistinguishable from the Latin
// letter in common fonts; anything that merely resembles one (e.g. Cyrillic и, Greek η) is left.
export const SCRIPT_HOMOGLYPHS: Readonly<Record<string, string>> = Object.freeze({
  // Cyrillic lowercase
  '\u0430': 'a', // а
  '\u0435': 'e', // е
  '\u043E': 'o', // о
  '\u0440': 'p', // р
  '\u0441': 'c', // с
  '\u0443': 'y', // у
  '\u0445': 'x', // х
  '\u0456': 'i', // і
  '\u0458': 'j', // ј
  '\u0455': 's', // ѕ
  '\u0501': 'd', // ԁ
  '\u051B': 'q', // ԛ
  '\u051D': 'w', // ԝ
  // Cyrillic uppercase
  '\u0410': 'A', // А
  '\u0412': 'B', // В
  '\u0415': 'E', // Е
  '\u041A': 'K', // К
  '\u041C': 'M', // М
  '\u041D': 'H', // Н
  '\u041E': 'O', // О
  '\u0420': 'P', // Р
  '\u0421': 'C', // С
  '\u0422': 'T', // Т
  '\u0425': 'X', // Х
  '\u0405': 'S', // Ѕ
  '\u0406': 'I', // І
  '\u0408': 'J', // Ј
  // Greek lowercase
  '\u03BF': 'o', // ο
  '\u03B1': 'a', // α
  '\u03BD': 'v', // ν
  '\u03B9': 'i', // ι
  // Greek uppercase
  '\u0391': 'A', // Α
  '\u0392': 'B', // Β
  '\u0395': 'E', // Ε
  '\u0396': 'Z', // Ζ
  '\u0397': 'H', // Η
  '\u0399': 'I', // Ι
  '\u039A': 'K', // Κ
  '\u039C': 'M', // Μ
  '\u039D': 'N', // Ν
  '\u039F': 'O', // Ο
  '\u03A1': 'P', // Ρ
  '\u03A4': 'T', // Τ
  '\u03A5': 'Y', // Υ
  '\u03A7': 'X', // Χ
})

// Unicode spaces that render like an ordinary space → ' '. Dashes and curly quotes are NOT
// folded: they are normal typography and folding them would change the tokens of clean text.
const IDEOGRAPHIC_SPACE = 0x3000
const FULLWIDTH_FIRST = 0xff01
const FULLWIDTH_LAST = 0xff5e
const MATH_ALNUM_FIRST = 0x1d400
const MATH_ALNUM_LAST = 0x1d7ff

const CJK_RE = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Bopomofo}]/u
const WORD_RE = /[\p{L}\p{M}\p{N}]+/gu
const LETTER_RE = /^\p{L}$/u
const LATIN_RE = /^\p{Script=Latin}$/u

type WordClass = 'latin' | 'foreign' | 'confusable' | 'neutral'

function isMathAlnum(cp: number): boolean {
  return cp >= MATH_ALNUM_FIRST && cp <= MATH_ALNUM_LAST
}

function isSpace(cp: number): boolean {
  return (
    cp === 0x00a0 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === IDEOGRAPHIC_SPACE
  )
}

function isFullwidth(cp: number): boolean {
  return cp >= FULLWIDTH_FIRST && cp <= FULLWIDTH_LAST
}

// Fullwidth and math letters count as Latin: they are Latin letters in disguise.
function classifyWord(word: string): WordClass {
  let latin = false
  let foreign = false
  let confusable = false
  for (const ch of word) {
    if (!LETTER_RE.test(ch)) continue
    const cp = ch.codePointAt(0) as number
    if (LATIN_RE.test(ch) || isMathAlnum(cp) || isFullwidth(cp)) latin = true
    else if (SCRIPT_HOMOGLYPHS[ch] !== undefined) confusable = true
    else foreign = true
  }
  if (latin) return 'latin'
  if (foreign) return 'foreign'
  return confusable ? 'confusable' : 'neutral'
}

// Ranges of the string (UTF-16 offsets) whose script confusables should be folded.
function foldableWordRanges(text: string): Array<[number, number]> {
  const words: Array<{ start: number; end: number; cls: WordClass }> = []
  for (const m of text.matchAll(WORD_RE)) {
    const start = m.index as number
    words.push({ start, end: start + m[0].length, cls: classifyWord(m[0]) })
  }
  const ranges: Array<[number, number]> = []
  for (let i = 0; i < words.length; i++) {
    const w = words[i]
    if (w.cls === 'latin') {
      ranges.push([w.start, w.end])
      continue
    }
    if (w.cls !== 'confusable') continue
    // a word made only of lookalikes ("а", "ѕее") is folded when the nearest decisive word on
    // either side is Latin, or when there is no decisive word at all
    let prev: WordClass | undefined
    for (let j = i - 1; j >= 0 && prev === undefined; j--) {
      if (words[j].cls === 'latin' || words[j].cls === 'foreign') prev = words[j].cls
    }
    let next: WordClass | undefined
    for (let j = i + 1; j < words.length && next === undefined; j++) {
      if (words[j].cls === 'latin' || words[j].cls === 'foreign') next = words[j].cls
    }
    if (prev === 'latin' || next === 'latin' || (prev === undefined && next === undefined)) {
      ranges.push([w.start, w.end])
    }
  }
  return ranges
}

/** Folds lookalikes (exported for the fast path's exhaustive test; callers use normalizeWithReport). */
export function foldHomoglyphs(text: string, scope: 'mixedScript' | 'all'): { text: string; folded: number } {
  const all = scope === 'all'
  const cjk = !all && CJK_RE.test(text)
  const ranges = all ? [] : foldableWordRanges(text)
  let r = 0
  let folded = 0
  let out = ''
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i) as number
    const ch = String.fromCodePoint(cp)
    const width = ch.length
    let repl: string | undefined
    if (isMathAlnum(cp)) {
      // NFKC of just this range maps styled letters/digits to plain ones
      const k = ch.normalize('NFKC')
      if (k !== ch) repl = k
    } else if (isFullwidth(cp)) {
      if (!cjk) repl = String.fromCharCode(cp - 0xfee0)
    } else if (isSpace(cp)) {
      if (!(cjk && cp === IDEOGRAPHIC_SPACE)) repl = ' '
    } else {
      const latin = SCRIPT_HOMOGLYPHS[ch]
      if (latin !== undefined) {
        if (all) repl = latin
        else {
          while (r < ranges.length && ranges[r][1] <= i) r++
          if (r < ranges.length && ranges[r][0] <= i) repl = latin
        }
      }
    }
    if (repl === undefined) out += ch
    else {
      out += repl
      folded++
    }
    i += width
  }
  return { text: out, folded }
}

/**
 * Every character foldHomoglyphs can change, and every precomposed character whose NFD contains one
 * (Greek and Cyrillic blocks whole, Greek Extended): a superset, so text without any of them (most
 * text) skips the word scan and the per-character rebuild. Exhaustively checked in normalize.test.ts.
 */
export const FOLD_CANDIDATE_RE =
  /[\u00A0\u0370-\u052F\u1F00-\u1FFF\u2000-\u200A\u202F\u205F\u3000\uFF01-\uFF5E]|[\u{1D400}-\u{1D7FF}]/u

const DEFAULT_OPTIONS = NormalizeOptionsSchema.parse({})

const DEFAULT_ARG: NormalizeOptions = Object.freeze({})

export function normalizeWithReport(text: string, options: NormalizeOptions = DEFAULT_ARG): NormalizeReport {
  // The defaults are resolved once: detection normalises every request's text with them.
  const opts = options === DEFAULT_ARG ? DEFAULT_OPTIONS : NormalizeOptionsSchema.parse(options)
  let s = text
  let removedInvisible = 0
  let foldedHomoglyphs = 0
  // strip first: an invisible char between a base letter and its combining mark would
  // otherwise block composition and word detection
  if (opts.stripInvisible) {
    s = s.replace(INVISIBLE_RE, () => {
      removedInvisible++
      return ''
    })
  }
  if (opts.nfkc) s = s.normalize('NFKC')
  if (opts.foldHomoglyphs && !FOLD_CANDIDATE_RE.test(s)) {
    // Nothing to fold: NFC(NFD(s)) = NFC(s), NFKC(NFD(s)) = NFKC(s).
    if (opts.nfkc) s = s.normalize('NFKC')
    else if (opts.nfc) s = s.normalize('NFC')
  } else if (opts.foldHomoglyphs) {
    // fold on the decomposed form so precomposed lookalikes (Cyrillic ё = е + U+0308) fold too;
    // only when recomposing afterwards, since NFC(NFD(x)) = NFC(x)
    const recompose = opts.nfc || opts.nfkc
    const r = foldHomoglyphs(recompose ? s.normalize('NFD') : s, opts.foldScope)
    s = r.text
    foldedHomoglyphs = r.folded
    if (recompose) s = s.normalize(opts.nfkc ? 'NFKC' : 'NFC')
  } else if (opts.nfc) {
    s = s.normalize('NFC')
  }
  return { text: s, removedInvisible, foldedHomoglyphs }
}

export function normalizeText(text: string, options: NormalizeOptions = DEFAULT_ARG): string {
  return normalizeWithReport(text, options).text
}
