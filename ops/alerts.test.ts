// Alert rules as code: promtool validates and unit-tests them (fails in CI when promtool is missing),
// every alert has a severity and a runbook section, and every metric a rule uses is exported by the
// edge, the origin or the host exporter, so rules and code cannot drift apart.
import { execFileSync, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { METRICS } from '../worker/src/metrics/definitions.ts'
import { markdownAnchors, ORIGIN_METRICS, promqlMetricNames } from './metrics-catalog.ts'
import { root, ruleFiles, rules, unknownName } from './test-support.ts'

const dir = join(root, 'ops/alerts')
const testFiles = readdirSync(join(dir, 'tests'))
  .filter((f) => f.endsWith('.yml'))
  .map((f) => join(dir, 'tests', f))
const alerts = rules.filter((r) => r.alert)

const has = (cmd: string) => spawnSync(cmd, ['--version']).status === 0
const inCI = process.env.CI === 'true'

describe('promtool', () => {
  it.skipIf(!has('promtool') && !inCI)('finds the rule files valid and their unit tests passing', () => {
    expect(has('promtool'), 'promtool missing: apt-get install prometheus').toBe(true)
    const check = execFileSync('promtool', ['check', 'rules', ...ruleFiles], { encoding: 'utf8' })
    expect(check).not.toContain('FAILED')
    const run = spawnSync('promtool', ['test', 'rules', ...testFiles], { encoding: 'utf8' })
    expect(run.status, run.stdout + run.stderr).toBe(0)
    expect(run.stdout.match(/SUCCESS/g)).toHaveLength(testFiles.length)
  })
})

describe('alert rules', () => {
  it('cover every alert of the runbook', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual(
      [
        'EdgeDown',
        'OriginDown',
        'DatabaseUnavailable',
        'HighErrorRate',
        'HostMemoryExhaustion',
        'HostDiskExhaustion',
        'HighLatencyP95',
        'HostHighCpu',
        'HostHighMemory',
        'HostHighDisk',
        'OriginFileDescriptorsHigh',
        'LowCacheHitRate',
        'ServiceDegraded',
        'OriginQueueBacklog',
        'ExperimentQueueStalled',
        'TooManyActiveConnections',
        'OriginRestartingOften',
        'SlowModelLoad',
        'LowGenerationSuccessRate',
        'MetricsMissing',
        'AvailabilityBudgetBurnFast',
        'AvailabilityBudgetBurnMedium',
        'AvailabilityBudgetBurnSlow',
        'AvailabilityBudgetBurnChronic',
        'ErrorRateBudgetBurnFast',
        'ErrorRateBudgetBurnSlow',
        'EdgeDeployed',
        'EdgeConfigChanged',
        'OriginRestarted',
      ].sort(),
    )
  })

  it('carry a P1/P2/P3 severity, a summary and a runbook_url that exists in ops/RUNBOOK.md', () => {
    const anchors = markdownAnchors(readFileSync(join(root, 'ops/RUNBOOK.md'), 'utf8'))
    for (const a of alerts) {
      expect(a.labels?.severity, a.alert).toMatch(/^P[123]$/)
      expect(a.annotations?.summary, a.alert).toBeTruthy()
      const m = /^ops\/RUNBOOK\.md#([\w-]+)$/.exec(a.annotations?.runbook_url ?? '')
      expect(m, `${a.alert}: runbook_url`).not.toBeNull()
      expect(anchors.has(m![1]), `${a.alert}: no heading for #${m![1]} in ops/RUNBOOK.md`).toBe(true)
    }
  })

  it('keep the runbook levels: P1 for outages, P2 for warnings, P3 for events', () => {
    const sev = Object.fromEntries(alerts.map((a) => [a.alert, a.labels!.severity]))
    for (const a of [
      'EdgeDown',
      'OriginDown',
      'DatabaseUnavailable',
      'HighErrorRate',
      'HostMemoryExhaustion',
    ])
      expect(sev[a], a).toBe('P1')
    for (const a of [
      'HighLatencyP95',
      'HostHighCpu',
      'LowCacheHitRate',
      'ServiceDegraded',
      'TooManyActiveConnections',
    ])
      expect(sev[a], a).toBe('P2')
    for (const a of ['EdgeDeployed', 'EdgeConfigChanged', 'OriginRestarted']) expect(sev[a], a).toBe('P3')
  })

  it('each have a promtool test case where they fire, and one where they must stay silent', () => {
    interface Case {
      alertname: string
      exp_alerts?: { exp_labels?: Record<string, unknown> }[]
    }
    interface Test {
      input_series?: { series: string }[]
      alert_rule_test?: Case[]
    }
    const firing = new Set<string>()
    const silent = new Set<string>()
    /** Labels of a series selector such as `up{job="x",instance="y"}`. */
    const labelsOf = (series: string) =>
      Object.fromEntries([...series.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))
    for (const f of testFiles) {
      const doc = parse(readFileSync(f, 'utf8')) as { tests: Test[] }
      for (const t of doc.tests)
        for (const c of t.alert_rule_test ?? []) {
          if (!c.exp_alerts?.length) {
            silent.add(c.alertname)
            continue
          }
          firing.add(c.alertname)
          // promtool matches the expected alerts exactly, so an input series whose identifying labels
          // (those the expected alerts carry) match none of them is a case where the alert must not fire.
          const expected = c.exp_alerts.map((a) => a.exp_labels ?? {})
          const keys = [...new Set(expected.flatMap((l) => Object.keys(l)))].filter((k) => k !== 'severity')
          const quiet = (t.input_series ?? []).some((s) => {
            const labels = labelsOf(s.series)
            const ids = keys.filter((k) => k in labels)
            return ids.length > 0 && !expected.some((e) => ids.every((k) => String(e[k]) === labels[k]))
          })
          if (quiet) silent.add(c.alertname)
        }
    }
    expect(alerts.map((a) => a.alert).filter((a) => !firing.has(a!))).toEqual([])
    expect(alerts.map((a) => a.alert).filter((a) => !silent.has(a!))).toEqual([])
  })

  it('use only metrics the edge, the origin or the host exporter export', () => {
    const unknown = rules.flatMap((r) =>
      promqlMetricNames(r.expr).flatMap((n) => {
        const why = unknownName(n)
        return why ? [`${r.alert ?? r.record}: ${why}`] : []
      }),
    )
    expect(unknown).toEqual([])
  })

  it('would notice a name that nobody exports', () => {
    expect(promqlMetricNames('sum by (job) (rate(http_requests_totl{status=~"5.."}[5m])) > 0.1')).toEqual([
      'http_requests_totl',
    ])
    expect(
      promqlMetricNames('a:b:c > (14.4 * 0.001) and on (job) up{job="x"} == 0 unless absent(foo_bar)'),
    ).toEqual(['a:b:c', 'up', 'foo_bar'])
  })
})

