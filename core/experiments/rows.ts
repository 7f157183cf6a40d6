// Detection of one experiment text on its prefixes: TPR as a function of T needs the p-value of the
// first T tokens for every T of the spec, plus the whole text.
import type { WatermarkScheme } from '../schemes/types.ts'
import type { PrefixDetection } from './types.ts'

export function detectPrefixes(
  scheme: WatermarkScheme,
  tokens: Int32Array,
  lengths: readonly number[],
): PrefixDetection[] {
  const at = (t: number): PrefixDetection => {
    if (t === 0) return { tokens: 0, scored: 0, logPValue: 0, statistic: 0 }
    const r = scheme.detect(tokens.subarray(0, t), { dedup: true })
    // JSON has no −Infinity: a p-value below every double is stored as the most negative finite log.
    const logP = Number.isFinite(r.logPValue) ? r.logPValue : -Number.MAX_VALUE
    return { tokens: t, scored: r.scored, logPValue: logP, statistic: r.statistic }
  }
  const out = lengths.filter((t) => t > 0 && t < tokens.length).map(at)
  out.push(at(tokens.length))
  return out
}

/** Seed of sample s: shared by every cell and by the watermarked and unwatermarked runs (paired). */
export function sampleSeed(experimentSeed: number, sample: number): number {
  let h = (experimentSeed ^ 0x9e3779b9) >>> 0
  h = Math.imul(h ^ (sample + 0x7f4a7c15), 0x85ebca6b) >>> 0
  return (h ^ (h >>> 13)) >>> 0
}
