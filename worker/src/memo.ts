// A small per-isolate TTL map: keeps the hot path (auth, the tenant's key list) off the database.
// Staleness is bounded by the TTL; writes in this isolate invalidate at once. While the database is
// unavailable, memoised() serves an expired value for up to `staleMs` more (stale-if-error), so
// detection keeps answering for the tenants this isolate has seen; revocations made during that time
// cannot be seen anyway.
import { isDatabaseUnavailable } from './db-availability.ts'

export class TtlMap<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>()

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
    private readonly staleMs = 15 * 60_000,
  ) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key)
    if (!e) return undefined
    if (e.expires <= this.now()) {
      if (e.expires + this.staleMs <= this.now()) this.entries.delete(key)
      return undefined
    }
    return e.value
  }

  /** An expired value still within the stale window (for when it cannot be reloaded). */
  stale(key: string): V | undefined {
    const e = this.entries.get(key)
    return e && e.expires + this.staleMs > this.now() ? e.value : undefined
  }

  set(key: string, value: V): void {
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(key, { value, expires: this.now() + this.ttlMs })
  }

  delete(key: string): void {
    this.entries.delete(key)
  }
}

/** Memoises `load` per key for the TTL (failures are not cached; stale values serve a database outage). */
export async function memoised<V>(map: TtlMap<V>, key: string, load: () => Promise<V>): Promise<V> {
  const hit = map.get(key)
  if (hit !== undefined) return hit
  let value: V
  try {
    value = await load()
  } catch (err) {
    const stale = isDatabaseUnavailable(err) ? map.stale(key) : undefined
    if (stale !== undefined) return stale
    throw err
  }
  map.set(key, value)
  return value
}
