// The MetricsHub's state, as a pure class (no Workers APIs) so Node tests can drive it. The state is a
// map of storage records, so the Durable Object persists exactly the records a batch touched:
//   s:<series>            counter / histogram / last-value gauge, with the time the series started
//   g:<series>\0<isolate> one isolate's value of a `sum` gauge (active_connections)
//   i:<isolate>           batch sequence numbers already applied (idempotency)
//   w:<minute>            cache hits/misses per minute (for the windowed cache_hit_rate gauge)
import type { IngestResult, Labels, MetricsBatch } from './batch.ts'
import { MAX_LABEL_VALUE_LENGTH, METRICS, type MetricDef } from './definitions.ts'

export interface CounterRecord {
  kind: 'counter'
  name: string
  labels: Labels
  start: number
  value: number
}
export interface HistogramRecord {
  kind: 'histogram'
  name: string
  labels: Labels
  start: number
  buckets: number[]
  sum: number
  count: number
}
export interface GaugeRecord {
  kind: 'gauge'
  name: string
  labels: Labels
  value: number
  at: number
}
interface IsolateRecord {
  kind: 'isolate'
  /** Applied sequence numbers above `floor`, ascending (bounded). */
  seqs: number[]
  /** Every seq ≤ floor counts as seen (older than the window; a retry that late is dropped). */
  floor: number
  seen: number
}
interface WindowRecord {
  kind: 'window'
  hits: number
  misses: number
}
export type HubRecord = CounterRecord | HistogramRecord | GaugeRecord | IsolateRecord | WindowRecord

export interface HubOptions {
  /** A `sum` gauge value from an isolate that has not reported for this long no longer counts. */
  sumGaugeTtlMs: number
  /** Isolate idempotency records are kept this long after the isolate's last batch. */
  isolateTtlMs: number
  /** Applied sequence numbers remembered per isolate (the recorder retries at most 20 batches). */
  seqWindow: number
  /** Window of the cache_hit_rate gauge. */
  hitRateWindowMs: number
  /** Upper bound on series, so a labelling bug cannot grow storage without limit. */
  maxSeries: number
}

export const DEFAULT_HUB_OPTIONS: HubOptions = {
  sumGaugeTtlMs: 30_000,
  isolateTtlMs: 24 * 3600_000,
  seqWindow: 64,
  hitRateWindowMs: 5 * 60_000,
  maxSeries: 5_000,
}

/** One series ready for exposition; counters and histograms are cumulative since `start`. */
export type Sample =
  | { def: MetricDef; labels: Labels; start: number; at: number; value: number }
  | {
      def: MetricDef
      labels: Labels
      start: number
      at: number
      buckets: number[]
      sum: number
      count: number
    }

const MINUTE = 60_000
const seriesId = (name: string, labels: Labels) => `${name}\u0000${JSON.stringify(labels)}`

export class MetricsAggregator {
  readonly records = new Map<string, HubRecord>()
  private seriesCount = 0
  private readonly opts: HubOptions

  constructor(records?: Iterable<[string, unknown]>, opts: Partial<HubOptions> = {}) {
    this.opts = { ...DEFAULT_HUB_OPTIONS, ...opts }
    for (const [k, v] of records ?? []) this.records.set(k, v as HubRecord)
    for (const k of this.records.keys()) if (k.startsWith('s:')) this.seriesCount++
  }

  /**
   * Applies batches (each id at most once) at hub time `now`. Returns the ids by outcome and the
   * storage keys to write.
   */
  ingest(batches: MetricsBatch[], now: number): IngestResult & { dirty: Set<string> } {
    const out = { applied: [] as string[], duplicate: [] as string[], rejected: [] as string[] }
    const dirty = new Set<string>()
    for (const b of batches) {
      const result = this.apply(b, now, dirty)
      out[result].push(typeof b?.id === 'string' ? b.id : '?')
      this.count('metrics_hub_batches_total', { result }, 1, now, dirty)
    }
    return { ...out, dirty }
  }

