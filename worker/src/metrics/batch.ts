// The wire format between isolates and the MetricsHub: deltas since the previous batch of the same
// isolate. A batch id is `${isolate}:${seq}`; the hub applies each id at most once, so a flush that is
// retried after a lost response does not count twice.

export type Labels = Record<string, string>

export interface MetricsBatch {
  /** `${isolate}:${seq}`: unique per isolate and per flush. */
  id: string
  isolate: string
  seq: number
  /** Isolate clock (ms) when the batch was cut. */
  at: number
  /** [name, labels, delta] */
  counters: [string, Labels, number][]
  /** [name, labels, per-bucket counts (last is +Inf), sum, count] */
  histograms: [string, Labels, number[], number, number][]
  /** [name, labels, value]: the isolate's current value, not a delta. */
  gauges: [string, Labels, number][]
}

export interface IngestResult {
  applied: string[]
  duplicate: string[]
  rejected: string[]
}

/** Where an isolate sends its batches: the MetricsHub Durable Object in Workers, anything in tests. */
export interface MetricsSink {
  send(batches: MetricsBatch[]): Promise<IngestResult>
}
