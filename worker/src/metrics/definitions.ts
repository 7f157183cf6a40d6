// The edge's metric catalogue: names, types, labels and buckets, shared by the isolate recorder
// (worker/src/metrics/recorder.ts) and the MetricsHub aggregator so both sides agree on the shape of
// every series. Names follow the operations runbook (ops/RUNBOOK.md); alert rules and dashboards are
// checked against this list (ops/alerts.test.ts, ops/grafana.test.ts).

export type MetricType = 'counter' | 'histogram' | 'gauge'

/**
 * How the hub combines gauge values from several isolates: `sum` keeps each isolate's latest value
 * and adds them up (in-flight requests), dropping isolates that stopped reporting; `last` keeps the
 * most recent value any isolate reported (a dependency probe result).
 */
export type GaugeMode = 'sum' | 'last'

export interface MetricDef {
  name: string
  type: MetricType
  help: string
  labels: readonly string[]
  buckets?: readonly number[]
  mode?: GaugeMode
}

/**
 * Request latency buckets in seconds. Dense around the runbook's 2 s P95 threshold (1, 1.5, 2, 2.5, 3)
 * so histogram_quantile interpolates within a narrow bucket there; 30 s and 60 s catch long generations.
 */
export const LATENCY_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 5, 10, 30, 60,
] as const

/**
 * −log10 p buckets: 1.3 is p = 0.05, 2 and 3 the usual 1 % and 0.1 % thresholds, 4–6 the presets'
 * (1e-4 … 1e-6), then strong evidence up to 1e-50.
 */
export const PVALUE_NEG_LOG10_BUCKETS = [0.5, 1, 1.3, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50] as const

const defs = [
  {
    name: 'http_requests_total',
    type: 'counter',
    help: 'HTTP requests answered by the edge, by method, matched route pattern and status code.',
    labels: ['method', 'route', 'status'],
  },
  {
    name: 'http_request_duration_seconds',
    type: 'histogram',
    help: 'Time from request to response headers at the edge (streams: time to first byte), by route.',
    labels: ['route'],
    buckets: LATENCY_BUCKETS,
  },
  {
    name: 'watermark_detections_total',
    type: 'counter',
    help: 'Detections served (cache hits included), by scheme and verdict.',
    labels: ['scheme', 'verdict'],
  },
  {
    name: 'watermark_detection_pvalue_neg_log10',
    type: 'histogram',
    help: 'Evidence of the detections served: -log10 of the p-value, by scheme (0 = no evidence; 6 = p of 1e-6).',
    labels: ['scheme'],
    buckets: PVALUE_NEG_LOG10_BUCKETS,
  },
  {
    name: 'watermark_generations_total',
    type: 'counter',
    help: 'Watermarked generations requested through the edge, by scheme and outcome.',
    labels: ['scheme', 'outcome'],
  },
  {
    name: 'cache_hits_total',
    type: 'counter',
    help: 'Detection-result cache lookups that found a result.',
    labels: [],
  },
  {
    name: 'cache_misses_total',
    type: 'counter',
    help: 'Detection-result cache lookups that found nothing (or failed).',
    labels: [],
  },
  {
    name: 'cache_hit_rate',
    type: 'gauge',
    help: 'Share of detection-result cache lookups that hit over the last 5 minutes (computed by the hub).',
    labels: [],
    mode: 'last',
  },
  {
    name: 'active_connections',
    type: 'gauge',
    help: 'Requests in flight at the edge, summed over isolates that reported in the last 30 s.',
    labels: [],
    mode: 'sum',
  },
  {
    name: 'dependency_up',
    type: 'gauge',
    help: 'Whether the last probe of a dependency (db, cache, origin) succeeded: 1 up, 0 down.',
    labels: ['dependency'],
    mode: 'last',
  },
  {
    name: 'dependency_latency_seconds',
    type: 'gauge',
    help: 'Round-trip time of the last probe of a dependency.',
    labels: ['dependency'],
    mode: 'last',
  },
  {
    name: 'queue_depth',
    type: 'gauge',
    help: 'Messages waiting in a queue (experiments), as last reported by its consumer.',
    labels: ['queue'],
    mode: 'last',
  },
  {
    name: 'queue_oldest_message_age_seconds',
    type: 'gauge',
    help: 'Age of the oldest message a queue consumer saw in its last batch.',
    labels: ['queue'],
    mode: 'last',
  },
  {
    name: 'deployment_timestamp_seconds',
    type: 'gauge',
    help: 'Upload time of the Worker version serving requests (changes on every deployment).',
    labels: [],
    mode: 'last',
  },
  {
    name: 'config_hash',
    type: 'gauge',
    help: 'Hash of the non-secret configuration (vars, which bindings and secrets are present); changes with the configuration.',
    labels: [],
    mode: 'last',
  },
  {
    name: 'metrics_hub_batches_total',
    type: 'counter',
    help: 'Metric batches the hub received from isolates, by result (applied, duplicate, rejected).',
    labels: ['result'],
  },
] as const satisfies readonly MetricDef[]

export type MetricName = (typeof defs)[number]['name']
export type CounterName = Extract<(typeof defs)[number], { type: 'counter' }>['name']
export type HistogramName = Extract<(typeof defs)[number], { type: 'histogram' }>['name']
export type GaugeName = Extract<(typeof defs)[number], { type: 'gauge' }>['name']

export const METRICS: ReadonlyMap<string, MetricDef> = new Map(defs.map((d) => [d.name, d as MetricDef]))

/** Every name the edge exports (the hub computes cache_hit_rate; isolates never send it). */
export const METRIC_NAMES: readonly MetricName[] = defs.map((d) => d.name)

/** Label values are bounded in length so a bug cannot turn a label into an unbounded text field. */
export const MAX_LABEL_VALUE_LENGTH = 120
