// Multi-key detection: a tenant may hold several active keys (and schemes). Test every one and
// correct for the number tried (Holm; the smallest adjusted p equals Bonferroni's m·p_min), so
// holding more keys does not raise the false-positive rate.
import { holm } from '../stats/index.ts'
import type { DetectionResult, DetectOptions, WatermarkScheme } from './types.ts'

export interface KeyedScheme {
  keyId: string
  scheme: WatermarkScheme
  /** This key's token ids, when its tokenizer differs from the shared `tokens`. */
  tokens?: Int32Array | readonly number[]
}

export interface MultiKeyResult {
  /** The best key's result, with its p-value adjusted for the keys tried. */
  best: DetectionResult
  keysTried: number
  /** Every key's result, p-values Holm-adjusted (rawPValue keeps the unadjusted one). */
  results: Array<DetectionResult & { rawPValue: number; rawLogPValue: number }>
}

export function detectWithKeys(
  candidates: readonly KeyedScheme[],
  tokens: Int32Array | readonly number[],
  options: DetectOptions = {},
): MultiKeyResult {
  if (candidates.length === 0) throw new RangeError('detectWithKeys: no keys to test')
  const raw = candidates.map(({ keyId, scheme, tokens: own }) => ({
    ...scheme.detect(own ?? tokens, options),
    keyId,
  }))
  const adjusted = holm(raw.map((r) => r.logPValue))
  const results = raw.map((r, i) => ({
    ...r,
    rawPValue: r.pValue,
    rawLogPValue: r.logPValue,
    logPValue: adjusted[i],
    pValue: Math.exp(adjusted[i]),
    watermarked: adjusted[i] <= Math.log(r.threshold),
  }))
  let best = 0
  for (let i = 1; i < results.length; i++) if (results[i].logPValue < results[best].logPValue) best = i
  return { best: results[best], keysTried: candidates.length, results }
}
