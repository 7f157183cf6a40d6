// Exact binomial tails in log space (red/green detection: greens ~ Bin(T, γ) under H0).
import { bd0, LN_2PI, log1mExp, stirlerr } from './log-math.ts'

// Relative size below which the rest of a monotone, log-concave sum no longer matters.
const SUM_EPS = 1e-17

/**
 * ln P[X = x] for X ~ Bin(n, p), via Loader's saddle-point form: accurate to a few ulps
 * even for huge n, where ln C(n,x) − … would lose digits to cancellation.
 */
export function binomialLogPmf(x: number, n: number, p: number): number {
  if (!Number.isInteger(x) || x < 0 || x > n) return -Infinity
  const q = 1 - p
  if (p === 0) return x === 0 ? 0 : -Infinity
  if (q === 0) return x === n ? 0 : -Infinity
  if (x === 0) return n === 0 ? 0 : p < 0.1 ? -bd0(n, n * q) - n * p : n * Math.log1p(-p)
  if (x === n) return q < 0.1 ? -bd0(n, n * p) - n * q : n * Math.log(p)
  const lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(x, n * p) - bd0(n - x, n * q)
  const lf = LN_2PI + Math.log(x) + Math.log1p(-x / n)
  return lc - 0.5 * lf
}

function checkArgs(n: number, p: number): void {
  if (!Number.isInteger(n) || n < 0)
    throw new RangeError(`binomial: n must be a non-negative integer, got ${n}`)
  if (!(p >= 0 && p <= 1)) throw new RangeError(`binomial: p must be in [0, 1], got ${p}`)
}

// Terms decrease monotonically away from the mode, so each tail is summed from its largest
// term outward, scaled by that term (log-sum-exp anchored at the maximum).
function logUpperFrom(k: number, n: number, p: number): number {
  const r = p / (1 - p)
  let t = 1
  let sum = 1
  for (let c = k; c < n; c++) {
    const ratio = ((n - c) / (c + 1)) * r
    t *= ratio
    sum += t
    if (t === 0 || (ratio < 1 && (t * ratio) / (1 - ratio) < sum * SUM_EPS)) break
  }
  return binomialLogPmf(k, n, p) + Math.log(sum)
}

function logLowerFrom(j: number, n: number, p: number): number {
  const r = (1 - p) / p
  let t = 1
  let sum = 1
  for (let c = j; c > 0; c--) {
    const ratio = (c / (n - c + 1)) * r
    t *= ratio
    sum += t
    if (t === 0 || (ratio < 1 && (t * ratio) / (1 - ratio) < sum * SUM_EPS)) break
  }
  return binomialLogPmf(j, n, p) + Math.log(sum)
}

/**
 * ln P[X >= k] for X ~ Bin(n, p), the upper tail including k (vLLM `_binomial_survival`):
 * 0 (p = 1) when k <= 0, −Infinity when k > n. Non-integer k means P[X >= ceil(k)].
 */
export function binomialLogSf(k: number, n: number, p: number): number {
  checkArgs(n, p)
  if (Number.isNaN(k)) return Number.NaN
  k = Math.ceil(k)
  if (k <= 0) return 0
  if (k > n) return -Infinity
  if (p === 0) return -Infinity
  if (p === 1) return 0
  const mode = Math.floor((n + 1) * p)
  if (k > mode) return Math.min(0, logUpperFrom(k, n, p))
  // k at or below the mode: the tail is >= ~1/2, so take 1 − P[X <= k−1] for relative accuracy.
  return log1mExp(Math.min(0, logLowerFrom(k - 1, n, p)))
}

/** P[X >= k]; underflows to 0 below ~1e-308, use binomialLogSf there. */
export function binomialSf(k: number, n: number, p: number): number {
  return Math.exp(binomialLogSf(k, n, p))
}

/** ln P[X <= k] for X ~ Bin(n, p). */
export function binomialLogCdf(k: number, n: number, p: number): number {
  checkArgs(n, p)
  if (Number.isNaN(k)) return Number.NaN
  k = Math.floor(k)
  if (k < 0) return -Infinity
  if (k >= n) return 0
  if (p === 0) return 0
  if (p === 1) return -Infinity
  const mode = Math.floor((n + 1) * p)
  if (k < mode) return Math.min(0, logLowerFrom(k, n, p))
  return log1mExp(Math.min(0, logUpperFrom(k + 1, n, p)))
}
