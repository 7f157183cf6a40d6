// In-memory ResultCache (TTL honoured): unit tests and `npm start` without Upstash.
import type { ResultCache } from './detection.ts'

export class MemoryCache implements ResultCache {
  private readonly entries = new Map<string, { value: string; expires: number }>()
  hits = 0
  misses = 0

  constructor(private readonly maxEntries = 10_000) {}

  async get(key: string): Promise<string | null> {
    const e = this.entries.get(key)
    if (!e || e.expires < Date.now()) {
      if (e) this.entries.delete(key)
      this.misses++
      return null
    }
    this.hits++
    return e.value
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(key, { value, expires: Date.now() + ttlSeconds * 1000 })
  }
}
