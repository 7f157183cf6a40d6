// MetricsHub Durable Object: one global instance (idFromName('global')) that aggregates the batches
// isolates flush, serves the aggregate as Prometheus text, and pushes it as OTLP on an alarm. The
// logic lives in metrics/aggregate.ts and metrics/exposition.ts; this file is the storage glue.
import { MetricsAggregator } from './metrics/aggregate.ts'
import type { MetricsBatch } from './metrics/batch.ts'
import {
  otlpMetricsRequest,
  PROMETHEUS_CONTENT_TYPE,
  prometheusText,
  pushOtlp,
  type OtlpTarget,
} from './metrics/exposition.ts'

/** The slice of DurableObjectState the hub uses (the project does not ship @cloudflare/workers-types). */
export interface HubState {
  storage: {
    list(): Promise<Map<string, unknown>>
    put(entries: Record<string, unknown>): Promise<void>
    delete(keys: string[]): Promise<number>
    getAlarm(): Promise<number | null>
    setAlarm(scheduledTime: number): Promise<void>
  }
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>
}

export interface HubEnv {
  /** Full OTLP/HTTP metrics URL, e.g. https://otlp-gateway-prod-eu-west-2.grafana.net/otlp/v1/metrics */
  OTLP_METRICS_URL?: string
  GRAFANA_INSTANCE_ID?: string
  GRAFANA_TOKEN?: string
}

export const HUB_NAME = 'global'
export const PUSH_INTERVAL_MS = 60_000
/** Without a push target the alarm only garbage-collects stale records. */
const GC_INTERVAL_MS = 3600_000
/** Storage put() takes at most 128 keys per call. */
const PUT_CHUNK = 128

export function otlpTarget(env: HubEnv): OtlpTarget | null {
  if (!env.OTLP_METRICS_URL || !env.GRAFANA_INSTANCE_ID || !env.GRAFANA_TOKEN) return null
  return { url: env.OTLP_METRICS_URL, instanceId: env.GRAFANA_INSTANCE_ID, token: env.GRAFANA_TOKEN }
}

export class MetricsHub {
  private agg = new MetricsAggregator()
  /** Whether an alarm is known to be scheduled (saves a storage read per ingest). */
  private alarmSet = false

  constructor(
    private readonly state: HubState,
    private readonly env: HubEnv,
  ) {
    void state.blockConcurrencyWhile(async () => {
      this.agg = new MetricsAggregator(await state.storage.list())
    })
  }

  async fetch(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url)
    if (request.method === 'POST' && pathname === '/ingest') {
      const body = (await request.json().catch(() => null)) as { batches?: MetricsBatch[] } | null
      if (!body || !Array.isArray(body.batches))
        return Response.json({ error: 'batches required' }, { status: 400 })
      // Apply and persist in one synchronous stretch: the writes below are issued without an await
      // between them, so the runtime commits them as one transaction before answering.
      const { dirty, ...result } = this.agg.ingest(body.batches, Date.now())
      const writes = this.persist(dirty)
      await Promise.all([writes, this.ensureAlarm()])
      return Response.json(result)
    }
    if (request.method === 'GET' && pathname === '/metrics')
      return new Response(prometheusText(this.agg.collect(Date.now())), {
        headers: { 'content-type': PROMETHEUS_CONTENT_TYPE },
      })
    if (request.method === 'GET' && pathname === '/otlp')
      return Response.json(otlpMetricsRequest(this.agg.collect(Date.now()), this.resource()))
    return new Response('not found', { status: 404 })
  }

  /** Pushes the aggregate to Grafana Cloud (when configured), drops stale records, reschedules. */
  async alarm(): Promise<void> {
    const removed = this.agg.gc(Date.now())
    if (removed.length) await this.state.storage.delete(removed)
    const target = otlpTarget(this.env)
    try {
      if (target) await pushOtlp(target, otlpMetricsRequest(this.agg.collect(Date.now()), this.resource()))
    } catch (e) {
      // The error carries the HTTP status only; never the credentials.
      console.error(
        JSON.stringify({ level: 'error', msg: 'metrics push failed', error: (e as Error).message }),
      )
    } finally {
      await this.state.storage.setAlarm(Date.now() + (target ? PUSH_INTERVAL_MS : GC_INTERVAL_MS))
      this.alarmSet = true
    }
  }

  private resource() {
    return { serviceName: 'wmlab-edge', instanceId: 'metrics-hub' }
  }

  private persist(keys: Set<string>): Promise<unknown> {
    const entries = [...keys].map((k) => [k, this.agg.records.get(k)] as const)
    const puts: Promise<void>[] = []
    for (let i = 0; i < entries.length; i += PUT_CHUNK)
      puts.push(this.state.storage.put(Object.fromEntries(entries.slice(i, i + PUT_CHUNK))))
    return Promise.all(puts)
  }

  private async ensureAlarm(): Promise<void> {
    if (this.alarmSet) return
    if ((await this.state.storage.getAlarm()) === null)
      await this.state.storage.setAlarm(
        Date.now() + (otlpTarget(this.env) ? PUSH_INTERVAL_MS : GC_INTERVAL_MS),
      )
    this.alarmSet = true
  }
}
