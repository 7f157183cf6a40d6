// The Worker's deploy configuration against the runbook: every value the runbook sets with
// `wrangler secret put` must stay out of wrangler.toml [vars] (Cloudflare refuses a secret whose name
// a plain variable already uses, and a dev value there would ship to production).
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const toml = readFileSync(new URL('../worker/wrangler.toml', import.meta.url), 'utf8')
const runbook = readFileSync(new URL('./RUNBOOK.md', import.meta.url), 'utf8')
const devVars = readFileSync(new URL('../worker/.dev.vars', import.meta.url), 'utf8')

/** Keys of one top-level TOML table (`[name]`), up to the next table header. */
function tableKeys(text: string, name: string): string[] {
  const start = text.indexOf(`\n[${name}]\n`)
  if (start < 0) return []
  const rest = text.slice(start + name.length + 4)
  const body = rest.slice(0, rest.search(/^\[/m) === -1 ? undefined : rest.search(/^\[/m))
  return [...body.matchAll(/^([A-Z0-9_]+)\s*=/gm)].map((m) => m[1])
}

describe('worker/wrangler.toml', () => {
  const secrets = [...runbook.matchAll(/wrangler secret put ([A-Z0-9_]+)/g)].map((m) => m[1])

  it('keeps every secret the runbook sets out of [vars]', () => {
    expect(secrets).toEqual(expect.arrayContaining(['METRICS_SCRAPE_TOKEN', 'ORIGIN_URL', 'DATABASE_URL']))
    const vars = tableKeys(toml, 'vars')
    expect(vars.length).toBeGreaterThan(0)
    for (const name of vars) expect(secrets, `${name} is in [vars] and set as a secret`).not.toContain(name)
    for (const name of [
      'WATERMARK_MASTER_SECRET',
      'ADMIN_TOKEN',
      'ORIGIN_SIGNING_SECRET',
      'METRICS_SCRAPE_TOKEN',
    ])
      expect(vars).not.toContain(name)
  })

  it('has local development values for the secrets in worker/.dev.vars, never uploaded', () => {
    for (const name of [
      'WATERMARK_MASTER_SECRET',
      'ADMIN_TOKEN',
      'METRICS_SCRAPE_TOKEN',
      'ORIGIN_SIGNING_SECRET',
    ])
      expect(devVars).toMatch(new RegExp(`^${name} = "dev-`, 'm'))
  })
})
