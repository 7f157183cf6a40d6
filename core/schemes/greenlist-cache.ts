// Greenlists of recurring seeds, kept as bitmaps. A torch-MT19937 greenlist is a pure function of
// (vocab, greenCount, seed) — the watermark key is already folded into the seed — so one cache serves
// every key, tenant and scheme instance of a process (a Worker isolate, the origin). Building a bitmap
// costs about 1.5 tracking passes (γV Fisher–Yates steps on a scratch permutation); a cached one
// answers any token at once.
// Left-hash style seeds recur whenever the context does ("of the", ", and"), within a text and across.

export class GreenlistCache {
  /** key → bitmap, in recency order (a Map iterates in insertion order; get re-inserts). */
  private readonly bitmaps = new Map<string, Uint32Array>()
  /** Work asked of each uncached seed so far, in membership walks: enough of it earns a bitmap. */
  private readonly asked = new Map<string, number>()
  private bytes = 0
  hits = 0
  misses = 0

  constructor(
    /** Memory bound for the bitmaps (V = 151,936: 19 KB each, so 8 MiB hold ≈ 440 greenlists). */
    readonly maxBytes = 8 * 2 ** 20,
    /**
     * Membership walks (up to γV draws each; a bitmap costs about 4) a seed must have been asked for
     * before it is cached. Most seeds of text (rare contexts) never come back before they would be
     * evicted: on Brown text at V = 151,936 with 8 MiB (bench/greenlist-tracking.bench.ts), caching
     * every seed asked for twice churned the cache and made detection slower than none; 8–16 walks did
     * best. A generation step asks for a whole tracking pass (≈ 4 walks), so it is cached sooner.
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

  /**
   * Notes a request for an uncached seed that would cost `walks` membership walks without a bitmap;
   * true once the seed has been asked for `admitAfter` walks in all (then it is worth caching).
   */
  recurring(vocab: number, greenCount: number, seed: number, walks = 1): boolean {
    const key = `${vocab}:${greenCount}:${seed}`
    const n = (this.asked.get(key) ?? 0) + walks
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
