// Calibration harness: empirical false-positive rate of a scheme's detector on human text.
import { binomialLogSf, binomialSf } from '../core/stats/index.ts'
import { createScheme } from '../core/schemes/registry.ts'
import type { ScoringKernel } from '../core/kernel/types.ts'

export const ALPHA = 0.01

/** Smallest and largest counts x with P[Bin(n, p) ≤ x] ≥ 0.005 and P[Bin(n, p) ≥ x] ≥ 0.005. */
export function binomialInterval99(n: number, p: number): [number, number] {
  let lo = 0
  while (lo < n && Math.exp(binomialLogSf(lo + 1, n, p)) > 0.995) lo++
  let hi = n
  while (hi > 0 && binomialSf(hi, n, p) < 0.005) hi--
  return [lo, hi]
}

/** Size of the exact one-sided binomial test at level α: what a discrete test can attain. */
export function attainableSize(scored: number, gamma: number, alpha = ALPHA): number {
  for (let k = 0; k <= scored; k++) {
    const p = binomialSf(k, scored, gamma)
    if (p <= alpha) return p
  }
  return 0
}

export interface CalibrationRow {
  scheme: string
  keys: number
  windows: number
  falsePositives: number
  fpr: number
  expected: number
  interval: [number, number]
}

/**
 * Splits the windows evenly among the keys and detects each slice with its own key. With one fixed
 * key, windows are not independent trials (frequent tokens or bigrams are green or red for every
 * window at once); over many keys the false-positive count is binomial. `nullGreen` is the green
 * probability under H0 for exact red/green tests (their attainable size at α is below α), null for
 * continuous statistics.
 */
/** Deterministic test keys below 2^62 (valid for every preset, incl. the int64 KGW hash keys). */
export function testKeys(count: number, salt: number): bigint[] {
  return Array.from(
    { length: count },
    (_, i) => ((BigInt(salt) << 32n) ^ (BigInt(i + 1) * 0x9e3779b97f4a7c15n)) & 0x3fffffffffffffffn,
  )
}

export function calibrate(
  name: string,
  windows: Int32Array[],
  keys: bigint[],
  vocabSize: number,
  nullGreen: number | null,
  extra: Record<string, unknown> = {},
  kernel?: ScoringKernel,
): CalibrationRow {
  let fp = 0
  let size = 0
  let n = 0
  const per = Math.floor(windows.length / keys.length)
  for (const [k, key] of keys.entries()) {
    const scheme = createScheme(name, { key, vocabSize, pValueThreshold: ALPHA, ...extra }, { kernel })
    for (const w of windows.slice(k * per, (k + 1) * per)) {
      const r = scheme.detect(w)
      if (r.watermarked) fp++
      size += nullGreen === null ? ALPHA : attainableSize(r.scored, nullGreen)
      n++
    }
  }
  return {
    scheme: name,
    keys: keys.length,
    windows: n,
    falsePositives: fp,
    fpr: fp / n,
    expected: size / n,
    interval: binomialInterval99(n, ALPHA),
  }
}