describe('origin metrics contract', () => {
  // Once origin/ registers prom-client metrics, every origin name the rules use must appear there.
  const sources = (() => {
    const out: string[] = []
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.name === 'node_modules' || e.name.startsWith('.')) continue
        const p = join(d, e.name)
        if (e.isDirectory()) walk(p)
        else if (/\.(ts|js|mjs)$/.test(e.name) && !/\.test\./.test(e.name)) out.push(readFileSync(p, 'utf8'))
      }
    }
    try {
      walk(join(root, 'origin'))
    } catch {
      // no origin/ yet
    }
    return out.join('\n')
  })()

  it('origin/ registers every origin metric the rules and dashboards may use', () => {
    const edge = new Set([...METRICS.keys()])
    const missing = Object.keys(ORIGIN_METRICS).filter(
      (n) => !sources.includes(`'${n}'`) && !sources.includes(`"${n}"`) && !edge.has(n),
    )
    expect(missing).toEqual([])
  })
})

describe('alertmanager routing', () => {
  const config = join(root, 'ops/alertmanager/alertmanager.yml')
  it.skipIf(!has('amtool') && !inCI)('is valid and routes P1 to PagerDuty, P2 to Slack, P3 to email', () => {
    expect(has('amtool'), 'amtool missing: apt-get install prometheus-alertmanager').toBe(true)
    execFileSync('amtool', ['check-config', config], { encoding: 'utf8' })
    const route = (severity: string) =>
      execFileSync(
        'amtool',
        ['config', 'routes', 'test', `--config.file=${config}`, `severity=${severity}`, 'alertname=X'],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      ).trim()
    expect(route('P1')).toBe('pagerduty-oncall,slack-alerts')
    expect(route('P2')).toBe('slack-alerts')
    expect(route('P3')).toBe('email-oncall')
  })
})
