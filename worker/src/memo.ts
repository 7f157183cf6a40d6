// A small per-isolate TTL map: keeps the hot path (auth, the tenant's key list) off the database.
// Staleness is bounded by the TTL; writes in this isolate invalidate at once. Concurrent misses share
// one load (at hundreds of requests per second an expiry otherwise sent a burst of identical queries,
// each on its own connection). Given a background hook, a value expired less than one TTL ago is served
// while one refresh runs (stale-while-revalidate: staleness at most one TTL plus that round trip). While
// the database is unavailable, memoised() serves an expired value for up to `staleMs` more
// (stale-if-error), so detection keeps answering for the tenants this isolate has seen; revocations made
// during that time cannot be seen anyway.
import { isDatabaseUnavailable } from './db-availability.ts'

export class TtlMap<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>()
  /** Loads in flight, one per key. */
  readonly loading = new Map<string, Promise<V>>()

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

  /** A value that expired less than one TTL ago (served while it is refreshed). */
  recent(key: string): V | undefined {
    const e = this.entries.get(key)
    const now = this.now()
    return e && e.expires <= now && now < e.expires + this.ttlMs ? e.value : undefined
  }

  set(key: string, value: V): void {
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(key, { value, expires: this.now() + this.ttlMs })
  }

  /** Forgets the value, and any load in flight (its result, read before the write, is not kept). */
  delete(key: string): void {
    this.entries.delete(key)
    this.loading.delete(key)
  }
}

/**
 * Memoises `load` per key for the TTL (failures are not cached; stale values serve a database outage).
 * With `background` (ctx.waitUntil), a recently expired value answers at once and one refresh runs
 * behind it; without, callers wait for the (shared) load.
 */
export async function memoised<V>(
  map: TtlMap<V>,
  key: string,
  load: () => Promise<V>,
  background?: (p: Promise<unknown>) => void,
): Promise<V> {
  const hit = map.get(key)
  if (hit !== undefined) return hit
  const recent = background ? map.recent(key) : undefined
  if (recent !== undefined) {
    if (!map.loading.has(key)) background!(shared(map, key, load).catch(() => undefined))
    return recent
  }
  try {
    return await shared(map, key, load)
  } catch (err) {
    const stale = isDatabaseUnavailable(err) ? map.stale(key) : undefined
    if (stale !== undefined) return stale
    throw err
  }
}

/** The load in flight for `key`, or a new one; its value is kept unless the key was deleted meanwhile. */
function shared<V>(map: TtlMap<V>, key: string, load: () => Promise<V>): Promise<V> {
  const inFlight = map.loading.get(key)
  if (inFlight) return inFlight
  const p: Promise<V> = load().then(
    (value) => {
      if (map.loading.get(key) === p) {
        map.loading.delete(key)
        map.set(key, value)
      }
      return value
    },
    (err) => {
      if (map.loading.get(key) === p) map.loading.delete(key)
      throw err
    },
  )
  map.loading.set(key, p)
  return p
}
