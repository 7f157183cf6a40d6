import { execFileSync } from 'node:child_process'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { diskUsedRatio, memoryUsedRatio, registerHostMetrics } from './host-metrics.ts'

const value = (text: string, name: string) =>
  Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1])

describe('host metrics', () => {
  it('reads MemAvailable, not free memory, when /proc/meminfo has it', () => {
    const meminfo = 'MemTotal:       1000000 kB\nMemFree:          100000 kB\nMemAvailable:     600000 kB\n'
    expect(memoryUsedRatio(meminfo)).toBeCloseTo(0.4, 12)
  })

  it('agrees with df on the disk', () => {
    // df's Use% is used / (used + available), rounded up.
    const line = execFileSync('df', ['-P', '/'], { encoding: 'utf8' }).trim().split('\n')[1].split(/\s+/)
    const dfPercent = Number(line[4].replace('%', ''))
    expect(Math.ceil(100 * diskUsedRatio('/'))).toBeGreaterThanOrEqual(dfPercent - 1)
    expect(Math.ceil(100 * diskUsedRatio('/'))).toBeLessThanOrEqual(dfPercent + 1)
  })

  it('exposes the runbook names in percent, CPU from the second scrape on', async () => {
    const registry = new Registry()
    registerHostMetrics(registry, { diskPath: '/' })
    await registry.metrics()
    const end = Date.now() + 200
    while (Date.now() < end) Math.sqrt(Math.random()) // some CPU time between the scrapes
    const text = await registry.metrics()
    for (const name of ['cpu_usage_percent', 'memory_usage_percent', 'disk_usage_percent']) {
      const v = value(text, name)
      expect(v, name).toBeGreaterThanOrEqual(0)
      expect(v, name).toBeLessThanOrEqual(100)
    }
    expect(value(text, 'cpu_usage_percent')).toBeGreaterThan(0) // this loop kept a core busy
    expect(text).toMatch(/^disk_usage_percent\{path="\/"\} /m)
  })
})
