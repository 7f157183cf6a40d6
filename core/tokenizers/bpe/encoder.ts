// Fast byte-level BPE encoder over CompiledBpe tables, token-for-token identical to
// @huggingface/tokenizers 0.2.0: added tokens split first (longest match, left to right),
// normaliser, the tokenizer's own pre-tokeniser regex, then lowest-rank-leftmost merges on
// integer symbol pairs. Words are cached (bounded); the merge loop works in reused typed arrays.
import type { AddedTokenSpec, CompiledBpe } from './compiled.ts'
import { scannerDigits, scanPiece } from './pretokenize.ts'
import { buildMergeTable, buildWordTable, bytesHash, pairHash } from './tables.ts'

// Word cache: pieces seen again are looked up, not merged. A hash table over the pieces' UTF-16
// code units in typed arrays (no string per piece); emptied when full, so memory stays bounded.
const CACHE_ENTRIES = 1 << 16
const CACHE_KEY_UNITS = 1 << 19
const CACHE_VALUES = 1 << 17
const CACHE_MAX_PIECE = 64
// longer words switch from the quadratic scan to a heap
const SCAN_MAX = 48

class AddedSplitter {
  // candidates by first code unit, longest first, so the first hit is the longest match
  private readonly byFirst = new Map<number, AddedTokenSpec[]>()
  // 1 where some token starts with this code unit: the scan tests this, not the Map
  private readonly first = new Uint8Array(65536)

  constructor(tokens: AddedTokenSpec[]) {
    for (const t of tokens) {
      if (t.content.length === 0) continue
      const c = t.content.charCodeAt(0)
      const list = this.byFirst.get(c) ?? []
      list.push(t)
      this.byFirst.set(c, list)
      this.first[c] = 1
    }
    for (const list of this.byFirst.values()) list.sort((a, b) => b.content.length - a.content.length)
  }

  get empty(): boolean {
    return this.byFirst.size === 0
  }

  /** Sections of text: strings, and added tokens where they match. */
  split(text: string): Array<string | AddedTokenSpec> {
    const out: Array<string | AddedTokenSpec> = []
    let start = 0
    let i = 0
    const first = this.first
    while (i < text.length) {
      if (first[text.charCodeAt(i)] === 0) {
        i++
        continue
      }
      let hit: AddedTokenSpec | undefined
      for (const t of this.byFirst.get(text.charCodeAt(i)) as AddedTokenSpec[]) {
        if (text.startsWith(t.content, i)) {
          hit = t
          break
        }
      }
      if (hit) {
        if (i > start) out.push(text.slice(start, i))
        out.push(hit)
        i += hit.content.length
        start = i
      } else i++
    }
    if (start < text.length) out.push(text.slice(start))
    // the reference strips whitespace next to lstrip/rstrip tokens (JS trim semantics)
    for (let k = 0; k < out.length; k++) {
      const t = out[k]
      if (typeof t === 'string') continue
      if (t.lstrip && k > 0 && typeof out[k - 1] === 'string') out[k - 1] = (out[k - 1] as string).trimEnd()
      if (t.rstrip && k < out.length - 1 && typeof out[k + 1] === 'string') {
        out[k + 1] = (out[k + 1] as string).trimStart()
      }
    }
    return out
  }
}

export class FastBpe {
  readonly vocabSize: number
  private readonly c: CompiledBpe
  private readonly regex: RegExp
  private readonly rawSplitter: AddedSplitter
  private readonly normSplitter: AddedSplitter
  private readonly addedByContent = new Map<string, AddedTokenSpec>()
  // merge ranks: open addressing over (left, right), slot = rank + 1
  private readonly mergeSlots: Int32Array
  private readonly mergeMask: number
  // whole-word lookup for ignore_merges: open addressing over symbol bytes, slot = symbol + 1
  private readonly wordSlots: Int32Array | null
  private readonly wordMask: number
  private readonly digits: number
  private readonly cacheSlots = new Int32Array(CACHE_ENTRIES * 2)
  private readonly cacheKeyOff = new Int32Array(CACHE_ENTRIES)
  private readonly cacheKeyLen = new Int32Array(CACHE_ENTRIES)
  private readonly cacheValOff = new Int32Array(CACHE_ENTRIES + 1)
  private readonly cacheKeys = new Uint16Array(CACHE_KEY_UNITS)
  private readonly cacheVals = new Int32Array(CACHE_VALUES)
  private cacheCount = 0
  private cacheKeyTop = 0
  // scratch, grown on demand
  private bytes = new Uint8Array(1024)
  private sym = new Int32Array(1024)
  private rank = new Int32Array(1024)
  private next = new Int32Array(1024)
  private prev = new Int32Array(1024)
  private heap = new Float64Array(1024)
  private out = new Int32Array(4096)
  private outLen = 0

