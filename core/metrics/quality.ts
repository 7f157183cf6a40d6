/**
 * @module
 * Text-quality metrics: perplexity aggregation and n-gram diversity over whitespace words (case
 * kept; see ngrams.ts for the tokenisation). Log-diversity follows Su et al.'s SimCTG definition
 * as MarkLLM's LogDiversityAnalyzer intends it, without MarkLLM's scaling bug: MarkLLM divides
 * the repetition fraction by 100 a second time (../shared/specs/algorithms.md §3.4), which pushes
 * every text towards the e⁻²⁰ clamp and makes its numbers incomparable with other papers.
 */
import { type NgramCounts, NgramCorpus } from './ngrams.ts'

/** −ln of the clamp: the log-diversity of a text with no repeated 2-, 3- or 4-gram. */
export const MAX_LOG_DIVERSITY = 20

/**
 * distinct-n (Li et al. 2016): unique n-grams / all n-grams over a corpus of texts, counting
 * n-grams within each text (none spans two texts). 0 when the texts hold no n-gram.
 *
 * @example
 * distinctN(['a b a b', 'a b c'], 2) // unique {ab, ba, bc} = 3 of 5 → 0.6
 */
export function distinctN(texts: readonly string[], n: number): number {
  const corpus = new NgramCorpus(n)
  for (const t of texts) corpus.add(t)
  return corpus.distinct(n)
}

/**
 * Log-diversity of one text: with repₙ = 1 − uniqueₙ/totalₙ for n = 2, 3, 4 (0 when the text has
 * no n-gram of that size), div = Πₙ (1 − repₙ) and logdiv = −ln(max(1 − div, e⁻²⁰)). Higher is
 * more diverse; a text without any repeated n-gram has div = 1 and scores the clamp, 20.
 *
 * @example
 * logDiversity('a b a b a') // rep₂ = ½, rep₃ = ⅓, rep₄ = 0 → div = ⅓ → −ln(⅔) ≈ 0.405
 */
export function logDiversity(text: string): number {
  return logDiversityOf(new NgramCorpus(4).add(text))
}

/** {@link logDiversity} from counts a 4-level {@link NgramCorpus} returned. */
export function logDiversityOf(counts: NgramCounts): number {
  let div = 1
  for (let n = 2; n <= 4; n++) {
    const total = counts.total[n - 1]
    if (total > 0) div *= counts.unique[n - 1] / total
  }
  const gap = 1 - div
  return gap > Math.exp(-MAX_LOG_DIVERSITY) ? -Math.log(gap) : MAX_LOG_DIVERSITY
}

/**
 * Repetition rate of one text: the fraction of its word 3-grams that repeat a 3-gram seen earlier
 * in the same text, (total₃ − unique₃)/total₃ (= rep₃ of {@link logDiversity}); 0 for fewer than
 * 3 words. Catches the degenerate loops a strong bias can cause.
 *
 * @example
 * repetitionRate('a b c a b c') // 3-grams abc bca cab abc: 1 of 4 repeats → 0.25
 */
export function repetitionRate(text: string): number {
  return repetitionRateOf(new NgramCorpus(3).add(text))
}

/** {@link repetitionRate} from counts of an {@link NgramCorpus} with maxN ≥ 3. */
export function repetitionRateOf(counts: NgramCounts): number {
  const total = counts.total[2]
  return total > 0 ? (total - counts.unique[2]) / total : 0
}

/**
 * The perplexity the lab reports: the arithmetic mean of per-text perplexities, as in MarkLLM and
 * the watermarking papers (its unit is that of a perplexity, and a watermark's cost shows up as a
 * shift of it). {@link meanLogPerplexity} is the alternative that long-tailed samples favour.
 * Perplexities that are null, non-finite or ≤ 0 (a failed scoring) are skipped; 0 when none is left.
 *
 * @example
 * meanPerplexity([10, 20, null]) // 15
 */
export function meanPerplexity(perplexities: readonly (number | null)[]): number {
  let sum = 0
  let n = 0
  for (const p of perplexities) {
    if (isPerplexity(p)) {
      sum += p
      n++
    }
  }
  return n === 0 ? 0 : sum / n
}

/**
 * Mean log-perplexity (the log of the geometric mean, i.e. the mean per-token cross-entropy of
 * equally weighted texts), robust to the few texts whose perplexity explodes. Same skipping rule
 * as {@link meanPerplexity}.
 *
 * @example
 * Math.exp(meanLogPerplexity([10, 1000])) // 100
 */
export function meanLogPerplexity(perplexities: readonly (number | null)[]): number {
  let sum = 0
  let n = 0
  for (const p of perplexities) {
    if (isPerplexity(p)) {
      sum += Math.log(p)
      n++
    }
  }
  return n === 0 ? 0 : sum / n
}

/** A usable perplexity: a finite number > 0. */
export function isPerplexity(p: number | null | undefined): p is number {
  return typeof p === 'number' && Number.isFinite(p) && p > 0
}
