// Dashboards as code: the committed JSON matches ops/grafana/build.ts, panels are well formed, and
// every query names a metric the service exports (or a recording rule of ops/alerts).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DASHBOARDS, render } from './grafana/build.ts'
import { promqlMetricNames } from './metrics-catalog.ts'
import { root, unknownName } from './test-support.ts'

interface Dash {
  uid: string
  title: string
  panels: {
    id: number
    type: string
    title: string
    gridPos: { x: number; w: number }
    targets?: { expr: string }[]
  }[]
  annotations: { list: { expr?: string }[] }
}

for (const [file, make] of Object.entries(DASHBOARDS)) {
  describe(`ops/grafana/${file}`, () => {
    const text = readFileSync(join(root, 'ops/grafana', file), 'utf8')
    const dash = JSON.parse(text) as Dash

    it('is generated from build.ts (run `npx tsx ops/grafana/build.ts` after editing it)', () => {
      expect(text).toBe(render(make()))
    })

    it('has unique panel ids, panels inside the 24-column grid, and queries on the datasource variable', () => {
      const ids = dash.panels.map((p) => p.id)
      expect(new Set(ids).size).toBe(ids.length)
      for (const p of dash.panels) {
        expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24)
        if (p.type !== 'row') expect(p.targets?.length, p.title).toBeGreaterThan(0)
      }
      expect(text).not.toMatch(/"uid": "(?!\$\{datasource\}|wmlab-)/)
    })

    it('queries only metrics the service exports', () => {
      const exprs = [
        ...dash.panels.flatMap((p) => (p.targets ?? []).map((t) => [p.title, t.expr] as const)),
        ...dash.annotations.list.flatMap((a) => (a.expr ? [['annotation', a.expr] as const] : [])),
      ]
      expect(exprs.length).toBeGreaterThan(5)
      const unknown = exprs.flatMap(([title, expr]) =>
        promqlMetricNames(expr).flatMap((n) => {
          const why = unknownName(n)
          return why ? [`${title}: ${why}`] : []
        }),
      )
      expect(unknown).toEqual([])
    })
  })
}

describe('dashboard coverage', () => {
  it('shows every runbook metric somewhere', () => {
    const all = Object.values(DASHBOARDS)
      .map((m) => JSON.stringify(m()))
      .join('\n')
    for (const name of [
      'http_requests_total',
      'http_request_duration_seconds_bucket',
      'watermark_generations_total',
      'watermark_detections_total',
      'watermark_detection_pvalue_neg_log10_bucket',
      'model_loads_total',
      'cache_hit_rate',
      'active_connections',
      'dependency_up',
      'queue_depth',
      'generation_tokens_total',
      'origin_queue_depth',
    ])
      expect(all, name).toContain(name)
  })
})
