// Log-space building blocks shared by the exact tail functions.
// Everything here is pure arithmetic on float64; no Node or DOM APIs.

export const LN2 = Math.LN2
export const LN_2PI = 1.8378770664093453 // ln(2π)
export const LN_SQRT_2PI = 0.9189385332046728 // ln(√(2π))

// Lanczos g=7, n=9 coefficients (Godfrey); ~1e-15 relative for Γ on [0.5, 15].
const LANCZOS_G = 7
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
]

// Stirling's series beyond x=15: the first omitted term is < 3e-16 there.
function stirlingSeries(x: number): number {
  const r = 1 / x
  const r2 = r * r
  return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 / 1188))))
}

/** ln Γ(x) for x > 0. Absolute error ~1e-15 near the zeros at 1 and 2, ~1e-15 relative elsewhere. */
export function logGamma(x: number): number {
  if (Number.isNaN(x) || x <= 0) return Number.NaN
  if (x === Infinity) return Infinity
  if (x < 0.5) return logGamma(x + 1) - Math.log(x) // Γ(x) = Γ(x+1)/x keeps Lanczos in range
  if (x >= 15) return (x - 0.5) * Math.log(x) - x + LN_SQRT_2PI + stirlingSeries(x)
  const y = x - 1
  let s = LANCZOS[0]
  for (let i = 1; i < LANCZOS.length; i++) s += LANCZOS[i] / (y + i)
  const t = y + LANCZOS_G + 0.5
  return LN_SQRT_2PI + (y + 0.5) * Math.log(t) - t + Math.log(s)
}

// n! is exact in float64 up to 22!, so these logs are correctly rounded.
const FACT_TABLE_MAX = 22
const LOG_FACT: number[] = (() => {
  const out = [0]
  let f = 1
  for (let i = 1; i <= FACT_TABLE_MAX; i++) {
    f *= i
    out.push(Math.log(f))
  }
  return out
})()

/** ln n! for integer n >= 0 (table up to 22, Stirling beyond). */
export function logFactorial(n: number): number {
  if (!Number.isInteger(n) || n < 0) return Number.NaN
  if (n <= FACT_TABLE_MAX) return LOG_FACT[n]
  return logGamma(n + 1)
}

/** ln C(n, k) for integers 0 <= k <= n; -Infinity outside. */
export function logChoose(n: number, k: number): number {
  if (k < 0 || k > n) return -Infinity
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k)
}

/**
 * Stirling error δ(x) = ln Γ(x+1) − (x+½)ln x + x − ln√(2π) (Loader 2000).
 * Lets densities be formed without subtracting huge log-factorials.
 */
export function stirlerr(x: number): number {
  if (x <= 0) return 0
  if (x > 15) {
    const r = 1 / x
    const r2 = r * r
    if (x > 500) return r * (1 / 12 - r2 / 360)
    if (x > 80) return r * (1 / 12 - r2 * (1 / 360 - r2 / 1260))
    if (x > 35) return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 / 1680)))
    return stirlingSeries(x)
  }
  const lg = Number.isInteger(x) ? logFactorial(x) : logGamma(x + 1)
  return lg - (x + 0.5) * Math.log(x) + x - LN_SQRT_2PI
}

/**
 * Deviance term bd0(x, m) = x ln(x/m) + m − x, without cancellation when x ≈ m (Loader 2000).
 */
export function bd0(x: number, m: number): number {
  if (x === 0) return m
  if (Math.abs(x - m) < 0.1 * (x + m)) {
    let v = (x - m) / (x + m)
    let s = (x - m) * v
    let ej = 2 * x * v
    v *= v
    for (let j = 1; j < 1000; j++) {
      ej *= v
      const s1 = s + ej / (2 * j + 1)
      if (s1 === s) return s1
      s = s1
    }
    return s
  }
  return x * Math.log(x / m) + m - x
}

/** ln(e^a + e^b) without overflow. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b
  if (b === -Infinity) return a
  const m = Math.max(a, b)
  return m + Math.log1p(Math.exp(-Math.abs(a - b)))
}

/** ln Σ e^{x_i}, anchored at the largest term. */
export function logSumExp(xs: ArrayLike<number>): number {
  let m = -Infinity
  for (let i = 0; i < xs.length; i++) if (xs[i] > m) m = xs[i]
  if (m === -Infinity || !Number.isFinite(m)) return m
  let s = 0
  for (let i = 0; i < xs.length; i++) s += Math.exp(xs[i] - m)
  return m + Math.log(s)
}

/** ln(1 − e^x) for x <= 0, accurate at both ends (Mächler 2012). */
export function log1mExp(x: number): number {
  if (x > 0) return Number.NaN
  return x > -LN2 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x))
}
