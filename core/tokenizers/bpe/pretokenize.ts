// Hand-written scanner for the pre-tokeniser regex family of Qwen2/Qwen3 and Llama 3 (GPT-4o
// style), as the reference compiles it:
//   (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,K}
//   | ?[^\p{White_Space}\p{L}\p{N}]+[\r\n]*|\p{White_Space}*[\r\n]+|\p{White_Space}+(?!\P{White_Space})
//   |\p{White_Space}+
// It returns the same pieces as the regex (leftmost alternative, greedy with backtracking)
// without allocating; any other pattern runs through the RegExp itself. Exactness against the
// RegExp is fuzzed in test/tokenizer-pretokenize.test.ts.

const PATTERN_HEAD =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
const PATTERN_TAIL =
  '| ?[^\\p{White_Space}\\p{L}\\p{N}]+[\\r\\n]*|\\p{White_Space}*[\\r\\n]+|\\p{White_Space}+(?!\\P{White_Space})|\\p{White_Space}+'

/** Maximum digits per piece if `source` is a pattern this scanner implements, else 0. */
export function scannerDigits(source: string, flags: string): number {
  if (!flags.includes('u')) return 0
  if (source === `${PATTERN_HEAD}${PATTERN_TAIL}`) return 1
  if (source === `${PATTERN_HEAD}{1,3}${PATTERN_TAIL}`) return 3
  return 0
}

const L = 1
const N = 2
const WS = 4
const KNOWN = 8
// classes by code point, filled on first sight (non-ASCII) from the same Unicode properties
let classes: Uint8Array | undefined
const RE_L = /\p{L}/u
const RE_N = /\p{N}/u
const RE_WS = /\p{White_Space}/u

function classify(cp: number): number {
  const s = String.fromCodePoint(cp)
  return KNOWN | (RE_L.test(s) ? L : 0) | (RE_N.test(s) ? N : 0) | (RE_WS.test(s) ? WS : 0)
}

const ASCII = (() => {
  const t = new Uint8Array(128)
  for (let c = 0; c < 128; c++) t[c] = classify(c)
  return t
})()

function classOf(cp: number): number {
  if (cp < 128) return ASCII[cp]
  classes ??= new Uint8Array(0x110000)
  let k = classes[cp]
  if (k === 0) k = classes[cp] = classify(cp)
  return k
}

// code point at i as the `u` flag reads it: a valid pair is one code point, a lone surrogate
// is itself
function cpAt(s: string, i: number): number {
  const c = s.charCodeAt(i)
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1)
    if (d >= 0xdc00 && d <= 0xdfff) return 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
  }
  return c
}

const width = (cp: number): number => (cp > 0xffff ? 2 : 1)

// end of the run of code points of class `mask` starting at j
function runOf(s: string, j: number, mask: number): number {
  const n = s.length
  while (j < n) {
    const cp = cpAt(s, j)
    if ((classOf(cp) & mask) === 0) break
    j += width(cp)
  }
  return j
}

// end of the run of "other" code points (not L, N or White_Space) starting at j
function runOfOther(s: string, j: number): number {
  const n = s.length
  while (j < n) {
    const cp = cpAt(s, j)
    if ((classOf(cp) & (L | N | WS)) !== 0) break
    j += width(cp)
  }
  return j
}

/** End (exclusive) of the piece that starts at i (< s.length); pieces are contiguous. */
export function scanPiece(s: string, i: number, maxDigits: number): number {
  const n = s.length
  const c = cpAt(s, i)
  const w = width(c)
  // 's 't 're 've 'm 'll 'd, either case
  if (c === 0x27 && i + 1 < n) {
    const d = s.charCodeAt(i + 1) | 0x20
    if (d === 0x73 || d === 0x74 || d === 0x6d || d === 0x64) return i + 2
    if (i + 2 < n) {
      const e = s.charCodeAt(i + 2) | 0x20
      if ((d === 0x72 || d === 0x76) && e === 0x65) return i + 3
      if (d === 0x6c && e === 0x6c) return i + 3
    }
  }
  const k = classOf(c)
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (k & L) return runOf(s, i + w, L)
  if ((k & N) === 0 && c !== 0x0a && c !== 0x0d && i + w < n && classOf(cpAt(s, i + w)) & L) {
    return runOf(s, i + w, L)
  }
  // \p{N}{1,K}
  if (k & N) {
    let j = i + w
    for (let count = 1; count < maxDigits && j < n; count++) {
      const cp = cpAt(s, j)
      if ((classOf(cp) & N) === 0) break
      j += width(cp)
    }
    return j
  }
  //  ?[^\s\p{L}\p{N}]+[\r\n]*
  let p = -1
  if (c === 0x20 && i + 1 < n && (classOf(cpAt(s, i + 1)) & (L | N | WS)) === 0) p = i + 1
  else if ((k & WS) === 0) p = i
  if (p >= 0) {
    let j = runOfOther(s, p)
    while (j < n) {
      const u = s.charCodeAt(j)
      if (u !== 0x0a && u !== 0x0d) break
      j++
    }
    return j
  }
  // c is White_Space (all of which are in the BMP)
  const e = runOf(s, i, WS)
  // \s*[\r\n]+ : up to the last line break in the run
  for (let j = e - 1; j >= i; j--) {
    const u = s.charCodeAt(j)
    if (u === 0x0a || u === 0x0d) return j + 1
  }
  // \s+(?!\S) : the run minus its last character, unless it ends the text
  if (e === n) return e
  if (e - i >= 2) return e - 1
  return e
}
