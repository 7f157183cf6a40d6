// The origin's Prometheus metrics (prom-client), one registry per app so tests and several apps in
// one process never share counters. Names follow ops/RUNBOOK and the design (§6).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { registerHostMetrics } from './host-metrics.ts'

/** How a generation ended, as the edge labels it (worker/src/metrics). */
export type GenerationOutcome = 'success' | 'error' | 'cancelled' | 'rejected'

export interface OriginMetrics {
  readonly registry: Registry
  modelLoads: Counter<'model' | 'outcome'>
  modelLoadDuration: Histogram<'model'>
  generations: Counter<'scheme' | 'outcome'>
  generationTokens: Counter<'scheme'>
  tokenDuration: Histogram<'scheme'>
  timeToFirstToken: Histogram<'scheme'>
  queueDepth: Gauge
  inFlight: Gauge
  httpRequests: Counter<'method' | 'route' | 'status'>
  httpDuration: Histogram<'route'>
}

/**
 * A fresh registry with the origin's metrics and the default process metrics. `queueDepth` and
 * `inFlight` are read from the limiter at scrape time.
 */
export function createOriginMetrics(state: {
  queueDepth(): number
  inFlight(): number
  /** Where the model lives: its filesystem's use is disk_usage_percent. */
  diskPath?: string
}): OriginMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  registerHostMetrics(registry, { diskPath: state.diskPath ?? '/' })
  const registers = [registry]
  return {
    registry,
    modelLoads: new Counter({
      name: 'model_loads_total',
      help: 'Model loads by outcome (success, error).',
      labelNames: ['model', 'outcome'],
      registers,
    }),
    modelLoadDuration: new Histogram({
      name: 'model_load_duration_seconds',
      help: 'Time from reading the model folder to a session that has answered one forward pass.',
      labelNames: ['model'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    generations: new Counter({
      name: 'watermark_generations_total',
      help: 'Generation requests by scheme ("none" = unwatermarked) and outcome.',
      labelNames: ['scheme', 'outcome'],
      registers,
    }),
    generationTokens: new Counter({
      name: 'generation_tokens_total',
      help: 'Completion tokens generated.',
      labelNames: ['scheme'],
      registers,
    }),
    tokenDuration: new Histogram({
      name: 'generation_token_duration_seconds',
      help: 'Per-token latency: one engine step plus the decoding (and watermark) step; 1/x is tokens/s.',
      labelNames: ['scheme'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    timeToFirstToken: new Histogram({
      name: 'generation_time_to_first_token_seconds',
      help: 'From request arrival (queue wait included) to the first generated token.',
      labelNames: ['scheme'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'origin_queue_depth',
      help: 'Requests waiting for a generation slot.',
      registers,
      collect() {
        this.set(state.queueDepth())
      },
    }),
    inFlight: new Gauge({
      name: 'origin_in_flight',
      help: 'Generations and scorings holding a slot.',
      registers,
      collect() {
        this.set(state.inFlight())
      },
    }),
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by method, matched route and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to the response headers (a stream’s body runs on).',
      labelNames: ['route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    }),
  }
}
