// In-isolate metric recorder. It only accumulates deltas: an isolate's own totals mean nothing (each
// Workers isolate has its own memory and is evicted at will), so nothing here is ever exposed
// directly. `flush` cuts a batch and sends it, with any earlier unacknowledged batches, to the sink
// (the MetricsHub), which applies each batch id once.
import type { IngestResult, Labels, MetricsBatch, MetricsSink } from './batch.ts'
import {
  type CounterName,
  type GaugeName,
  type HistogramName,
  MAX_LABEL_VALUE_LENGTH,
  METRICS,
} from './definitions.ts'

export interface FlushPolicy {
  /** Flush at least this often while requests arrive (ms). */
  intervalMs: number
  /** ...or after this many recorded requests, whichever comes first. */
  maxRequests: number
  /** Unacknowledged batches kept for retry; older ones are dropped (undercount, never double count). */
  maxPending: number
}

/**
 * Every 5 s, or sooner after 1,000 requests. At 50 requests a busy isolate flushed ~9 times a second,
 * and the request after each flush was measurably slower (the hub's storage write shares the process).
 */
export const DEFAULT_FLUSH_POLICY: FlushPolicy = { intervalMs: 5_000, maxRequests: 1_000, maxPending: 20 }

const seriesKey = (name: string, labels: Labels) => `${name}\u0000${JSON.stringify(labels)}`

function normaliseLabels(name: string, given: Labels): Labels {
  const def = METRICS.get(name)
  if (!def) throw new Error(`unknown metric ${name}`)
  const out: Labels = {}
  for (const l of def.labels) out[l] = String(given[l] ?? '').slice(0, MAX_LABEL_VALUE_LENGTH)
  return out
}

export class MetricsRecorder {
  private isolateId: string | undefined
  private seq = 0
  private counters = new Map<string, [string, Labels, number]>()
  private histograms = new Map<string, [string, Labels, number[], number, number]>()
  private gauges = new Map<string, [string, Labels, number]>()
  private pending: MetricsBatch[] = []
  private sending = false
  private lastFlush: number
  private requestsSinceFlush = 0
  private reportedInFlight = 0
  /** Requests in flight in this isolate (the `active_connections` gauge). */
  inFlight = 0

  constructor(
    readonly policy: FlushPolicy = DEFAULT_FLUSH_POLICY,
    private readonly now: () => number = Date.now,
    isolate?: string,
  ) {
    this.isolateId = isolate
    // Negative infinity: the first request of a fresh isolate flushes at once, so short-lived
    // isolates still report.
    this.lastFlush = Number.NEGATIVE_INFINITY
  }

  /**
   * Random id of this isolate, made on first use: the recorder is created at module scope, where
   * Workers forbid generating random values.
   */
  get isolate(): string {
    this.isolateId ??= crypto.randomUUID()
    return this.isolateId
  }

  inc(name: CounterName, labels: Labels = {}, by = 1): void {
    if (!(by > 0) || !Number.isFinite(by)) return
    const l = normaliseLabels(name, labels)
    const k = seriesKey(name, l)
    const s = this.counters.get(k)
    if (s) s[2] += by
    else this.counters.set(k, [name, l, by])
  }

  observe(name: HistogramName, labels: Labels, value: number): void {
    if (!Number.isFinite(value)) return
    const buckets = METRICS.get(name)!.buckets!
    const l = normaliseLabels(name, labels)
    const k = seriesKey(name, l)
    let s = this.histograms.get(k)
    if (!s) {
      s = [name, l, new Array(buckets.length + 1).fill(0), 0, 0]
      this.histograms.set(k, s)
    }
    let i = buckets.findIndex((b) => value <= b)
    if (i < 0) i = buckets.length
    s[2][i]++
    s[3] += value
    s[4]++
  }

  set(name: GaugeName, labels: Labels, value: number): void {
    if (!Number.isFinite(value)) return
    const l = normaliseLabels(name, labels)
    this.gauges.set(seriesKey(name, l), [name, l, value])
  }

  /** Marks the end of one request for the flush policy. */
  requestDone(): void {
    this.requestsSinceFlush++
  }

  /** Whether a flush is due: interval or request count reached, or the in-flight count fell to 0. */
  due(): boolean {
    if (this.sending) return false
    const elapsed = this.now() - this.lastFlush
    if (elapsed >= this.policy.intervalMs || this.requestsSinceFlush >= this.policy.maxRequests) return true
    // An isolate going idle reports 0 in flight promptly rather than leaving a stale count (≤ 1/s).
    return this.inFlight === 0 && this.reportedInFlight !== 0 && elapsed >= 1_000
  }

  /** Cuts a batch of everything recorded since the last cut (null when there is nothing to send). */
  cut(): MetricsBatch | null {
    this.set('active_connections', {}, this.inFlight)
    if (this.counters.size === 0 && this.histograms.size === 0 && this.gauges.size === 0) return null
    const seq = ++this.seq
    const batch: MetricsBatch = {
      id: `${this.isolate}:${seq}`,
      isolate: this.isolate,
      seq,
      at: this.now(),
      counters: [...this.counters.values()],
      histograms: [...this.histograms.values()],
      gauges: [...this.gauges.values()],
    }
    this.counters = new Map()
    this.histograms = new Map()
    this.gauges = new Map()
    this.reportedInFlight = this.inFlight
    return batch
  }

  /** Batches cut but not yet acknowledged by the hub. */
  get unacknowledged(): readonly MetricsBatch[] {
    return this.pending
  }

  /**
   * Cuts a batch and sends it with earlier unacknowledged ones. Never throws: a failed send keeps the
   * batches (same ids) for the next flush. Concurrent calls while a send is in flight return at once.
   */
  async flush(sink: MetricsSink): Promise<IngestResult | null> {
    if (this.sending) return null
    const batch = this.cut()
    this.lastFlush = this.now()
    this.requestsSinceFlush = 0
    if (batch) this.pending.push(batch)
    if (this.pending.length > this.policy.maxPending)
      this.pending.splice(0, this.pending.length - this.policy.maxPending)
    if (this.pending.length === 0) return null
    const sent = [...this.pending]
    this.sending = true
    try {
      const result = await sink.send(sent)
      // Applied and duplicate ids both mean "the hub has it"; rejected ones would fail again.
      const done = new Set([...result.applied, ...result.duplicate, ...result.rejected])
      this.pending = this.pending.filter((b) => !done.has(b.id))
      return result
    } catch {
      return null
    } finally {
      this.sending = false
    }
  }
}
