// The hand-written pre-tokeniser scanner against the RegExp the reference compiles from each
// tokenizer.json: same pieces on adversarial text and on random code points from all of Unicode.
import { SplitPreTokenizer } from '@huggingface/tokenizers'
import { describe, expect, it } from 'vitest'
import { loadTokenizerFiles } from '../cli/tokenizers-node.ts'
import { scannerDigits, scanPiece } from '../core/tokenizers/bpe/pretokenize.ts'
import { adversarialTexts } from './tokenizer-adversarial.ts'

function regexPieces(re: RegExp, s: string): string[] {
  const out: string[] = []
  let prev = 0
  for (const m of s.matchAll(re)) {
    if (m.index > prev) out.push(s.slice(prev, m.index))
    if (m[0].length > 0) out.push(m[0])
    prev = m.index + m[0].length
  }
  if (prev < s.length) out.push(s.slice(prev))
  return out
}

function scannerPieces(s: string, digits: number): string[] {
  const out: string[] = []
  for (let i = 0; i < s.length; ) {
    const j = scanPiece(s, i, digits)
    out.push(s.slice(i, j))
    i = j
  }
  return out
}

// random code points: mostly from interesting ranges, some from anywhere (lone surrogates too)
function randomText(rand: () => number): string {
  const picks = [
    () =>
      ' \t\n\r\u000b\u000c\u0085\u00a0\u1680\u2000\u2028\u2029\u202f\u205f\u3000'[Math.floor(rand() * 16)],
    () => "'sStTrReEvVmMlLdD"[Math.floor(rand() * 17)],
    () => String.fromCharCode(0x20 + Math.floor(rand() * 0x5f)),
    () => String.fromCharCode(Math.floor(rand() * 0x800)),
    () => String.fromCharCode(0xd800 + Math.floor(rand() * 0x800)),
    () => String.fromCodePoint(Math.floor(rand() * 0x110000)),
    () => String.fromCodePoint(0x1f300 + Math.floor(rand() * 0x300)),
    () => String.fromCodePoint(0x4e00 + Math.floor(rand() * 0x5000)),
  ]
  let s = ''
  const n = 1 + Math.floor(rand() * 40)
  for (let k = 0; k < n; k++) s += picks[Math.floor(rand() * picks.length)]()
  return s
}

describe.each(['qwen3', 'llama3'])('%s pre-tokeniser scanner', (id) => {
  const { tokenizerJson } = loadTokenizerFiles(id)
  const split = (tokenizerJson as { pre_tokenizer: { pretokenizers: object[] } }).pre_tokenizer
    .pretokenizers[0]
  const re = new SplitPreTokenizer(split as ConstructorParameters<typeof SplitPreTokenizer>[0])
    .pattern as RegExp
  const digits = scannerDigits(re.source, re.flags)

  it('recognises the pattern the reference compiles', () => {
    expect(digits).toBe(id === 'llama3' ? 3 : 1)
    expect(scannerDigits(re.source.replace('\\p{L}+', '\\p{L}*'), re.flags)).toBe(0)
  })

  it('splits adversarial text exactly as the RegExp', () => {
    for (const s of adversarialTexts(500, 3)) expect(scannerPieces(s, digits)).toEqual(regexPieces(re, s))
  })

  it('splits 100,000 random strings exactly as the RegExp', () => {
    let x = 12345
    const rand = () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0
      return x / 4294967296
    }
    for (let k = 0; k < 100_000; k++) {
      const s = randomText(rand)
      const got = scannerPieces(s, digits)
      if (got.join('\u0000') !== regexPieces(re, s).join('\u0000'))
        expect(got, JSON.stringify(s)).toEqual(regexPieces(re, s))
    }
  })
})
