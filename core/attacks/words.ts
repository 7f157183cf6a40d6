// Shared helpers: whitespace words with their offsets, rebuilding text after word edits, and seeded
// choices. Words are whitespace-separated runs, punctuation included, as the attack papers count them.
import { seededRng } from '../rng.ts'
import type { Rng } from '../schemes/types.ts'
import type { AttackResult } from './types.ts'

export interface WordSpan {
  text: string
  start: number
  end: number
}

export function wordSpans(text: string): WordSpan[] {
  return [...text.matchAll(/\S+/g)].map((m) => ({
    text: m[0],
    start: m.index,
    end: m.index + m[0].length,
  }))
}

/**
 * Rebuilds the text with `edit(i, word)` in place of each word; null deletes it. Between kept words
 * the original separator is kept; over deleted words, a separator with a line break wins, so
 * paragraphs survive.
 */
export function rebuildWords(
  text: string,
  spans: WordSpan[],
  edit: (i: number, word: string) => string | null,
): string {
  if (spans.length === 0) return text
  let out = text.slice(0, spans[0].start)
  let gaps: string[] = []
  let kept = false
  for (let i = 0; i < spans.length; i++) {
    if (i > 0) gaps.push(text.slice(spans[i - 1].end, spans[i].start))
    const word = edit(i, spans[i].text)
    if (word === null) continue
    if (kept) out += gaps.find((g) => g.includes('\n')) ?? gaps[gaps.length - 1]
    out += word
    kept = true
    gaps = []
  }
  return out + text.slice(spans[spans.length - 1].end)
}

/** Splits off leading and trailing punctuation: "(Hello," → ['(', 'Hello', ',']. */
export function splitPunctuation(word: string): [string, string, string] {
  const m = /^([^\p{L}\p{N}]*)(.*?)([^\p{L}\p{N}]*)$/u.exec(word) as RegExpExecArray
  return [m[1], m[2], m[3]]
}

/** k distinct indices of 0…n−1, uniformly at random, in increasing order (partial Fisher–Yates). */
export function sampleIndices(rng: Rng, n: number, k: number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i)
  const m = Math.min(k, n)
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rng() * (n - i))
    ;[pool[i], pool[j]] = [pool[j], pool[i]]
  }
  return pool.slice(0, m).sort((a, b) => a - b)
}

export const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]

/** Indices of the items that pass `eligible`, then k of them at random (k capped at their count). */
export function sampleWhere<T>(
  rng: Rng,
  items: readonly T[],
  k: number,
  eligible: (x: T) => boolean,
): number[] {
  const idx = items.flatMap((x, i) => (eligible(x) ? [i] : []))
  return sampleIndices(rng, idx.length, k).map((j) => idx[j])
}

/**
 * The word-level edit most attacks share: ⌊strength·N⌋ randomly chosen words among those `eligible`
 * accepts (all of them when fewer qualify) are replaced by `rewrite(word, rng)`; the edit fraction is
 * rewritten words / all words.
 */
export function rewriteWords(
  text: string,
  seed: number,
  strength: number,
  eligible: (word: string) => boolean,
  rewrite: (word: string, rng: Rng) => string,
): AttackResult {
  const rng = seededRng(seed)
  const spans = wordSpans(text)
  const chosen = new Set(
    sampleWhere(rng, spans, Math.floor(strength * spans.length), (s) => eligible(s.text)),
  )
  const edited = rebuildWords(text, spans, (i, word) => (chosen.has(i) ? rewrite(word, rng) : word))
  return { text: edited, editFraction: spans.length ? chosen.size / spans.length : 0 }
}
