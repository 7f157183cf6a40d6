// The runbook's host metrics, from the origin itself (ops/RUNBOOK.md "Origin host"): a GPU host may
// run without a node exporter, and these are what the seed runbook's alerts were written against.
// Read at scrape time from the OS: CPU busy share since the previous scrape, MemAvailable (Linux;
// free memory elsewhere), and the filesystem holding the model.
import { readFileSync, statfsSync } from 'node:fs'
import { cpus, freemem, totalmem } from 'node:os'
import { Gauge, type Registry } from 'prom-client'

interface CpuTimes {
  busy: number
  total: number
}

function cpuTimes(): CpuTimes {
  let busy = 0
  let total = 0
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle
    total += all
    busy += all - times.idle
  }
  return { busy, total }
}

/** Used memory as a share of the total: MemAvailable counts reclaimable page cache as free. */
export function memoryUsedRatio(meminfo: string | null = readMeminfo()): number {
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(meminfo ?? '')?.[1])
  const total = kb('MemTotal')
  const available = kb('MemAvailable')
  if (total > 0 && available >= 0) return 1 - available / total
  return 1 - freemem() / totalmem()
}

function readMeminfo(): string | null {
  try {
    return readFileSync('/proc/meminfo', 'utf8')
  } catch {
    return null
  }
}

/** Used space of the filesystem holding `path`, as a share (what `df` shows, root's reserve excluded). */
export function diskUsedRatio(path: string): number {
  const s = statfsSync(path)
  const used = s.blocks - s.bfree
  return used / (used + s.bavail)
}

/**
 * Registers cpu_usage_percent, memory_usage_percent and disk_usage_percent{path} (0–100). Restarts are
 * `changes(process_start_time_seconds[1h])` (prom-client's default metrics).
 */
export function registerHostMetrics(registry: Registry, options: { diskPath: string }): void {
  let last = cpuTimes()
  const registers = [registry]
  new Gauge({
    name: 'cpu_usage_percent',
    help: 'Host CPU busy share since the previous scrape (all cores), percent.',
    registers,
    collect() {
      const now = cpuTimes()
      const total = now.total - last.total
      if (total > 0) this.set((100 * (now.busy - last.busy)) / total)
      last = now
    },
  })
  new Gauge({
    name: 'memory_usage_percent',
    help: 'Host memory in use (MemTotal - MemAvailable), percent.',
    registers,
    collect() {
      this.set(100 * memoryUsedRatio())
    },
  })
  new Gauge({
    name: 'disk_usage_percent',
    help: 'Used space of the filesystem holding the model, percent.',
    labelNames: ['path'],
    registers,
    collect() {
      this.set({ path: options.diskPath }, 100 * diskUsedRatio(options.diskPath))
    },
  })
}
