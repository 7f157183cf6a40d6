// Test-only helpers: exact BigInt arithmetic and logs of huge rationals, plus a seeded PRNG.
// (Not a *.test.ts file, so vitest does not collect it; tsc still checks it.)

const DIGITS = 17

// ln of a positive BigInt as (ln of its leading digits, decimal exponent), so that ratios
// of huge numbers subtract exponents exactly as integers.
function splitLog(x: bigint): { lm: number; e: number } {
  if (x <= 0n) throw new RangeError('splitLog: x must be > 0')
  const s = x.toString()
  const head = s.slice(0, DIGITS)
  return { lm: Math.log(Number(`0.${head}`)), e: s.length }
}

/** ln(num / den) for positive BigInts, accurate to ~1e-16 absolute plus (Δdigits)·ulp(ln 10). */
export function logRatio(num: bigint, den: bigint): number {
  const a = splitLog(num)
  const b = splitLog(den)
  return a.lm - b.lm + (a.e - b.e) * Math.LN10
}

export function bigFactorial(n: number): bigint {
  let f = 1n
  for (let i = 2n; i <= BigInt(n); i++) f *= i
  return f
}

/** Binomial coefficients C(n, 0..n) exactly. */
export function binomialRow(n: number): bigint[] {
  const row: bigint[] = [1n]
  for (let c = 1; c <= n; c++) row.push((row[c - 1] * BigInt(n - c + 1)) / BigInt(c))
  return row
}

/** mulberry32: tiny deterministic PRNG for reproducible simulations. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function relErr(got: number, want: number): number {
  if (got === want) return 0
  return Math.abs(got - want) / Math.abs(want)
}
