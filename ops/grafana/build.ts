// Grafana dashboards as code: `npx tsx ops/grafana/build.ts` writes ops/grafana/*.json, which
// Grafana (Cloud or self-hosted) imports as they are. ops/grafana.test.ts checks that the JSON is
// up to date with this file (ops/grafana.test.ts) and that every query names a metric the service exports.
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable, not a JS template
const DS = { type: 'prometheus', uid: '${datasource}' }
const RATE = '[$__rate_interval]'
const EDGE = 'job="$edge_job"'
const ORIGIN = 'job="$origin_job"'
const HOST = 'job="$host_job"'
/** Generation routes are excluded from latency objectives (see ops/alerts/recording.yml). */
const NOT_GENERATION = 'route!~"/v1/(generate|completions|chat/completions)"'

type Target = [expr: string, legend: string]
interface Panel {
  id: number
  type: string
  title: string
  gridPos: { x: number; y: number; w: number; h: number }
  [k: string]: unknown
}

function builder() {
  let id = 0
  let y = 0
  let x = 0
  let rowHeight = 0
  const panels: Panel[] = []
  const place = (w: number, h: number) => {
    if (x + w > 24) {
      x = 0
      y += rowHeight
      rowHeight = 0
    }
    const pos = { x, y, w, h }
    x += w
    rowHeight = Math.max(rowHeight, h)
    return pos
  }
  const targets = (ts: Target[]) =>
    ts.map(([expr, legendFormat], i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DS,
      expr,
      legendFormat,
    }))
  return {
    panels,
    row(title: string) {
      x = 0
      y += rowHeight
      rowHeight = 0
      panels.push({ id: ++id, type: 'row', title, collapsed: false, gridPos: place(24, 1), panels: [] })
      x = 24 // the next panel starts a new line
    },
    timeseries(
      title: string,
      ts: Target[],
      unit: string,
      opts: { w?: number; thresholds?: number[]; description?: string } = {},
    ) {
      panels.push({
        id: ++id,
        type: 'timeseries',
        title,
        ...(opts.description ? { description: opts.description } : {}),
        datasource: DS,
        gridPos: place(opts.w ?? 12, 8),
        fieldConfig: {
          defaults: {
            unit,
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 10,
              thresholdsStyle: { mode: opts.thresholds ? 'line' : 'off' },
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                { color: 'green', value: null },
                ...(opts.thresholds ?? []).map((value) => ({ color: 'red', value })),
              ],
            },
          },
          overrides: [],
        },
        options: {
          legend: { displayMode: 'list', placement: 'bottom' },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
        targets: targets(ts),
      })
    },
    stat(title: string, ts: Target[], unit: string, steps: [color: string, from: number | null][], w = 6) {
      panels.push({
        id: ++id,
        type: 'stat',
        title,
        datasource: DS,
        gridPos: place(w, 5),
        fieldConfig: {
          defaults: {
            unit,
            thresholds: { mode: 'absolute', steps: steps.map(([color, value]) => ({ color, value })) },
          },
          overrides: [],
        },
        options: {
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
          colorMode: 'background',
          graphMode: 'area',
        },
        targets: targets(ts),
      })
    },
    /** Buckets of a histogram over time (targets in Prometheus `heatmap` format, one series per `le`). */
    heatmap(title: string, ts: Target[], opts: { w?: number; description?: string; unit?: string } = {}) {
      panels.push({
        id: ++id,
        type: 'heatmap',
        title,
        ...(opts.description ? { description: opts.description } : {}),
        datasource: DS,
        gridPos: place(opts.w ?? 12, 8),
        options: {
          calculate: false,
          yAxis: { unit: opts.unit ?? 'short' },
          cellGap: 1,
          color: { mode: 'scheme', scheme: 'Greens', steps: 64 },
          tooltip: { mode: 'single', yHistogram: true },
        },
        targets: targets(ts).map((t) => ({ ...t, format: 'heatmap' })),
      })
    },
    stateTimeline(title: string, ts: Target[], w = 12) {
      panels.push({
        id: ++id,
        type: 'state-timeline',
        title,
        datasource: DS,
        gridPos: place(w, 8),
        fieldConfig: {
          defaults: {
            mappings: [
              {
                type: 'value',
                options: { '0': { text: 'down', color: 'red' }, '1': { text: 'up', color: 'green' } },
              },
            ],
            thresholds: {
              mode: 'absolute',
              steps: [
                { color: 'red', value: null },
                { color: 'green', value: 1 },
              ],
            },
          },
          overrides: [],
        },
        options: { showValue: 'never', mergeValues: true },
        targets: targets(ts),
      })
    },
  }
}