  constructor(c: CompiledBpe) {
    this.c = c
    this.vocabSize = c.vocabSize
    this.regex = new RegExp(c.split.source, c.split.flags.includes('g') ? c.split.flags : `${c.split.flags}g`)
    this.digits = scannerDigits(c.split.source, c.split.flags)
    this.rawSplitter = new AddedSplitter(c.added.filter((t) => !t.normalized))
    this.normSplitter = new AddedSplitter(c.added.filter((t) => t.normalized))
    for (const t of c.added) this.addedByContent.set(t.content, t)

    // precompiled tables when the .bin carries them (it always does); built here otherwise
    this.mergeSlots = c.mergeSlots ?? buildMergeTable(c.merges)
    this.mergeMask = this.mergeSlots.length - 1
    if (c.ignoreMerges) {
      this.wordSlots = c.wordSlots ?? buildWordTable(c.symOffsets, c.symBytes, c.symOut)
      this.wordMask = this.wordSlots.length - 1
    } else {
      this.wordSlots = null
      this.wordMask = 0
    }
  }

  encode(text: string): Int32Array {
    this.outLen = 0
    const sections = this.rawSplitter.empty ? [text] : this.rawSplitter.split(text)
    for (const section of sections) {
      if (typeof section !== 'string') {
        this.emit(section.id)
        continue
      }
      if (section.length === 0) continue
      // a gap that spells an added token verbatim is that token (reference behaviour)
      const asAdded = this.addedByContent.get(section)
      if (asAdded) {
        this.emit(asAdded.id)
        continue
      }
      const normalized = this.c.normalizer ? normalize(section, this.c.normalizer) : section
      if (normalized.length === 0) continue
      if (this.normSplitter.empty) this.encodeSection(normalized)
      else {
        for (const sub of this.normSplitter.split(normalized)) {
          if (typeof sub !== 'string') this.emit(sub.id)
          else if (sub.length === 0) continue
          else {
            const a = this.addedByContent.get(sub)
            if (a) this.emit(a.id)
            else this.encodeSection(sub)
          }
        }
      }
    }
    return this.out.slice(0, this.outLen)
  }

  /** Raw bytes of an output id's text (added tokens as UTF-8 of their content). */
  tokenBytes(id: number): Uint8Array {
    if (!(id >= 0 && id < this.vocabSize)) return new Uint8Array(0)
    return this.c.decBytes.subarray(this.c.decOffsets[id], this.c.decOffsets[id + 1])
  }

  isVerbatim(id: number): boolean {
    return id >= 0 && id < this.vocabSize && this.c.decVerbatim[id] === 1
  }

