// A small per-isolate TTL map: keeps the hot path (auth, the tenant's key list) off the database.
// Staleness is bounded by the TTL; writes in this isolate invalidate at once.
export class TtlMap<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>()

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key)
    if (!e) return undefined
    if (e.expires <= this.now()) {
      this.entries.delete(key)
      return undefined
    }
    return e.value
  }

  set(key: string, value: V): void {
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(key, { value, expires: this.now() + this.ttlMs })
  }

  delete(key: string): void {
    this.entries.delete(key)
  }
}

/** Memoises `load` per key for the TTL (failures are not cached). */
export async function memoised<V>(map: TtlMap<V>, key: string, load: () => Promise<V>): Promise<V> {
  const hit = map.get(key)
  if (hit !== undefined) return hit
  const value = await load()
  map.set(key, value)
  return value
}
