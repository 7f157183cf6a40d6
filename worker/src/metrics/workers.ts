// Wires the metrics path from a Worker's bindings: the MetricsHub namespace, the scrape token, and
// deployment/config markers (version metadata, a hash of the non-secret configuration).
import { HUB_NAME } from '../metrics-hub.ts'
import { fnv1a, hubSink, type MetricsOptions, recordDeployment } from './index.ts'

interface HubNamespace {
  idFromName(name: string): unknown
  get(id: unknown): { fetch(input: string, init?: RequestInit): Promise<Response> }
}

export interface MetricsEnv {
  /** Durable Object namespace of MetricsHub (wrangler.toml [[durable_objects.bindings]]). */
  METRICS_HUB?: HubNamespace
  /** Secret a scraper presents as `Authorization: Bearer <token>` at GET /metrics. */
  METRICS_SCRAPE_TOKEN?: string
  /** `[version_metadata]` binding: id, tag and upload timestamp of the running version. */
  CF_VERSION_METADATA?: { id?: string; tag?: string; timestamp?: string }
  RATE_LIMIT_PER_MINUTE?: string
  /** Share of successful requests logged (default 1); 4xx/5xx are always logged. */
  REQUEST_LOG_SAMPLE_RATE?: string
  [binding: string]: unknown
}

function logSampleRate(value: unknown): number | undefined {
  if (value === undefined || value === '') return undefined
  const rate = Number(value)
  if (!(rate >= 0 && rate <= 1)) throw new Error(`REQUEST_LOG_SAMPLE_RATE must be in [0, 1], got ${value}`)
  return rate
}

export function metricsFromEnv(env: MetricsEnv): MetricsOptions {
  const ns = env.METRICS_HUB
  const sink = ns ? hubSink(() => ns.get(ns.idFromName(HUB_NAME))) : undefined
  const deployedAt = Date.parse(env.CF_VERSION_METADATA?.timestamp ?? '')
  // Names of bindings only (never values), plus non-secret vars: a secret rotation changes nothing.
  const configHash = fnv1a(
    JSON.stringify({ bindings: Object.keys(env).sort(), rateLimit: env.RATE_LIMIT_PER_MINUTE ?? null }),
  )
  return {
    sink,
    scrape: sink?.scrape,
    scrapeToken: typeof env.METRICS_SCRAPE_TOKEN === 'string' ? env.METRICS_SCRAPE_TOKEN : null,
    log: (line) => console.log(line),
    logSampleRate: logSampleRate(env.REQUEST_LOG_SAMPLE_RATE),
    onRequest: () =>
      recordDeployment({
        deployedAtSeconds: Number.isFinite(deployedAt) ? deployedAt / 1000 : undefined,
        configHash,
      }),
  }
}
