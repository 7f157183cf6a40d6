// Greenlists of recurring seeds, kept as bitmaps. A torch-MT19937 greenlist is a pure function of
// (vocab, greenCount, seed) — the watermark key is already folded into the seed — so one cache serves
// every key, tenant and scheme instance of a process (a Worker isolate, the origin). Building a bitmap
// costs about one tracking pass (≈ γV Fisher–Yates steps); a cached one answers any token at once.
// Left-hash style seeds recur whenever the context does ("of the", ", and"), within a text and across.

export class GreenlistCache {
  /** key → bitmap, in recency order (a Map iterates in insertion order; get re-inserts). */
  private readonly bitmaps = new Map<string, Uint32Array>()
  /** Requests per uncached seed: only a seed asked for `admitAfter` times earns a bitmap. */
  private readonly asked = new Map<string, number>()
  private bytes = 0
  hits = 0
  misses = 0

  constructor(
    /** Memory bound for the bitmaps (V = 151,936: 19 KB each, so 8 MiB hold ≈ 440 greenlists). */
    readonly maxBytes = 8 * 2 ** 20,
    /**
     * Requests before a seed is cached. A bitmap costs ≈ 4 membership walks, and most seeds of text
     * (rare contexts) never come back before they would be evicted. On Brown text at V = 151,936 with
     * 8 MiB (bench/greenlist-tracking.bench.ts and its notes): admitting on the 2nd request churned the
     * cache and detection got slower than without it; the 8th to 16th request did best.
     */
    readonly admitAfter = 8,
    /** Bound on the remembered request counts (cleared when full). */
    private readonly maxAsked = 1 << 16,
  ) {}

  get size(): number {
    return this.bitmaps.size
  }

  /** The cached greenlist of this seed, or undefined (a miss is counted). */
  get(vocab: number, greenCount: number, seed: number): Uint32Array | undefined {
    const key = `${vocab}:${greenCount}:${seed}`
    const bitmap = this.bitmaps.get(key)
    if (bitmap) {
      this.bitmaps.delete(key)
      this.bitmaps.set(key, bitmap)
      this.hits++
    } else this.misses++
    return bitmap
  }

  /** Notes a request for an uncached seed; true once it has been asked for `admitAfter` times. */
  recurring(vocab: number, greenCount: number, seed: number): boolean {
    const key = `${vocab}:${greenCount}:${seed}`
    const n = (this.asked.get(key) ?? 0) + 1
    if (n >= this.admitAfter) {
      this.asked.delete(key)
      return true
    }
    if (this.asked.size >= this.maxAsked) this.asked.clear()
    this.asked.set(key, n)
    return false
  }

  set(vocab: number, greenCount: number, seed: number, bitmap: Uint32Array): void {
    const key = `${vocab}:${greenCount}:${seed}`
    if (bitmap.byteLength > this.maxBytes) return
    const old = this.bitmaps.get(key)
    if (old) this.bytes -= old.byteLength
    this.bitmaps.delete(key)
    this.bitmaps.set(key, bitmap)
    this.bytes += bitmap.byteLength
    for (const [k, b] of this.bitmaps) {
      if (this.bytes <= this.maxBytes) break
      this.bitmaps.delete(k)
      this.bytes -= b.byteLength
    }
  }

  clear(): void {
    this.bitmaps.clear()
    this.asked.clear()
    this.bytes = 0
  }
}

/** The process-wide cache KGW schemes use unless their deps name another (or null: none). */
export const sharedGreenlists = new GreenlistCache()

/** Bit p of a greenlist bitmap. */
export const isGreenIn = (bitmap: Uint32Array, p: number): number => (bitmap[p >>> 5] >>> (p & 31)) & 1
