// Turning per-position evidence into a DetectionResult: shared by every scheme so that
// de-duplication, thresholds, per-token detail and windowing behave the same everywhere.
import { binomialLogSf, normalSf, windowedBinomial, windowedLogP, zScoreBinomial } from '../stats/index.ts'
import type { ScoringKernel } from '../kernel/types.ts'
import type { DetectionResult, DetectOptions, TokenDetail, WindowResult } from './types.ts'

export function toInt32(tokens: Int32Array | readonly number[]): Int32Array {
  if (tokens instanceof Int32Array) return tokens
  const out = new Int32Array(tokens.length)
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]
    if (!Number.isInteger(t) || t < -2147483648 || t > 2147483647)
      throw new RangeError(`token id ${t} is not an int32`)
    out[i] = t
  }
  return out
}

/** First occurrences of each context (plus the token when `withToken`), or null when de-dup is off. */
export function firstSeen(
  kernel: ScoringKernel,
  tokens: Int32Array,
  width: number,
  withToken: boolean,
  dedup: boolean,
): Uint8Array | null {
  if (!dedup) return null
  const first = new Uint8Array(tokens.length)
  kernel.firstOccurrence(tokens, width, withToken, first)
  return first
}

/** Positions that enter the statistic: scorable (full context) and, with dedup, first occurrences. */
export function countedMask(n: number, firstScorable: number, firstSeen: Uint8Array | null): Uint8Array {
  const counted = new Uint8Array(n)
  for (let i = Math.max(0, firstScorable); i < n; i++) counted[i] = firstSeen ? firstSeen[i] : 1
  return counted
}

function perTokenDetail(
  tokens: Int32Array,
  scores: ArrayLike<number> | null,
  counted: Uint8Array,
  scorable: (i: number) => boolean,
): TokenDetail[] {
  return Array.from(tokens, (token, i) => ({
    token,
    score: scores && scorable(i) ? scores[i] : null,
    counted: counted[i] === 1,
  }))
}

/** Maps a window over the counted positions back to token positions. */
function windowToTokens(
  w: { windowStart: number; windowEnd: number; logP: number; p: number; windowsTried: number },
  countedIdx: number[],
): WindowResult {
  return {
    start: countedIdx[w.windowStart] ?? 0,
    end: w.windowEnd > 0 ? countedIdx[w.windowEnd - 1] + 1 : 0,
    pValue: w.p,
    logPValue: w.logP,
    windowsTried: w.windowsTried,
  }
}

interface Common {
  scheme: string
  tokens: Int32Array
  counted: Uint8Array
  threshold: number
  options: DetectOptions
  scorable: (i: number) => boolean
}

/** Red/green result: exact one-sided binomial test of the green count among counted tokens. */
export function redGreenResult(c: Common & { green: Uint8Array; gamma: number }): DetectionResult {
  const flags: number[] = []
  const idx: number[] = []
  for (let i = 0; i < c.tokens.length; i++) {
    if (c.counted[i]) {
      flags.push(c.green[i])
      idx.push(i)
    }
  }
  const scored = flags.length
  const greens = flags.reduce((a, b) => a + b, 0)
  const logP = scored === 0 ? 0 : binomialLogSf(greens, scored, c.gamma)
  const result: DetectionResult = {
    scheme: c.scheme,
    tokens: c.tokens.length,
    scored,
    statistic: greens,
    pValue: Math.exp(logP),
    logPValue: logP,
    zScore: scored === 0 ? 0 : zScoreBinomial(greens, scored, c.gamma),
    watermarked: scored > 0 && logP <= Math.log(c.threshold),
    threshold: c.threshold,
  }
  if (c.options.perToken) result.perToken = perTokenDetail(c.tokens, c.green, c.counted, c.scorable)
  if (c.options.windowed && scored > 0) {
    result.window = windowToTokens(windowedBinomial(flags, c.gamma), idx)
    if (result.window.logPValue <= Math.log(c.threshold)) result.watermarked = true
  }
  return result
}

/** Neumaier-compensated sum: the best-defined target for a float64 sum (vLLM compares at 1e-9). */
export function exactishSum(values: ArrayLike<number>, mask?: Uint8Array): number {
  let sum = 0
  let comp = 0
  for (let i = 0; i < values.length; i++) {
    if (mask && !mask[i]) continue
    const v = values[i]
    const t = sum + v
    comp += Math.abs(sum) >= Math.abs(v) ? sum - t + v : v - t + sum
    sum = t
  }
  return sum + comp
}

/** Continuous-score result: `logPOf(sum, count)` gives ln p for a window or the whole text. */
export function scoreSumResult(
  c: Common & {
    scores: Float64Array
    logPOf: (sum: number, count: number) => number
    zOf?: (sum: number, count: number) => number
  },
): DetectionResult {
  const vals: number[] = []
  const idx: number[] = []
  for (let i = 0; i < c.tokens.length; i++) {
    if (c.counted[i]) {
      vals.push(c.scores[i])
      idx.push(i)
    }
  }
  const scored = vals.length
  const sum = exactishSum(vals)
  const logP = scored === 0 ? 0 : c.logPOf(sum, scored)
  const result: DetectionResult = {
    scheme: c.scheme,
    tokens: c.tokens.length,
    scored,
    statistic: sum,
    pValue: Math.exp(logP),
    logPValue: logP,
    watermarked: scored > 0 && logP <= Math.log(c.threshold),
    threshold: c.threshold,
  }
  if (c.zOf) result.zScore = scored === 0 ? 0 : c.zOf(sum, scored)
  if (c.options.perToken) result.perToken = perTokenDetail(c.tokens, c.scores, c.counted, c.scorable)
  if (c.options.windowed && scored > 0) {
    const prefix = new Float64Array(scored + 1)
    for (let i = 0; i < scored; i++) prefix[i + 1] = prefix[i] + vals[i]
    const w = windowedLogP(scored, (s, e) => c.logPOf(prefix[e] - prefix[s], e - s))
    result.window = windowToTokens(w, idx)
    if (result.window.logPValue <= Math.log(c.threshold)) result.watermarked = true
  }
  return result
}

/** One-sided p-value threshold equivalent to a z threshold (the references' defaults). */
export const pForZ = (z: number) => normalSf(z)
