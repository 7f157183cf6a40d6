// ops/docker-compose.yml cannot be started on the development machine (no Docker), so what can be
// checked without it is: every file and folder it mounts or builds from exists, every script it runs
// exists, the data plane shares the `lab` network namespace (the Neon proxy and the Upstash bridge
// accept loopback targets only), secrets are not inline, and Prometheus' configuration passes
// `promtool check config` with the real rule files and scrapes the jobs the rules and dashboards use.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

const ops = resolve(import.meta.dirname)
const compose = parse(readFileSync(join(ops, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Record<string, any>>
}
const services = compose.services
// Created by the operator from ops/selfhost/env.example (git-ignored: they hold secrets).
const OPERATOR_FILES = new Set(['selfhost/.env', './selfhost/secrets'])

describe('ops/docker-compose.yml', () => {
  it('mounts and builds only what exists in the repository', () => {
    const missing: string[] = []
    for (const [name, svc] of Object.entries(services)) {
      for (const v of svc.volumes ?? []) {
        const host = String(v).split(':')[0]
        if (!host.startsWith('.') || OPERATOR_FILES.has(host)) continue
        if (!existsSync(resolve(ops, host))) missing.push(`${name}: ${host}`)
      }
      if (svc.build) {
        const context = resolve(ops, svc.build.context)
        if (!existsSync(join(context, svc.build.dockerfile))) missing.push(`${name}: ${svc.build.dockerfile}`)
      }
      const command = [svc.command ?? []].flat().join(' ')
      for (const script of command.match(/scripts\/[\w-]+\.ts/g) ?? [])
        if (!existsSync(resolve(ops, '..', script))) missing.push(`${name}: ${script}`)
      for (const f of svc.env_file ?? []) if (!OPERATOR_FILES.has(f)) missing.push(`${name}: env_file ${f}`)
    }
    expect(missing).toEqual([])
    expect(existsSync(join(ops, 'selfhost/env.example'))).toBe(true)
  })

  it('runs the whole stack, with the loopback-only shims in the lab namespace', () => {
    for (const s of [
      'postgres',
      'redis',
      'neon-proxy',
      'upstash-bridge',
      'worker',
      'origin',
      'prometheus',
      'alertmanager',
      'grafana',
      'otel-collector',
      'tempo',
      'node-exporter',
    ])
      expect(services[s], s).toBeDefined()
    for (const s of ['postgres', 'redis', 'neon-proxy', 'upstash-bridge', 'worker', 'origin'])
      expect(services[s].network_mode, s).toBe('service:lab')
    expect(services.origin.build.dockerfile).toBe('origin/Dockerfile')
  })

  it('keeps secrets out of the file', () => {
    const text = readFileSync(join(ops, 'docker-compose.yml'), 'utf8')
    expect(text).not.toMatch(/dev-master-secret|dev-admin-token|dev-origin-signing/)
    for (const name of [
      'WATERMARK_MASTER_SECRET',
      'ORIGIN_SIGNING_SECRET',
      'ADMIN_TOKEN',
      'METRICS_SCRAPE_TOKEN',
    ])
      expect(text).toContain(`$\${${name}}`) // expanded at run time from the env file, never written here
  })

  const promtool = spawnSync('promtool', ['--version']).status === 0
  it.skipIf(!promtool && process.env.CI !== 'true')(
    'has a Prometheus config promtool accepts, with the rules',
    () => {
      // The config names container paths; point them at the repository's files for the check.
      const dir = mkdtempSync(join(tmpdir(), 'wmlab-prom-'))
      writeFileSync(join(dir, 'token'), 'x')
      const config = readFileSync(join(ops, 'selfhost/prometheus.yml'), 'utf8')
        .replace('/etc/prometheus/alerts/*.yml', join(ops, 'alerts/*.yml'))
        .replace('/etc/prometheus/secrets/metrics_scrape_token', join(dir, 'token'))
      writeFileSync(join(dir, 'prometheus.yml'), config)
      const check = spawnSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], {
        encoding: 'utf8',
      })
      expect(check.status, check.stdout + check.stderr).toBe(0)
      expect(check.stdout).toMatch(/SUCCESS: \d+ rules found/)
      const jobs = (parse(config).scrape_configs as { job_name: string }[]).map((j) => j.job_name)
      const rules = ['critical', 'warning', 'slo']
        .map((f) => readFileSync(join(ops, `alerts/${f}.yml`), 'utf8'))
        .join('\n')
      const used = new Set(rules.match(/job="wmlab-[a-z-]+"/g)?.map((m) => m.slice(5, -1)))
      expect([...used].sort()).toEqual(['wmlab-edge', 'wmlab-origin', 'wmlab-origin-host'])
      for (const job of used) expect(jobs).toContain(job)
    },
  )
})