function jobVar(name: string, label: string, value: string) {
  return {
    name,
    label,
    type: 'custom',
    query: value,
    current: { text: value, value },
    options: [{ text: value, value, selected: true }],
    hide: 0,
  }
}

function dashboard(uid: string, title: string, panels: Panel[], tags: string[]) {
  return {
    uid,
    title,
    tags: ['wmlab', ...tags],
    description: 'Alerts and procedures: ops/RUNBOOK.md in the repository.',
    timezone: 'utc',
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '1m',
    time: { from: 'now-6h', to: 'now' },
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', hide: 0 },
        jobVar('edge_job', 'Edge job', 'wmlab-edge'),
        jobVar('origin_job', 'Origin job', 'wmlab-origin'),
        jobVar('host_job', 'Origin host job', 'wmlab-origin-host'),
      ],
    },
    annotations: {
      list: [
        {
          name: 'Deployments',
          datasource: DS,
          enable: true,
          iconColor: 'blue',
          expr: `changes(deployment_timestamp_seconds{${EDGE}}[2m]) > 0`,
          titleFormat: 'Edge deployed',
        },
      ],
    },
    panels,
  }
}

export function overview() {
  const b = builder()
  b.row('Edge: rate, errors, duration per route')
  b.timeseries(
    'Requests per second by route',
    [[`sum by (route) (rate(http_requests_total{${EDGE}}${RATE}))`, '{{route}}']],
    'reqps',
  )
  b.timeseries(
    '5xx ratio by route',
    [
      [
        `sum by (route) (rate(http_requests_total{${EDGE},status=~"5.."}${RATE})) / sum by (route) (rate(http_requests_total{${EDGE}}${RATE}))`,
        '{{route}}',
      ],
    ],
    'percentunit',
    { thresholds: [0.01, 0.1], description: 'SLO: below 1 %; HighErrorRate pages above 10 %.' },
  )
  b.timeseries(
    'P95 latency by route',
    [
      [
        `histogram_quantile(0.95, sum by (route, le) (rate(http_request_duration_seconds_bucket{${EDGE}}${RATE})))`,
        '{{route}}',
      ],
    ],
    's',
    {
      thresholds: [2],
      description: 'Time to response headers; streams: time to first byte. Alert: P95 > 2 s.',
    },
  )
  b.timeseries(
    'Latency quantiles (generation routes excluded)',
    [0.5, 0.95, 0.99].map(
      (q): Target => [
        `histogram_quantile(${q}, sum by (le) (rate(http_request_duration_seconds_bucket{${EDGE},${NOT_GENERATION}}${RATE})))`,
        `p${q * 100}`,
      ],
    ),
    's',
    { thresholds: [2] },
  )
  b.timeseries(
    'Responses by status',
    [[`sum by (status) (rate(http_requests_total{${EDGE}}${RATE}))`, '{{status}}']],
    'reqps',
  )
  b.timeseries('Requests in flight', [[`sum(active_connections{${EDGE}})`, 'in flight']], 'short', {
    thresholds: [1000],
  })

  b.row('Watermarking')
  b.timeseries(
    'Detections by verdict',
    [[`sum by (verdict) (rate(watermark_detections_total{${EDGE}}${RATE}))`, '{{verdict}}']],
    'ops',
    { w: 8 },
  )
  b.timeseries(
    'Detections by scheme',
    [[`sum by (scheme) (rate(watermark_detections_total{${EDGE}}${RATE}))`, '{{scheme}}']],
    'ops',
    { w: 8 },
  )
  b.timeseries(
    'Generations by outcome',
    [[`sum by (job, outcome) (rate(watermark_generations_total${RATE}))`, '{{job}} {{outcome}}']],
    'ops',
    { w: 8 },
  )
  b.timeseries(
    'Generations by scheme (edge)',
    [[`sum by (scheme) (rate(watermark_generations_total{${EDGE}}${RATE}))`, '{{scheme}}']],
    'ops',
    { w: 8 },
  )
  b.heatmap(
    'Detection evidence: −log10 p-value distribution',
    [[`sum by (le) (increase(watermark_detection_pvalue_neg_log10_bucket{${EDGE}}[$__interval]))`, '{{le}}']],
    {
      w: 8,
      description:
        '0–1.3: no evidence (p > 0.05); 4–6: the presets’ thresholds (p = 1e-4 … 1e-6); above: strong evidence.',
    },
  )
  b.timeseries(
    'Median evidence by scheme (−log10 p)',
    [
      [
        `histogram_quantile(0.5, sum by (scheme, le) (rate(watermark_detection_pvalue_neg_log10_bucket{${EDGE}}${RATE})))`,
        '{{scheme}}',
      ],
    ],
    'short',
    { w: 8 },
  )

  b.row('Detection cache')
  b.timeseries(
    'Cache hit rate',
    [
      [`cache_hit_rate{${EDGE}}`, 'hub (5 min window)'],
      [
        `sum(rate(cache_hits_total{${EDGE}}${RATE})) / (sum(rate(cache_hits_total{${EDGE}}${RATE})) + sum(rate(cache_misses_total{${EDGE}}${RATE})))`,
        'from counters',
      ],
    ],
    'percentunit',
    { thresholds: [0.7], description: 'Alert below 70 %; target above 80 %.' },
  )
  b.timeseries(
    'Cache lookups',
    [
      [`sum(rate(cache_hits_total{${EDGE}}${RATE}))`, 'hits'],
      [`sum(rate(cache_misses_total{${EDGE}}${RATE}))`, 'misses'],
    ],
    'ops',
  )

  b.row('Dependencies and queues')
  b.stateTimeline('Dependency health (edge probes)', [
    [`max by (dependency) (dependency_up{${EDGE}})`, '{{dependency}}'],
  ])
  b.timeseries(
    'Dependency probe latency',
    [[`max by (dependency) (dependency_latency_seconds{${EDGE}})`, '{{dependency}}']],
    's',
  )
  b.timeseries(
    'Experiment queues',
    [
      [`max by (queue) (queue_depth{${EDGE}})`, '{{queue}} depth'],
      [`max by (queue) (queue_oldest_message_age_seconds{${EDGE}})`, '{{queue}} oldest age (s)'],
    ],
    'short',
  )
  b.stateTimeline('Scrape targets up', [
    [`up{job=~"$edge_job|$origin_job|$host_job"}`, '{{job}} {{instance}}'],
  ])

  b.row('Origin (GPU host)')
  b.timeseries(
    'Generated tokens per second',
    [[`sum by (instance) (rate(generation_tokens_total{${ORIGIN}}${RATE}))`, '{{instance}}']],
    'short',
    { w: 8 },
  )
  b.timeseries(
    'Origin queue and slots',
    [
      [`sum by (instance) (origin_queue_depth{${ORIGIN}})`, '{{instance}} waiting'],
      [`sum by (instance) (origin_in_flight{${ORIGIN}})`, '{{instance}} in flight'],
    ],
    'short',
    { w: 8, thresholds: [50] },
  )
  b.timeseries(
    'Time to first token (P95)',
    [
      [
        `histogram_quantile(0.95, sum by (le) (rate(generation_time_to_first_token_seconds_bucket{${ORIGIN}}${RATE})))`,
        'p95',
      ],
    ],
    's',
    { w: 8 },
  )
  b.timeseries(
    'Model loads',
    [
      [`sum by (outcome) (increase(model_loads_total{${ORIGIN}}[1h]))`, '{{outcome}} per hour'],
      [
        `sum(model_load_duration_seconds_sum{${ORIGIN}}) / sum(model_load_duration_seconds_count{${ORIGIN}})`,
        'average load time (s)',
      ],
    ],
    'short',
    { w: 8, thresholds: [30] },
  )
  b.timeseries(
    'Origin restarts per hour',
    [[`changes(process_start_time_seconds{${ORIGIN}}[1h])`, '{{instance}}']],
    'short',
    {
      w: 8,
      thresholds: [5],
    },
  )
  b.timeseries(
    'Origin process memory',
    [[`process_resident_memory_bytes{${ORIGIN}}`, '{{instance}} RSS']],
    'bytes',
    { w: 8 },
  )
  b.timeseries(
    'Host CPU, memory, disk',
    [
      [
        `1 - avg by (instance) (rate(node_cpu_seconds_total{${HOST},mode="idle"}${RATE}))`,
        '{{instance}} CPU',
      ],
      [
        `1 - node_memory_MemAvailable_bytes{${HOST}} / node_memory_MemTotal_bytes{${HOST}}`,
        '{{instance}} memory',
      ],
      [
        `max by (instance) (1 - node_filesystem_avail_bytes{${HOST},fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_size_bytes{${HOST},fstype!~"tmpfs|overlay|squashfs"})`,
        '{{instance}} fullest disk',
      ],
    ],
    'percentunit',
    { w: 12, thresholds: [0.8, 0.95] },
  )
  b.timeseries(
    'Host CPU, memory, disk (reported by the origin)',
    [
      [`cpu_usage_percent{${ORIGIN}}`, '{{instance}} CPU'],
      [`memory_usage_percent{${ORIGIN}}`, '{{instance}} memory'],
      [`disk_usage_percent{${ORIGIN}}`, '{{instance}} disk {{path}}'],
    ],
    'percent',
    { w: 12, thresholds: [80, 95] },
  )
  return dashboard('wmlab-overview', 'LM Watermark Lab: overview', b.panels, ['overview'])
}

