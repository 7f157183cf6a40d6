// p-values carried as natural logs: p itself underflows below ~1e-308, ln p does not.

export interface PValue {
  /** ln p, in [−Infinity, 0]. */
  readonly logP: number
  /** e^logP; may be 0 when logP < ~−745. */
  readonly p: number
}

export function pValueFromLog(logP: number): PValue {
  const l = Math.min(0, logP)
  return { logP: l, p: Math.exp(l) }
}

export function pValueFromP(p: number): PValue {
  const c = Math.min(1, Math.max(0, p))
  return { logP: Math.log(c), p: c }
}

/** log10 p, for reporting "p = 10^-x". */
export function log10P(logP: number): number {
  return logP / Math.LN10
}

/**
 * Human-readable p: plain decimal down to 1e-4, then mantissa/exponent computed from
 * the log so 1e-2000 prints as "1.00e-2000" rather than "0".
 */
export function formatP(value: PValue | number, digits = 3): string {
  const logP = typeof value === 'number' ? value : value.logP
  if (Number.isNaN(logP)) return 'NaN'
  if (logP >= 0) return '1'
  if (logP === -Infinity) return '0'
  if (logP >= Math.log(1e-4)) return String(Number(Math.exp(logP).toPrecision(digits)))
  const l10 = log10P(logP)
  let e = Math.floor(l10)
  let m = 10 ** (l10 - e)
  // Rounding the mantissa can carry into the next power of ten (9.996 → 10.0).
  if (Number(m.toFixed(digits - 1)) >= 10) {
    m /= 10
    e += 1
  }
  return `${m.toFixed(digits - 1)}e${e}`
}

/** Bonferroni: ln min(1, m·p). Valid for any dependence between the m tests. */
export function bonferroni(logP: number, m: number): number {
  if (!(m >= 1)) throw new RangeError(`bonferroni: m must be >= 1, got ${m}`)
  return Math.min(0, logP + Math.log(m))
}

/**
 * Holm step-down adjusted ln p-values, in input order: sort ascending, multiply the i-th
 * smallest (0-based) by (m − i), enforce monotonicity with a running max, cap at p = 1.
 * Uniformly more powerful than Bonferroni with the same family-wise guarantee.
 */
export function holm(logPs: readonly number[]): number[] {
  const m = logPs.length
  const order = logPs.map((_, i) => i).sort((a, b) => logPs[a] - logPs[b] || a - b)
  const out = new Array<number>(m)
  let running = -Infinity
  for (let r = 0; r < m; r++) {
    const i = order[r]
    running = Math.max(running, Math.min(0, logPs[i] + Math.log(m - r)))
    out[i] = running
  }
  return out
}

/** The best (smallest) Holm-adjusted ln p and its index; for "which key matched". */
export function holmMin(logPs: readonly number[]): { index: number; logP: number } {
  if (logPs.length === 0) return { index: -1, logP: 0 }
  const adj = holm(logPs)
  let best = 0
  for (let i = 1; i < adj.length; i++) if (adj[i] < adj[best]) best = i
  return { index: best, logP: adj[best] }
}
