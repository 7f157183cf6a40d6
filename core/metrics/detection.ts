/**
 * @module
 * Detection rates at a fixed p-value threshold α: the true-positive rate on watermarked texts and
 * the empirical false-positive rate on texts that carry no watermark. The threshold comes from the
 * p-value itself (reject when p ≤ α), never from scores of the test set, so the rates are honest
 * out-of-sample numbers (MarkLLM's 'best' F1 rule tunes its threshold on the test set:
 * ../shared/specs/algorithms.md §3.2, §3.5).
 *
 * p-values arrive as natural logs and may lie far below 1e-300, so every comparison is made in log
 * space: p ≤ α ⇔ ln p ≤ ln α. Nothing is exponentiated.
 */

/**
 * How many of the texts a detector with level α rejects (flags as watermarked): ln p ≤ ln α.
 * Equality counts as a rejection, as in the detector's own verdict.
 *
 * @example
 * countRejections([Math.log(0.01), Math.log(0.02)], 0.01) // 1
 */
export function countRejections(logPValues: ArrayLike<number>, alpha: number): number {
  const threshold = logAlpha(alpha)
  let k = 0
  for (let i = 0; i < logPValues.length; i++) if (logPValues[i] <= threshold) k++
  return k
}

/**
 * True-positive rate at level α: the fraction of watermarked texts with ln p ≤ ln α.
 * An empty sample has no rate; it is reported as 0 (callers report n alongside).
 *
 * @example
 * tprAt([-30, -2, -5], 0.01) // 2/3: ln 0.01 ≈ −4.6
 */
export function tprAt(logPValues: ArrayLike<number>, alpha: number): number {
  return logPValues.length === 0 ? 0 : countRejections(logPValues, alpha) / logPValues.length
}

/**
 * Empirical false-positive rate at level α: the fraction of null texts (unwatermarked or human)
 * that the same rule, ln p ≤ ln α, rejects. For a valid p-value its expectation is at most α.
 * An empty sample is reported as 0.
 *
 * @example
 * empiricalFpr([-0.1, -0.7, -5], 0.01) // 1/3
 */
export function empiricalFpr(nullLogPValues: ArrayLike<number>, alpha: number): number {
  return tprAt(nullLogPValues, alpha)
}

/**
 * The fewest null texts that can verify an FPR of α: ⌈3/α⌉ (the rule of three: with n nulls and
 * no false positive, the one-sided 95 % upper bound on the FPR is ≈ 3/n, so n ≥ 3/α bounds it
 * by α). Rounded so that binary round-off in 3/α (3/1e-5 = 299,999.99…) does not add one.
 *
 * @example
 * nullsNeeded(1e-5) // 300000
 */
export function nullsNeeded(alpha: number): number {
  logAlpha(alpha)
  return Math.ceil(3 / alpha - 1e-9 * (3 / alpha))
}

/**
 * Whether n null texts can verify an FPR of α: n ≥ 3/α (see {@link nullsNeeded}).
 *
 * @example
 * verifiable(2_000, 0.001) // false: needs 3,000
 */
export function verifiable(n: number, alpha: number): boolean {
  return n >= nullsNeeded(alpha)
}

/** ln α after checking that α is a level in (0, 1). */
export function logAlpha(alpha: number): number {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`)
  return Math.log(alpha)
}
