// Gamma survival in log space (Gumbel detection: S = Σ −ln(1−u_i) ~ Gamma(T, 1) under H0).
import { bd0, LN_2PI, log1mExp, stirlerr } from './log-math.ts'

const SUM_EPS = 1e-17
const CF_EPS = 1e-16
const TINY = 1e-300
const MAX_ITER = 10_000_000

/** ln P[N = x] for N ~ Poisson(λ), integer x >= 0 (Loader's form, no big cancellations). */
export function poissonLogPmf(x: number, lambda: number): number {
  if (!Number.isInteger(x) || x < 0) return -Infinity
  if (lambda === 0) return x === 0 ? 0 : -Infinity
  if (x === 0) return -lambda
  return -stirlerr(x) - bd0(x, lambda) - 0.5 * (LN_2PI + Math.log(x))
}

/**
 * ln P[Gamma(T,1) >= S] for integer shape T: −S + ln Σ_{k<T} S^k/k! (vLLM
 * `_gamma_survival_integer_shape`). Returns 0 (p = 1) if T <= 0 or S <= 0.
 * Evaluated as the Poisson(S) lower tail P[N <= T−1], summed from its largest term.
 */
export function gammaLogSfInt(score: number, shape: number): number {
  if (Number.isNaN(score) || Number.isNaN(shape)) return Number.NaN
  if (shape <= 0 || score <= 0) return 0
  if (!Number.isInteger(shape)) return gammaLogQ(shape, score)
  if (score === Infinity) return -Infinity
  const j = shape - 1
  if (j < score) {
    // Terms S^c/c! increase up to c ≈ S, so they fall monotonically from c = j downward.
    let t = 1
    let sum = 1
    for (let c = j; c > 0; c--) {
      const ratio = c / score
      t *= ratio
      sum += t
      if (t === 0 || (t * ratio) / (1 - ratio) < sum * SUM_EPS) break
    }
    return Math.min(0, poissonLogPmf(j, score) + Math.log(sum))
  }
  // The sum covers the Poisson mode, so p >= ~1/2: take 1 − P[N >= T] for relative accuracy.
  let t = 1
  let sum = 1
  for (let c = shape; c < MAX_ITER + shape; c++) {
    const ratio = score / (c + 1)
    t *= ratio
    sum += t
    if (t === 0 || (t * ratio) / (1 - ratio) < sum * SUM_EPS) break
  }
  return log1mExp(Math.min(0, poissonLogPmf(shape, score) + Math.log(sum)))
}

/** P[Gamma(T,1) >= S] for integer T; underflows to 0, use gammaLogSfInt for tiny p. */
export function gammaSfInt(score: number, shape: number): number {
  return Math.exp(gammaLogSfInt(score, shape))
}

// ln(x^a e^{−x} / Γ(a+1)), the common prefactor of both expansions, in Loader's form.
function logPrefactor(a: number, x: number): number {
  return -stirlerr(a) - bd0(a, x) - 0.5 * (LN_2PI + Math.log(a))
}

// ln P(a, x) by the series Σ x^n / ((a+1)…(a+n)); converges fast for x < a + 1.
function logPSeries(a: number, x: number): number {
  let term = 1
  let sum = 1
  for (let n = 1; n < MAX_ITER; n++) {
    term *= x / (a + n)
    sum += term
    if (term < sum * SUM_EPS) break
  }
  return logPrefactor(a, x) + Math.log(sum)
}

// ln Q(a, x) by the continued fraction for Γ(a,x) (modified Lentz); for x >= a + 1.
function logQContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a
  let c = 1 / TINY
  let d = 1 / b
  let h = d
  for (let i = 1; i < MAX_ITER; i++) {
    const an = -i * (i - a)
    b += 2
    d = an * d + b
    if (Math.abs(d) < TINY) d = TINY
    c = b + an / c
    if (Math.abs(c) < TINY) c = TINY
    d = 1 / d
    const del = d * c
    h *= del
    if (Math.abs(del - 1) < CF_EPS) break
  }
  // x^a e^{−x} / Γ(a) = a · x^a e^{−x} / Γ(a+1)
  return Math.log(a) + logPrefactor(a, x) + Math.log(h)
}

/**
 * ln Q(a, x), the regularized upper incomplete gamma Γ(a,x)/Γ(a) for real a > 0
 * (torch.special.gammaincc / Cephes igamc). vLLM dual-key uses p = Q(T/var, S/var).
 */
export function gammaLogQ(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x)) return Number.NaN
  if (!(a > 0)) throw new RangeError(`gammaLogQ: a must be > 0, got ${a}`)
  if (x <= 0) return 0
  if (x === Infinity) return -Infinity
  // For a < 1 the series would give Q = 1 − P with P near 1 once x > ~1; the CF is safe there.
  const series = x < a + 1 && !(a < 1 && x >= 1.1)
  if (series) return log1mExp(Math.min(0, logPSeries(a, x)))
  return Math.min(0, logQContinuedFraction(a, x))
}

/** Q(a, x); underflows to 0, use gammaLogQ for tiny values. */
export function gammaQ(a: number, x: number): number {
  return Math.exp(gammaLogQ(a, x))
}

/** ln P(a, x) = ln(1 − Q(a, x)), the regularized lower incomplete gamma. */
export function gammaLogP(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x)) return Number.NaN
  if (!(a > 0)) throw new RangeError(`gammaLogP: a must be > 0, got ${a}`)
  if (x <= 0) return -Infinity
  if (x === Infinity) return 0
  const series = x < a + 1 && !(a < 1 && x >= 1.1)
  if (series) return Math.min(0, logPSeries(a, x))
  return log1mExp(Math.min(0, logQContinuedFraction(a, x)))
}