  private apply(b: MetricsBatch, now: number, dirty: Set<string>): 'applied' | 'duplicate' | 'rejected' {
    if (!validBatch(b)) return 'rejected'
    const ik = `i:${b.isolate}`
    const iso = (this.records.get(ik) as IsolateRecord | undefined) ?? {
      kind: 'isolate',
      seqs: [],
      floor: 0,
      seen: now,
    }
    if (b.seq <= iso.floor || iso.seqs.includes(b.seq)) return 'duplicate'
    iso.seqs.push(b.seq)
    iso.seqs.sort((x, y) => x - y)
    while (iso.seqs.length > this.opts.seqWindow) iso.floor = Math.max(iso.floor, iso.seqs.shift()!)
    iso.seen = now
    this.records.set(ik, iso)
    dirty.add(ik)

    for (const [name, labels, delta] of b.counters) {
      const def = METRICS.get(name)
      if (def?.type !== 'counter' || !(delta > 0) || !Number.isFinite(delta)) continue
      this.count(name, clean(def, labels), delta, now, dirty)
      if (name === 'cache_hits_total' || name === 'cache_misses_total') {
        const wk = `w:${Math.floor(now / MINUTE)}`
        const w = (this.records.get(wk) as WindowRecord | undefined) ?? { kind: 'window', hits: 0, misses: 0 }
        if (name === 'cache_hits_total') w.hits += delta
        else w.misses += delta
        this.records.set(wk, w)
        dirty.add(wk)
      }
    }
    for (const [name, labels, buckets, sum, count] of b.histograms) {
      const def = METRICS.get(name)
      if (def?.type !== 'histogram' || !Array.isArray(buckets) || buckets.length !== def.buckets!.length + 1)
        continue // a different bucket layout (an old version mid-deploy) cannot be merged
      if (!buckets.every((n) => Number.isInteger(n) && n >= 0) || !Number.isFinite(sum) || !(count >= 0))
        continue
      const l = clean(def, labels)
      const k = `s:${seriesId(name, l)}`
      let r = this.records.get(k) as HistogramRecord | undefined
      if (!r) {
        if (!this.roomForSeries()) continue
        r = {
          kind: 'histogram',
          name,
          labels: l,
          start: now,
          buckets: new Array(buckets.length).fill(0),
          sum: 0,
          count: 0,
        }
      }
      for (let i = 0; i < buckets.length; i++) r.buckets[i] += buckets[i]
      r.sum += sum
      r.count += count
      this.records.set(k, r)
      dirty.add(k)
    }
    for (const [name, labels, value] of b.gauges) {
      const def = METRICS.get(name)
      if (def?.type !== 'gauge' || !Number.isFinite(value) || name === 'cache_hit_rate') continue
      const l = clean(def, labels)
      if (def.mode === 'sum') {
        const k = `g:${seriesId(name, l)}\u0000${b.isolate}`
        this.records.set(k, { kind: 'gauge', name, labels: l, value, at: now })
        dirty.add(k)
      } else {
        const k = `s:${seriesId(name, l)}`
        const prev = this.records.get(k) as GaugeRecord | undefined
        if (!prev && !this.roomForSeries()) continue
        // Last writer wins by hub arrival time; batches from one isolate arrive in order.
        this.records.set(k, { kind: 'gauge', name, labels: l, value, at: now })
        dirty.add(k)
      }
    }
    return 'applied'
  }

  private roomForSeries(): boolean {
    if (this.seriesCount >= this.opts.maxSeries) return false
    this.seriesCount++
    return true
  }

  private count(name: string, labels: Labels, delta: number, now: number, dirty: Set<string>) {
    const k = `s:${seriesId(name, labels)}`
    let r = this.records.get(k) as CounterRecord | undefined
    if (!r) {
      if (!this.roomForSeries()) return
      r = { kind: 'counter', name, labels, start: now, value: 0 }
    }
    r.value += delta
    this.records.set(k, r)
    dirty.add(k)
  }

