// Shared by the ops tests: every series name the service exports, and the recording rules.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { METRICS } from '../worker/src/metrics/definitions.ts'
import {
  HOST_METRICS,
  ORIGIN_DEFAULT_PREFIXES,
  ORIGIN_METRICS,
  SYNTHETIC_METRICS,
} from './metrics-catalog.ts'

export const root = fileURLToPath(new URL('..', import.meta.url))

export interface Rule {
  alert?: string
  record?: string
  expr: string
  for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

export const ruleFiles = readdirSync(join(root, 'ops/alerts'))
  .filter((f) => f.endsWith('.yml'))
  .map((f) => join(root, 'ops/alerts', f))

export const rules: Rule[] = ruleFiles.flatMap((f) =>
  (parse(readFileSync(f, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules),
)

/** Series names exported by the edge (its registry), the origin, the host exporter and Prometheus. */
export function exportedNames(): Set<string> {
  const names = new Set<string>([...HOST_METRICS, ...SYNTHETIC_METRICS])
  const add = (name: string, type: string) => {
    names.add(name)
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s)
  }
  for (const d of METRICS.values()) add(d.name, d.type)
  for (const [name, type] of Object.entries(ORIGIN_METRICS)) add(name, type)
  return names
}

/** Why a name used in a query is not known (null when it is). */
export function unknownName(name: string, known = exportedNames()): string | null {
  if (name.includes(':'))
    return rules.some((r) => r.record === name) ? null : `recording rule ${name} is not defined`
  if (known.has(name) || ORIGIN_DEFAULT_PREFIXES.some((p) => name.startsWith(p))) return null
  return `${name} is not exported by the edge, the origin or the host exporter`
}