  private encodeSection(text: string): void {
    if (this.digits > 0) {
      for (let i = 0; i < text.length; ) {
        const j = scanPiece(text, i, this.digits)
        this.encodePiece(text, i, j)
        i = j
      }
      return
    }
    const re = this.regex
    re.lastIndex = 0
    let prev = 0
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const end = m.index + m[0].length
      // an empty match is dropped and the search steps on, as matchAll does
      if (end === m.index) {
        re.lastIndex += end < text.length && text.codePointAt(end)! > 0xffff ? 2 : 1
        continue
      }
      if (m.index > prev) this.encodePiece(text, prev, m.index)
      this.encodePiece(text, m.index, end)
      prev = end
    }
    if (prev < text.length) this.encodePiece(text, prev, text.length)
  }

  private emit(id: number): void {
    if (this.outLen === this.out.length) {
      const grown = new Int32Array(this.out.length * 2)
      grown.set(this.out)
      this.out = grown
    }
    this.out[this.outLen++] = id
  }

  private encodePiece(text: string, from: number, to: number): void {
    const len = to - from
    let h = 0
    if (len <= CACHE_MAX_PIECE) {
      h = 0x811c9dc5
      for (let i = from; i < to; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
      h ^= h >>> 15
      const mask = this.cacheSlots.length - 1
      const keys = this.cacheKeys
      for (let slot = h & mask; ; slot = (slot + 1) & mask) {
        const e = this.cacheSlots[slot] - 1
        if (e < 0) break
        if (this.cacheKeyLen[e] !== len) continue
        const off = this.cacheKeyOff[e]
        let eq = true
        for (let i = 0; i < len; i++) {
          if (keys[off + i] !== text.charCodeAt(from + i)) {
            eq = false
            break
          }
        }
        if (!eq) continue
        for (let v = this.cacheValOff[e]; v < this.cacheValOff[e + 1]; v++) this.emit(this.cacheVals[v])
        return
      }
    }
    const start = this.outLen
    const n = this.utf8(text, from, to)
    const whole = this.wordSlots ? this.lookupWord(n) : -1
    if (whole >= 0) this.emit(whole)
    else if (n <= SCAN_MAX) this.mergeScan(n)
    else this.mergeHeap(n)
    if (len <= CACHE_MAX_PIECE) this.cachePut(text, from, len, h, start)
  }

  private cachePut(text: string, from: number, len: number, h: number, start: number): void {
    const nVals = this.outLen - start
    let e = this.cacheCount
    if (
      e === CACHE_ENTRIES ||
      this.cacheKeyTop + len > CACHE_KEY_UNITS ||
      this.cacheValOff[e] + nVals > CACHE_VALUES
    ) {
      this.cacheSlots.fill(0)
      this.cacheCount = e = 0
      this.cacheKeyTop = 0
    }
    const mask = this.cacheSlots.length - 1
    let slot = h & mask
    while (this.cacheSlots[slot] !== 0) slot = (slot + 1) & mask
    this.cacheSlots[slot] = e + 1
    const off = this.cacheKeyTop
    for (let i = 0; i < len; i++) this.cacheKeys[off + i] = text.charCodeAt(from + i)
    this.cacheKeyOff[e] = off
    this.cacheKeyLen[e] = len
    this.cacheKeyTop = off + len
    const v0 = this.cacheValOff[e]
    this.cacheVals.set(this.out.subarray(start, this.outLen), v0)
    this.cacheValOff[e + 1] = v0 + nVals
    this.cacheCount = e + 1
  }

  // UTF-8 of s[from, to) into the scratch buffer; lone surrogates become U+FFFD as TextEncoder
  // writes them
  private utf8(s: string, from: number, to: number): number {
    if (this.bytes.length < (to - from) * 3) this.grow((to - from) * 3)
    const b = this.bytes
    let n = 0
    for (let i = from; i < to; i++) {
      let c = s.charCodeAt(i)
      if (c < 0x80) b[n++] = c
      else if (c < 0x800) {
        b[n++] = 0xc0 | (c >> 6)
        b[n++] = 0x80 | (c & 63)
      } else {
        if (c >= 0xd800 && c <= 0xdfff) {
          const d = i + 1 < to ? s.charCodeAt(i + 1) : 0
          if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
            i++
            b[n++] = 0xf0 | (c >> 18)
            b[n++] = 0x80 | ((c >> 12) & 63)
            b[n++] = 0x80 | ((c >> 6) & 63)
            b[n++] = 0x80 | (c & 63)
            continue
          }
          c = 0xfffd
        }
        b[n++] = 0xe0 | (c >> 12)
        b[n++] = 0x80 | ((c >> 6) & 63)
        b[n++] = 0x80 | (c & 63)
      }
    }
    return n
  }

  private grow(n: number): void {
    let size = this.bytes.length
    while (size < n) size *= 2
    this.bytes = new Uint8Array(size)
    this.sym = new Int32Array(size)
    this.rank = new Int32Array(size)
    this.next = new Int32Array(size)
    this.prev = new Int32Array(size)
    this.heap = new Float64Array(size * 2)
  }

  private lookupWord(n: number): number {
    const slots = this.wordSlots as Int32Array
    const { symBytes, symOffsets, symOut } = this.c
    const b = this.bytes
    let h = bytesHash(b, 0, n) & this.wordMask
    for (let s = slots[h]; s !== 0; s = slots[h]) {
      const off = symOffsets[s - 1]
      if (symOffsets[s] - off === n) {
        let eq = true
        for (let i = 0; i < n; i++) {
          if (symBytes[off + i] !== b[i]) {
            eq = false
            break
          }
        }
        if (eq) return symOut[s - 1]
      }
      h = (h + 1) & this.wordMask
    }
    return -1
  }

  // rank of the merge (a, b), or -1
  private mergeRank(a: number, b: number): number {
    const slots = this.mergeSlots
    const merges = this.c.merges
    let h = pairHash(a, b) & this.mergeMask
    for (let r = slots[h]; r !== 0; r = slots[h]) {
      const k = 3 * (r - 1)
      if (merges[k] === a && merges[k + 1] === b) return r - 1
      h = (h + 1) & this.mergeMask
    }
    return -1
  }

  // short words: repeatedly merge the lowest-ranked adjacent pair, leftmost on ties
  private mergeScan(n: number): void {
    const { sym, rank, bytes } = this
    const { byteSym, merges, symOut } = this.c
    for (let i = 0; i < n; i++) sym[i] = byteSym[bytes[i]]
    for (let i = 0; i < n - 1; i++) rank[i] = this.mergeRank(sym[i], sym[i + 1])
    let len = n
    while (len > 1) {
      let best = -1
      let bestRank = 0x7fffffff
      for (let i = 0; i < len - 1; i++) {
        const r = rank[i]
        if (r >= 0 && r < bestRank) {
          bestRank = r
          best = i
        }
      }
      if (best < 0) break
      sym[best] = merges[3 * bestRank + 2]
      for (let i = best + 1; i < len - 1; i++) {
        sym[i] = sym[i + 1]
        rank[i] = rank[i + 1]
      }
      len--
      if (best > 0) rank[best - 1] = this.mergeRank(sym[best - 1], sym[best])
      if (best < len - 1) rank[best] = this.mergeRank(sym[best], sym[best + 1])
    }
    for (let i = 0; i < len; i++) {
      const id = symOut[sym[i]]
      if (id >= 0) this.emit(id)
    }
  }

  // long words: a binary heap of (rank, position) over a linked list, as the reference does
  private mergeHeap(n: number): void {
    const { sym, next, prev, bytes } = this
    const { byteSym, merges, symOut } = this.c
    for (let i = 0; i < n; i++) {
      sym[i] = byteSym[bytes[i]]
      next[i] = i + 1 < n ? i + 1 : -1
      prev[i] = i - 1
    }
    // key = rank * 2^32 + position: unique, ordered by rank then leftmost
    let size = 0
    const push = (key: number): void => {
      if (size === this.heap.length) {
        const g = new Float64Array(size * 2)
        g.set(this.heap)
        this.heap = g
      }
      const h = this.heap
      let i = size++
      while (i > 0) {
        const p = (i - 1) >> 1
        if (h[p] <= key) break
        h[i] = h[p]
        i = p
      }
      h[i] = key
    }
    const pop = (): number => {
      const h = this.heap
      const top = h[0]
      const last = h[--size]
      let i = 0
      for (;;) {
        let c = 2 * i + 1
        if (c >= size) break
        if (c + 1 < size && h[c + 1] < h[c]) c++
        if (h[c] >= last) break
        h[i] = h[c]
        i = c
      }
      h[i] = last
      return top
    }
    const consider = (i: number): void => {
      const j = next[i]
      if (j < 0) return
      const r = this.mergeRank(sym[i], sym[j])
      if (r >= 0) push(r * 4294967296 + i)
    }
    for (let i = 0; i < n - 1; i++) consider(i)
    while (size > 0) {
      const key = pop()
      const r = Math.floor(key / 4294967296)
      const i = key - r * 4294967296
      // stale entries: the node is gone (sym -1) or its pair changed since it was queued
      if (sym[i] < 0) continue
      const j = next[i]
      if (j < 0 || this.mergeRank(sym[i], sym[j]) !== r) continue
      sym[i] = merges[3 * r + 2]
      sym[j] = -1
      next[i] = next[j]
      if (next[j] >= 0) prev[next[j]] = i
      if (prev[i] >= 0) consider(prev[i])
      consider(i)
    }
    for (let i = 0; i >= 0 && i < n; i = next[i]) {
      const id = symOut[sym[i]]
      if (id >= 0) this.emit(id)
    }
  }
}

function normalize(text: string, form: string): string {
  // ASCII is unchanged by every normalisation form
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return text.normalize(form)
  return text
}
