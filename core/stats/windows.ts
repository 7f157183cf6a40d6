// Windowed detection: find a watermarked span inside mostly human text (WinMax-style),
// with a p-value that stays honest after searching over many windows.
//
// WinMax (lm-watermarking) reports the max z over all window sizes uncorrected, and its own
// code notes that this is not a valid p-value. Here the search is a fixed, modest plan
// (geometric sizes, half-overlapping strides) and the minimum window p is multiplied by the
// number of windows tried (Bonferroni). Overlapping windows are strongly dependent; Bonferroni
// needs no independence (union bound), so it is valid whatever the dependence, merely
// conservative; keeping the plan small keeps that price to ln(#windows) nats.
import { binomialLogSf } from './binomial.ts'
import { bonferroni } from './pvalue.ts'

export interface WindowOptions {
  /** Smallest window (default 16). If n <= minSize only the full sequence is scored. */
  minSize?: number
  /** Size multiplier between window sizes (default 2). */
  growth?: number
  /** Stride as a fraction of the window size (default 0.25: a span is never more than a quarter window off a grid window, worth more power than the ln 2 the extra windows cost). */
  strideFraction?: number
}

export interface WindowResult {
  /** Bonferroni-corrected ln p of the best window. */
  logP: number
  p: number
  /** Best window, half-open [windowStart, windowEnd) over the scored positions. */
  windowStart: number
  windowEnd: number
  windowsTried: number
  /** Uncorrected ln p of the best window (for display only). */
  rawLogP: number
}

/** Windows tried for a sequence of length n, as half-open [start, end) pairs. */
export function windowPlan(n: number, opts: WindowOptions = {}): Array<[number, number]> {
  const minSize = Math.max(1, Math.floor(opts.minSize ?? 16))
  const growth = opts.growth ?? 2
  const strideFraction = opts.strideFraction ?? 0.25
  if (!(growth > 1)) throw new RangeError(`windowPlan: growth must be > 1, got ${growth}`)
  if (!(strideFraction > 0 && strideFraction <= 1))
    throw new RangeError('windowPlan: strideFraction must be in (0, 1]')
  if (n <= 0) return []
  const sizes: number[] = []
  for (let s = minSize; s < n; s = Math.max(s + 1, Math.ceil(s * growth))) sizes.push(s)
  sizes.push(n)
  const plan: Array<[number, number]> = []
  for (const s of sizes) {
    const stride = Math.max(1, Math.floor(s * strideFraction))
    let start = 0
    for (; start + s <= n; start += stride) plan.push([start, start + s])
    // Also cover the tail so a span at the very end is not missed by the stride grid.
    const last = plan[plan.length - 1]
    if (last[1] < n) plan.push([n - s, n])
  }
  return plan
}

/** Generic search: windowLogP(start, end) gives the exact ln p of one window. */
export function windowedLogP(
  n: number,
  windowLogP: (start: number, end: number) => number,
  opts: WindowOptions = {},
): WindowResult {
  const plan = windowPlan(n, opts)
  if (plan.length === 0) return { logP: 0, p: 1, windowStart: 0, windowEnd: 0, windowsTried: 0, rawLogP: 0 }
  let best = 0
  let bestLogP = Infinity
  for (let i = 0; i < plan.length; i++) {
    const l = windowLogP(plan[i][0], plan[i][1])
    if (l < bestLogP) {
      bestLogP = l
      best = i
    }
  }
  const logP = bonferroni(bestLogP, plan.length)
  return {
    logP,
    p: Math.exp(logP),
    windowStart: plan[best][0],
    windowEnd: plan[best][1],
    windowsTried: plan.length,
    rawLogP: bestLogP,
  }
}

/** Red/green: flags are 0/1 green indicators of the de-duplicated scored tokens, γ the green fraction. */
export function windowedBinomial(
  flags: ArrayLike<number>,
  gamma: number,
  opts: WindowOptions = {},
): WindowResult {
  const prefix = new Int32Array(flags.length + 1)
  for (let i = 0; i < flags.length; i++) prefix[i + 1] = prefix[i] + (flags[i] ? 1 : 0)
  return windowedLogP(flags.length, (s, e) => binomialLogSf(prefix[e] - prefix[s], e - s, gamma), opts)
}

/**
 * Per-token scores (e.g. Gumbel s_i = −ln(1−u_i)) with logPOfSum(sum, count) giving the
 * window's exact ln p, e.g. (s, t) => gammaLogSfInt(s, t). Window sums are formed directly
 * (not from prefix differences) so they carry no cancellation error.
 */
export function windowedScores(
  scores: ArrayLike<number>,
  logPOfSum: (sum: number, count: number) => number,
  opts: WindowOptions = {},
): WindowResult {
  return windowedLogP(
    scores.length,
    (s, e) => {
      let sum = 0
      for (let i = s; i < e; i++) sum += scores[i]
      return logPOfSum(sum, e - s)
    },
    opts,
  )
}
