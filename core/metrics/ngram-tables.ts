/**
 * @module
 * The hash tables behind ngrams.ts, shaped for the memory hierarchy. Counting n-grams of tens of
 * thousands of texts is bound by cache misses, not arithmetic, so: the word table and the per-text
 * n-gram table stay small (cache-resident); the corpus-wide distinct counts collect packed keys
 * and count them by partitioning on hash bits into buckets that fit in cache, i.e. sequential
 * passes instead of one random memory access per n-gram. Every key is compared in full, so counts
 * are exact (a hash only picks the slot).
 */

/** Murmur3's finaliser: spreads a 32-bit value's entropy over all its bits. */
export function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** Hash of a key (hi, lo): hi a non-negative int32, lo a non-negative integer below 2⁵³. */
function pairHash(hi: number, lo: number): number {
  return fmix(
    Math.imul(hi, 0x9e3779b1) ^ fmix((lo >>> 0) ^ Math.imul(Math.floor(lo / 4294967296), 0x85ebca6b)),
  )
}

export function grow<T extends Int32Array | Float64Array>(a: T, atLeast: number): T {
  let size = Math.max(16, a.length * 2)
  while (size < atLeast) size *= 2
  const b = (a instanceof Int32Array ? new Int32Array(size) : new Float64Array(size)) as T
  b.set(a)
  return b
}

/** JavaScript's `\s`: ASCII whitespace, NBSP, and the Unicode space separators and line breaks. */
export function isSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13)
  if (c < 160) return false
  return (
    c === 160 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  )
}

/** Open-addressing word → id table (a slot holds id + 1, 0 = empty), with a per-text stamp per id. */
export class WordTable {
  size = 0
  private slots = new Int32Array(1024)
  private hashes = new Int32Array(512)
  private stamps = new Int32Array(512)
  private readonly strings: string[] = []

  clear(): void {
    this.size = 0
    this.slots.fill(0)
    this.strings.length = 0
  }

  /** Stamps word `id` with `stamp`; true when it did not carry that stamp yet (first in this text). */
  mark(id: number, stamp: number): boolean {
    if (this.stamps[id] === stamp) return false
    this.stamps[id] = stamp
    return true
  }

  /** The id of text[start, end), whose FNV-1a hash (after {@link fmix}) is `hash`. */
  intern(text: string, start: number, end: number, hash: number): number {
    const mask = this.slots.length - 1
    for (let s = hash & mask; ; s = (s + 1) & mask) {
      const slot = this.slots[s]
      if (slot === 0) break
      const id = slot - 1
      if (this.hashes[id] === (hash | 0) && sameWord(this.strings[id], text, start, end)) return id
    }
    const id = this.size++
    this.strings.push(text.slice(start, end))
    if (id >= this.hashes.length) {
      this.hashes = grow(this.hashes, id + 1)
      this.stamps = grow(this.stamps, id + 1)
    }
    this.hashes[id] = hash
    if (2 * this.size > this.slots.length) this.rehash()
    else this.place(hash, id)
    return id
  }

  private place(hash: number, id: number): void {
    const mask = this.slots.length - 1
    let s = hash & mask
    while (this.slots[s] !== 0) s = (s + 1) & mask
    this.slots[s] = id + 1
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2)
    for (let id = 0; id < this.size; id++) this.place(this.hashes[id] >>> 0, id)
  }
}

function sameWord(word: string, text: string, start: number, end: number): boolean {
  if (word.length !== end - start) return false
  for (let k = 0; k < word.length; k++) if (word.charCodeAt(k) !== text.charCodeAt(start + k)) return false
  return true
}

/**
 * Interns (a, b) int32 pairs to ids 0, 1, … within one text. A slot is four int32s in one cache
 * line (a, b, id, stamp) and is taken only if it carries the current stamp, so `begin` never
 * clears the table.
 */
export class TextPairTable {
  private cells = new Int32Array(4 * 1024)
  private stamp = 0
  private size = 0

  /** Starts a new text (or n-gram level) of at most `count` distinct pairs. */
  begin(count: number): void {
    this.stamp++
    this.size = 0
    if (4 * 2 * count > this.cells.length) {
      let slots = this.cells.length / 4
      while (slots < 2 * count) slots *= 2
      this.cells = new Int32Array(4 * slots)
      this.stamp = 1
    }
  }

  /** Interns (a, b); returns 2·id + 1 when it is new in this text, 2·id otherwise. */
  visit(a: number, b: number): number {
    const cells = this.cells
    const mask = (cells.length >>> 2) - 1
    for (let s = fmix(Math.imul(a, 0x9e3779b1) ^ b) & mask; ; s = (s + 1) & mask) {
      const at = s << 2
      if (cells[at + 3] !== this.stamp) {
        cells[at] = a
        cells[at + 1] = b
        cells[at + 2] = this.size
        cells[at + 3] = this.stamp
        return 2 * this.size++ + 1
      }
      if (cells[at] === a && cells[at + 1] === b) return 2 * cells[at + 2]
    }
  }
}

/** Keys per partition the distinct counter aims at: its hash set then stays in L2 cache. */
const PARTITION_TARGET = 4096

/**
 * Number of distinct keys among the first n of (hi[i], lo[i]): one pass scatters the keys into
 * 2ᵖ partitions by the top bits of their hash, then each partition is counted in a small hash
 * set. Every memory access is sequential or cache-resident.
 */
export function countDistinct(hi: Int32Array, lo: Float64Array, n: number): number {
  if (n === 0) return 0
  let bits = 0
  while (bits < 16 && n >> bits > PARTITION_TARGET) bits++
  const parts = 1 << bits
  const shift = 32 - bits // for bits = 0, JavaScript shifts by 32 mod 32 = 0, and `& 0` keeps part 0
  const hashes = new Int32Array(n)
  const part = new Int32Array(n)
  const starts = new Int32Array(parts + 1)
  for (let i = 0; i < n; i++) {
    const h = pairHash(hi[i], lo[i])
    hashes[i] = h
    const q = (h >>> shift) & (parts - 1)
    part[i] = q
    starts[q + 1]++
  }
  for (let p = 0; p < parts; p++) starts[p + 1] += starts[p]
  // Move the keys themselves, so that counting a partition reads one contiguous stretch.
  const fill = starts.slice(0, parts)
  const pHi = new Int32Array(n)
  const pLo = new Float64Array(n)
  const pHash = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    const r = fill[part[i]]++
    pHi[r] = hi[i]
    pLo[r] = lo[i]
    pHash[r] = hashes[i]
  }
  let largest = 0
  for (let p = 0; p < parts; p++) largest = Math.max(largest, starts[p + 1] - starts[p])
  let slots = 16
  while (slots < 2 * largest) slots *= 2
  const taken = new Int32Array(slots) // partition number + 1 of the key in the slot
  const owner = new Int32Array(slots) // where that key sits in pHi/pLo
  const mask = slots - 1
  let distinct = 0
  for (let p = 0; p < parts; p++) {
    for (let r = starts[p]; r < starts[p + 1]; r++) {
      for (let s = pHash[r] & mask; ; s = (s + 1) & mask) {
        if (taken[s] !== p + 1) {
          taken[s] = p + 1
          owner[s] = r
          distinct++
          break
        }
        const q = owner[s]
        if (pHi[q] === pHi[r] && pLo[q] === pLo[r]) break
      }
    }
  }
  return distinct
}
