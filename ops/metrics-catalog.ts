// Metric names that alert rules and dashboards may use, by where they come from. The edge's names are
// read from its registry (worker/src/metrics/definitions.ts) by the tests; the origin's are the
// contract with origin/ (prom-client), checked against origin's source once it registers metrics.

/** The GPU origin's prom-client registry (issue 4). Histograms also expose _bucket, _sum, _count. */
export const ORIGIN_METRICS = {
  model_loads_total: 'counter',
  model_load_duration_seconds: 'histogram',
  watermark_generations_total: 'counter',
  generation_tokens_total: 'counter',
  generation_token_duration_seconds: 'histogram',
  generation_time_to_first_token_seconds: 'histogram',
  origin_queue_depth: 'gauge',
  origin_in_flight: 'gauge',
  http_requests_total: 'counter',
  http_request_duration_seconds: 'histogram',
  // The seed runbook's host metrics, from the origin itself (origin/host-metrics.ts).
  cpu_usage_percent: 'gauge',
  memory_usage_percent: 'gauge',
  disk_usage_percent: 'gauge',
} as const

/** prom-client's collectDefaultMetrics() names start with these (process_start_time_seconds, ...). */
export const ORIGIN_DEFAULT_PREFIXES = ['process_'] as const

/**
 * Host metrics of the origin's machine, from Grafana Alloy's prometheus.exporter.unix (node_exporter's
 * collectors and names), scraped as job `wmlab-origin-host`.
 */
export const HOST_METRICS = [
  'node_cpu_seconds_total',
  'node_memory_MemAvailable_bytes',
  'node_memory_MemTotal_bytes',
  'node_filesystem_avail_bytes',
  'node_filesystem_size_bytes',
] as const

/** Series Prometheus (or Grafana Cloud's scraper) makes itself. */
export const SYNTHETIC_METRICS = ['up'] as const

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
])

/**
 * Metric and recording-rule names a PromQL expression selects. Small on purpose: strings, label
 * matchers, ranges and grouping clauses are removed, then every identifier that is not a function
 * call or keyword is a name. Grafana variables ($__rate_interval, $job) are dropped first.
 */
export function promqlMetricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\$\{?\w+\}?/g, '')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ')
  const names = new Set<string>()
  for (const m of stripped.matchAll(/(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = stripped.slice(m.index! + m[0].length)
    if (/^\s*\(/.test(rest) || KEYWORDS.has(m[0].toLowerCase())) continue
    names.add(m[0])
  }
  return [...names]
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
export function markdownAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>()
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced
    const m = !fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (!m) continue
    anchors.add(
      m[1]
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    )
  }
  return anchors
}