export function slo() {
  const b = builder()
  const job = 'job=~"$edge_job|$origin_job"'
  b.row('Availability: 99.9 % of scrapes succeed over 30 days')
  b.stat(
    'Availability (30 d)',
    [[`avg by (job) (avg_over_time(up{${job}}[30d]))`, '{{job}}']],
    'percentunit',
    [
      ['red', null],
      ['orange', 0.995],
      ['green', 0.999],
    ],
  )
  b.stat(
    'Availability error budget left (30 d)',
    [[`1 - (1 - avg by (job) (avg_over_time(up{${job}}[30d]))) / 0.001`, '{{job}}']],
    'percentunit',
    [
      ['red', null],
      ['orange', 0.25],
      ['green', 0.5],
    ],
  )
  b.timeseries(
    'Availability burn rate (1 = budget lasts exactly 30 days)',
    [
      ['job:slo_unavailability:ratio_avg1h / 0.001', '{{job}} 1 h'],
      ['job:slo_unavailability:ratio_avg6h / 0.001', '{{job}} 6 h'],
      ['job:slo_unavailability:ratio_avg1d / 0.001', '{{job}} 1 d'],
    ],
    'short',
    { thresholds: [1, 6, 14.4] },
  )

  b.row('Error rate: below 1 % of requests over 24 hours')
  b.stat(
    'Error rate (24 h)',
    [
      [
        `sum(increase(http_requests_total{${EDGE},status=~"5.."}[1d])) / sum(increase(http_requests_total{${EDGE}}[1d]))`,
        'edge',
      ],
    ],
    'percentunit',
    [
      ['green', null],
      ['orange', 0.005],
      ['red', 0.01],
    ],
  )
  b.stat(
    'Error budget left (24 h)',
    [
      [
        `1 - (sum(increase(http_requests_total{${EDGE},status=~"5.."}[1d])) / sum(increase(http_requests_total{${EDGE}}[1d]))) / 0.01`,
        'edge',
      ],
    ],
    'percentunit',
    [
      ['red', null],
      ['orange', 0.25],
      ['green', 0.5],
    ],
  )
  b.timeseries(
    'Error-rate burn rate (1 = budget lasts exactly 24 h)',
    [
      ['job:slo_errors:ratio_rate1h / 0.01', '{{job}} 1 h'],
      ['job:slo_errors:ratio_rate6h / 0.01', '{{job}} 6 h'],
    ],
    'short',
    { thresholds: [2, 6] },
  )

  b.row('Latency, throughput and business objectives')
  b.stat(
    'P95 latency (24 h, generation excluded)',
    [
      [
        `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${EDGE},${NOT_GENERATION}}[1d])))`,
        'p95',
      ],
    ],
    's',
    [
      ['green', null],
      ['orange', 1.5],
      ['red', 2],
    ],
  )
  b.stat(
    'Peak throughput (24 h)',
    [[`max_over_time(job:http_requests:rate5m{${EDGE}}[1d])`, 'req/s']],
    'reqps',
    [
      ['orange', null],
      ['green', 100],
    ],
  )
  b.stat(
    'Generation success (24 h)',
    [
      [
        `sum(increase(watermark_generations_total{${EDGE},outcome="success"}[1d])) / sum(increase(watermark_generations_total{${EDGE}}[1d]))`,
        'edge',
      ],
    ],
    'percentunit',
    [
      ['red', null],
      ['green', 0.99],
    ],
  )
  b.stat(
    'Cache hit rate (24 h)',
    [
      [
        `sum(increase(cache_hits_total{${EDGE}}[1d])) / (sum(increase(cache_hits_total{${EDGE}}[1d])) + sum(increase(cache_misses_total{${EDGE}}[1d])))`,
        'edge',
      ],
    ],
    'percentunit',
    [
      ['red', null],
      ['orange', 0.7],
      ['green', 0.8],
    ],
  )
  return dashboard('wmlab-slo', 'LM Watermark Lab: SLOs and error budgets', b.panels, ['slo'])
}

export const DASHBOARDS = { 'overview.json': overview, 'slo.json': slo }

export const render = (d: object) => `${JSON.stringify(d, null, 2)}\n`

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [file, make] of Object.entries(DASHBOARDS))
    writeFileSync(fileURLToPath(new URL(file, import.meta.url)), render(make()))
}
