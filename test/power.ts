// Shared power-test harness: watermark with the scheme, detect with the right and a wrong key.
import { createScheme } from '../core/schemes/registry.ts'
import { generate } from './simulated-lm.ts'

export const VOCAB = 1000
export const KEY = 0x5eed_c0ffeen
export const WRONG_KEY = 0x5eed_c0fffen

export interface PowerRow {
  scheme: string
  length: number
  trials: number
  rate1e3: number
  rate1e6: number
  wrongKeyRate1e3: number
  medianLog10P: number
}

export function powerRun(
  name: string,
  extra: Record<string, unknown>,
  lengths: number[],
  trials: number,
  vocab = VOCAB,
): PowerRow[] {
  const scheme = createScheme(name, { key: KEY, vocabSize: vocab, ...extra })
  const wrong = createScheme(name, { key: WRONG_KEY, vocabSize: vocab, ...extra })
  const max = Math.max(...lengths)
  const texts = Array.from({ length: trials }, (_, t) => generate(scheme, vocab, t, max))
  return lengths.map((length) => {
    const ps = texts.map((tokens) => scheme.detect(tokens.slice(0, length)).logPValue)
    const wrongPs = texts.map((tokens) => wrong.detect(tokens.slice(0, length)).logPValue)
    const rate = (xs: number[], p: number) => xs.filter((l) => l < Math.log(p)).length / xs.length
    const sorted = [...ps].sort((a, b) => a - b)
    return {
      scheme: name,
      length,
      trials,
      rate1e3: rate(ps, 1e-3),
      rate1e6: rate(ps, 1e-6),
      wrongKeyRate1e3: rate(wrongPs, 1e-3),
      medianLog10P: sorted[Math.floor(trials / 2)] / Math.LN10,
    }
  })
}