  /** Drops expired records (stale isolates, old cache-window minutes); returns the keys removed. */
  gc(now: number): string[] {
    const removed: string[] = []
    for (const [k, r] of this.records) {
      const stale =
        (r.kind === 'isolate' && now - r.seen > this.opts.isolateTtlMs) ||
        (k.startsWith('g:') && r.kind === 'gauge' && now - r.at > this.opts.sumGaugeTtlMs) ||
        (r.kind === 'window' && Number(k.slice(2)) * MINUTE < now - 2 * this.opts.hitRateWindowMs)
      if (stale) {
        this.records.delete(k)
        removed.push(k)
      }
    }
    return removed
  }

  /** Every exported series at hub time `now`, in catalogue order. */
  collect(now: number): Map<MetricDef, Sample[]> {
    const out = new Map<MetricDef, Sample[]>()
    for (const def of METRICS.values()) out.set(def, [])
    const sums = new Map<string, Sample>()
    for (const [k, r] of this.records) {
      if (r.kind === 'counter')
        out
          .get(METRICS.get(r.name)!)
          ?.push({ def: METRICS.get(r.name)!, labels: r.labels, start: r.start, at: now, value: r.value })
      else if (r.kind === 'histogram') {
        const def = METRICS.get(r.name)!
        out.get(def)?.push({
          def,
          labels: r.labels,
          start: r.start,
          at: now,
          buckets: r.buckets,
          sum: r.sum,
          count: r.count,
        })
      } else if (r.kind === 'gauge') {
        const def = METRICS.get(r.name)
        if (!def) continue
        if (k.startsWith('g:')) {
          if (now - r.at > this.opts.sumGaugeTtlMs) continue
          const id = seriesId(r.name, r.labels)
          const s = sums.get(id) as { value: number } | undefined
          if (s) s.value += r.value
          else sums.set(id, { def, labels: r.labels, start: r.at, at: now, value: r.value })
        } else out.get(def)?.push({ def, labels: r.labels, start: r.at, at: r.at, value: r.value })
      }
    }
    for (const s of sums.values()) out.get(s.def)!.push(s)
    // Unlabelled counters and sum gauges read 0 before anything happened (rate() needs the series).
    for (const def of METRICS.values()) {
      const list = out.get(def)!
      if (def.labels.length === 0 && list.length === 0 && (def.type === 'counter' || def.mode === 'sum'))
        list.push({ def, labels: {}, start: now, at: now, value: 0 })
    }
    const rate = this.hitRate(now)
    if (rate !== null)
      out
        .get(METRICS.get('cache_hit_rate')!)!
        .push({ def: METRICS.get('cache_hit_rate')!, labels: {}, start: now, at: now, value: rate })
    return out
  }

  /** hits / (hits + misses) over the window; null without lookups. */
  hitRate(now: number): number | null {
    let hits = 0
    let misses = 0
    const from = Math.floor((now - this.opts.hitRateWindowMs) / MINUTE)
    for (const [k, r] of this.records) {
      if (r.kind !== 'window' || Number(k.slice(2)) <= from) continue
      hits += r.hits
      misses += r.misses
    }
    return hits + misses > 0 ? hits / (hits + misses) : null
  }
}

function clean(def: MetricDef, labels: unknown): Labels {
  const l: Labels = {}
  const given = labels && typeof labels === 'object' ? (labels as Record<string, unknown>) : {}
  for (const name of def.labels) l[name] = String(given[name] ?? '').slice(0, MAX_LABEL_VALUE_LENGTH)
  return l
}

function validBatch(b: MetricsBatch): boolean {
  return (
    !!b &&
    typeof b.isolate === 'string' &&
    b.isolate.length > 0 &&
    b.isolate.length <= 100 &&
    Number.isSafeInteger(b.seq) &&
    b.seq > 0 &&
    b.id === `${b.isolate}:${b.seq}` &&
    Array.isArray(b.counters) &&
    Array.isArray(b.histograms) &&
    Array.isArray(b.gauges)
  )
}
