/**
 * @module
 * Exact word n-gram counts for diversity metrics, fast enough for tens of thousands of texts.
 * Words are maximal runs of non-whitespace (whitespace as JavaScript's `\s` defines it), compared
 * exactly: case and punctuation are kept, as in MarkLLM's LogDiversityAnalyzer and SimCTG's
 * `eval_text` (both split on whitespace without lowercasing). Unlike SimCTG's loop, the last
 * n-gram of a text is counted: L words hold L − n + 1 n-grams.
 *
 * No n-gram string is ever built. Words get corpus-wide ids; within a text, the n-gram at i is
 * interned as the pair (id of its first n − 1 words, id of its last word), which gives each text's
 * distinct counts exactly. Corpus-wide distinct 2- and 3-grams are counted from packed word-id
 * keys once the corpus is complete (ngram-tables.ts explains why this split is fast).
 */
import { countDistinct, fmix, grow, isSpace, TextPairTable, WordTable } from './ngram-tables.ts'

/** Counts of one text, index n − 1 for n = 1..maxN: all n-grams and the distinct ones. */
export interface NgramCounts {
  total: number[]
  unique: number[]
}

/** Largest n counted over the whole corpus (distinct-1, -2, -3). */
export const MAX_CORPUS_N = 3

/** Word ids stay below 2²⁶ so that two fit exactly in one double (2⁵² < 2⁵³). */
const ID_LIMIT = 2 ** 26

/**
 * One corpus of texts (e.g. all watermarked texts of a cell). Each `add` returns that text's own
 * counts for n = 1..maxN (maxN ≤ 4); `distinct(n)` is the corpus-level unique/total ratio for
 * n ≤ min(maxN, 3). `reset` starts the next corpus and keeps the buffers.
 *
 * @example
 * const corpus = new NgramCorpus(4)
 * corpus.add('the cat saw the cat').unique // [3, 3, 3, 2]
 * corpus.distinct(1) // 3/5
 */
export class NgramCorpus {
  readonly maxN: number
  private readonly words = new WordTable()
  private readonly local = new TextPairTable()
  private ids = new Int32Array(64)
  private chain = new Int32Array(64)
  private texts = 0
  private readonly totals: number[]
  /** Packed keys of every 2-gram (w₁, w₂) and 3-gram (w₁, w₂·2²⁶ + w₃) added since `reset`. */
  private keyHi = [new Int32Array(1024), new Int32Array(1024)]
  private keyLo = [new Float64Array(1024), new Float64Array(1024)]
  private readonly distinctCache: (number | null)[] = [null, null]

  constructor(maxN = 4) {
    if (!(Number.isInteger(maxN) && maxN >= 1 && maxN <= 4)) {
      throw new RangeError(`maxN must be an integer in [1, 4], got ${maxN}`)
    }
    this.maxN = maxN
    this.totals = new Array(maxN).fill(0)
  }

  add(text: string): NgramCounts {
    const stamp = ++this.texts
    const length = this.readWords(text)
    const { ids, chain, local } = this
    const total: number[] = [length]
    let distinct = 0
    for (let i = 0; i < length; i++) if (this.words.mark(ids[i], stamp)) distinct++
    const unique: number[] = [distinct]
    this.totals[0] += length
    for (let n = 2; n <= this.maxN; n++) {
      const count = Math.max(0, length - n + 1)
      local.begin(count)
      distinct = 0
      for (let i = 0; i < count; i++) {
        // chain[i] holds the text-local id of the (n − 1)-gram at i (for n = 2, the word itself).
        const visit = local.visit(n === 2 ? ids[i] : chain[i], ids[i + n - 1])
        chain[i] = visit >>> 1
        distinct += visit & 1
      }
      if (n <= MAX_CORPUS_N) this.collect(n, count)
      total.push(count)
      unique.push(distinct)
      this.totals[n - 1] += count
    }
    return { total, unique }
  }

  /** Unique n-grams / all n-grams over the corpus; 0 when it holds no n-gram. */
  distinct(n: number): number {
    const most = Math.min(this.maxN, MAX_CORPUS_N)
    if (!(Number.isInteger(n) && n >= 1 && n <= most)) {
      throw new RangeError(`n must be an integer in [1, ${most}], got ${n}`)
    }
    const all = this.totals[n - 1]
    if (all === 0) return 0
    if (n === 1) return this.words.size / all
    const cached = this.distinctCache[n - 2]
    const unique = cached ?? countDistinct(this.keyHi[n - 2], this.keyLo[n - 2], all)
    this.distinctCache[n - 2] = unique
    return unique / all
  }

  /** Empties the corpus for the next one; buffers and tables keep their capacity. */
  reset(): void {
    this.words.clear()
    this.totals.fill(0)
    this.distinctCache.fill(null)
  }

  /** Appends the text's n-gram keys (ids are still in this.ids) to the corpus key buffers. */
  private collect(n: number, count: number): void {
    const level = n - 2
    const at = this.totals[n - 1]
    if (at + count > this.keyHi[level].length) {
      this.keyHi[level] = grow(this.keyHi[level], at + count)
      this.keyLo[level] = grow(this.keyLo[level], at + count)
    }
    const hi = this.keyHi[level]
    const lo = this.keyLo[level]
    const ids = this.ids
    for (let i = 0; i < count; i++) {
      hi[at + i] = ids[i]
      lo[at + i] = n === 2 ? ids[i + 1] : ids[i + 1] * ID_LIMIT + ids[i + 2]
    }
    this.distinctCache[level] = null
  }

  /** Interns the words of `text` into this.ids; returns how many. */
  private readWords(text: string): number {
    let count = 0
    let i = 0
    while (i < text.length) {
      while (i < text.length && isSpace(text.charCodeAt(i))) i++
      if (i === text.length) break
      const start = i
      let h = 0x811c9dc5
      for (; i < text.length; i++) {
        const c = text.charCodeAt(i)
        if (isSpace(c)) break
        h = Math.imul(h ^ c, 0x01000193)
      }
      if (count === this.ids.length) {
        this.ids = grow(this.ids, count + 1)
        this.chain = new Int32Array(this.ids.length)
      }
      const id = this.words.intern(text, start, i, fmix(h))
      if (id >= ID_LIMIT) throw new RangeError(`a corpus may hold at most ${ID_LIMIT} distinct words`)
      this.ids[count++] = id
    }
    return count
  }
}
