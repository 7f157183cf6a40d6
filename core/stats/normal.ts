// Standard normal tails in log space; z-scores are reported as an extra next to exact tails.
import { gammaLogQ } from './gamma.ts'
import { LN2, log1mExp } from './log-math.ts'

/**
 * ln P[Z >= z] for Z ~ N(0,1). Uses erfc(t) = Q(½, t²): for z > ~1.5 that is the Lentz
 * continued fraction (the Mills-ratio expansion), so z = 40 gives ≈ −804.608, not −Infinity.
 */
export function normalLogSf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN
  if (z === Infinity) return -Infinity
  if (z === -Infinity) return 0
  const upper = -LN2 + gammaLogQ(0.5, 0.5 * z * z) // ln P[Z >= |z|]
  return z >= 0 ? upper : log1mExp(upper)
}

/** P[Z >= z]; underflows to 0 past z ≈ 38.5, use normalLogSf there. */
export function normalSf(z: number): number {
  return Math.exp(normalLogSf(z))
}

/** ln P[Z <= z]. */
export function normalLogCdf(z: number): number {
  return normalLogSf(-z)
}

/** KGW z-score (k − np) / √(np(1−p)); 0 when there is nothing to score. */
export function zScoreBinomial(k: number, n: number, p: number): number {
  if (n <= 0) return 0
  const v = n * p * (1 - p)
  if (v <= 0) return 0
  return (k - n * p) / Math.sqrt(v)
}
