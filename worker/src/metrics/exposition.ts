// Output formats of the hub: Prometheus text exposition (format 0.0.4) for scrapes, and OTLP/HTTP JSON
// (cumulative temporality) for pushes to Grafana Cloud. Both read the same collected samples.
import type { Labels } from './batch.ts'
import type { Sample } from './aggregate.ts'
import type { MetricDef } from './definitions.ts'

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

const escapeHelp = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
const escapeValue = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')

function num(n: number): string {
  if (Number.isNaN(n)) return 'NaN'
  if (n === Number.POSITIVE_INFINITY) return '+Inf'
  if (n === Number.NEGATIVE_INFINITY) return '-Inf'
  return String(n)
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeValue(v)}"`)
  if (extra) pairs.push(`${extra[0]}="${escapeValue(extra[1])}"`)
  return pairs.length ? `{${pairs.join(',')}}` : ''
}

export function prometheusText(collected: Map<MetricDef, Sample[]>): string {
  const lines: string[] = []
  for (const [def, samples] of collected) {
    lines.push(`# HELP ${def.name} ${escapeHelp(def.help)}`, `# TYPE ${def.name} ${def.type}`)
    for (const s of samples) {
      if ('buckets' in s) {
        let cumulative = 0
        def.buckets!.forEach((le, i) => {
          cumulative += s.buckets[i]
          lines.push(`${def.name}_bucket${labelText(s.labels, ['le', num(le)])} ${cumulative}`)
        })
        cumulative += s.buckets[def.buckets!.length]
        lines.push(`${def.name}_bucket${labelText(s.labels, ['le', '+Inf'])} ${cumulative}`)
        lines.push(`${def.name}_sum${labelText(s.labels)} ${num(s.sum)}`)
        lines.push(`${def.name}_count${labelText(s.labels)} ${s.count}`)
      } else lines.push(`${def.name}${labelText(s.labels)} ${num(s.value)}`)
    }
  }
  return `${lines.join('\n')}\n`
}

// --- OTLP/HTTP JSON (opentelemetry-proto, ExportMetricsServiceRequest) ---

/** AGGREGATION_TEMPORALITY_CUMULATIVE: the hub holds totals, so every push repeats them. */
export const CUMULATIVE = 2

type AnyValue = { stringValue: string }
export interface KeyValue {
  key: string
  value: AnyValue
}

const attrs = (labels: Labels): KeyValue[] =>
  Object.entries(labels).map(([key, v]) => ({ key, value: { stringValue: v } }))
// fixed64 fields are decimal strings in OTLP JSON.
const nanos = (ms: number) => (BigInt(Math.round(ms)) * 1_000_000n).toString()

export interface OtlpResource {
  /** Becomes the `job` label in Grafana Cloud (service.namespace/service.name). */
  serviceName: string
  instanceId: string
  version?: string
}

/**
 * The ExportMetricsServiceRequest for the collected samples. Units are left empty on purpose: the
 * names already carry them (`_seconds`), and Grafana's OTLP→Prometheus translation would otherwise
 * append a suffix (unit "1" becomes `_ratio`).
 */
export function otlpMetricsRequest(collected: Map<MetricDef, Sample[]>, resource: OtlpResource) {
  const metrics = []
  for (const [def, samples] of collected) {
    if (samples.length === 0) continue
    const base = { name: def.name, description: def.help, unit: '' }
    if (def.type === 'histogram') {
      metrics.push({
        ...base,
        histogram: {
          aggregationTemporality: CUMULATIVE,
          dataPoints: samples.map((s) => {
            const h = s as Extract<Sample, { buckets: number[] }>
            return {
              attributes: attrs(h.labels),
              startTimeUnixNano: nanos(h.start),
              timeUnixNano: nanos(h.at),
              count: String(h.count),
              sum: h.sum,
              bucketCounts: h.buckets.map(String),
              explicitBounds: [...def.buckets!],
            }
          }),
        },
      })
    } else {
      const dataPoints = samples.map((s) => {
        const g = s as Extract<Sample, { value: number }>
        return {
          attributes: attrs(g.labels),
          ...(def.type === 'counter' ? { startTimeUnixNano: nanos(g.start) } : {}),
          timeUnixNano: nanos(g.at),
          asDouble: g.value,
        }
      })
      metrics.push(
        def.type === 'counter'
          ? { ...base, sum: { aggregationTemporality: CUMULATIVE, isMonotonic: true, dataPoints } }
          : { ...base, gauge: { dataPoints } },
      )
    }
  }
  return {
    resourceMetrics: [
      {
        resource: {
          attributes: attrs({
            'service.name': resource.serviceName,
            'service.instance.id': resource.instanceId,
            ...(resource.version ? { 'service.version': resource.version } : {}),
          }),
        },
        scopeMetrics: [{ scope: { name: 'lm-watermark-lab/metrics-hub', version: '0.1.0' }, metrics }],
      },
    ],
  }
}

export interface OtlpTarget {
  url: string
  /** Grafana Cloud OTLP instance ID and access-policy token (metrics:write). */
  instanceId: string
  token: string
}

/** `Basic base64(instanceId:token)`, as Grafana Cloud's OTLP gateway expects. */
export const basicAuth = (instanceId: string, token: string) => `Basic ${btoa(`${instanceId}:${token}`)}`

/**
 * POSTs the request. Throws on a non-2xx answer with the status only: the response body and the
 * credentials never reach an error message (it may be logged).
 */
export async function pushOtlp(
  target: OtlpTarget,
  body: unknown,
  fetchFn: typeof fetch = fetch,
  timeoutMs = 10_000,
): Promise<void> {
  const res = await fetchFn(target.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: basicAuth(target.instanceId, target.token),
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  })
  await res.body?.cancel()
  if (!res.ok) throw new Error(`OTLP metrics push answered HTTP ${res.status}`)
}
