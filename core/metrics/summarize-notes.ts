/**
 * @module
 * Caveat notes of an experiment summary, worded for a reviewer. Numbers are formatted without
 * `toLocaleString`, whose output depends on the platform's locale.
 */
import type { FprEstimate } from '../experiments/types.ts'
import { nullsNeeded } from './detection.ts'

/** α as people write it: 0.01, 0.001, 1e-5. */
export function formatAlpha(alpha: number): string {
  return alpha >= 1e-3 ? String(alpha) : alpha.toExponential()
}

/** An integer with thousands separators: 300000 → "300,000". */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

/** "0, 3, 7", shortened after ten items. */
export function formatList(items: readonly (number | string)[]): string {
  return items.length <= 10
    ? items.join(', ')
    : `${items.slice(0, 10).join(', ')} and ${items.length - 10} more`
}

/**
 * For each α: a note when no cell has enough null texts to verify it, or when only some do.
 * A cell verifies α when its human or its unwatermarked set holds ≥ 3/α texts.
 */
export function verifiabilityNotes(
  alphas: readonly number[],
  fprs: readonly { cell: number; human: FprEstimate[]; unwatermarked: FprEstimate[] }[],
): string[] {
  const notes: string[] = []
  if (fprs.length === 0) return notes
  alphas.forEach((alpha, a) => {
    const needs = formatCount(nullsNeeded(alpha))
    const failing = fprs.filter((f) => !f.human[a].verifiable && !f.unwatermarked[a].verifiable)
    if (failing.length === fprs.length) {
      const most = Math.max(...fprs.flatMap((f) => [f.human[a].n, f.unwatermarked[a].n]))
      notes.push(
        `α = ${formatAlpha(alpha)}: ${formatCount(most)} null texts per cell (at most, human or unwatermarked) ` +
          `cannot verify it (needs ≥ ${needs}); its FPR is reported but unverified.`,
      )
    } else if (failing.length > 0) {
      notes.push(
        `α = ${formatAlpha(alpha)}: cells ${formatList(failing.map((f) => f.cell))} have too few null texts ` +
          `to verify it (needs ≥ ${needs}).`,
      )
    }
  })
  return notes
}

/** Tallies of texts left out at a prefix length, keyed by attack and length. */
export class ExclusionTally {
  private readonly entries = new Map<
    string,
    { attack: string; tokens: number; short: number; missing: number; total: number }
  >()

  add(attack: string, tokens: number, short: number, missing: number, total: number): void {
    const key = `${attack}\u0000${tokens}`
    const e = this.entries.get(key) ?? { attack, tokens, short: 0, missing: 0, total: 0 }
    e.short += short
    e.missing += missing
    e.total += total
    this.entries.set(key, e)
  }

  notes(): string[] {
    const notes: string[] = []
    for (const e of this.entries.values()) {
      const why =
        e.attack === 'none'
          ? 'generation stopped early'
          : 'generation stopped early or the attack shortened them'
      if (e.short > 0) {
        notes.push(
          `T = ${e.tokens}, attack ${e.attack}: ${formatCount(e.short)} of ${formatCount(e.total)} watermarked ` +
            `texts are shorter (${why}) and are not counted at this length; the whole-text rows count them.`,
        )
      }
      if (e.missing > 0) {
        notes.push(
          `T = ${e.tokens}, attack ${e.attack}: ${formatCount(e.missing)} watermarked texts have no detection ` +
            `at exactly ${e.tokens} tokens and are not counted at this length.`,
        )
      }
    }
    return notes
  }
}
