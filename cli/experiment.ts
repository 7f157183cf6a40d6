// wmlab experiment run|show|export|cancel|resume: the lab's experiments API from the command line. The API
// (URL and key) comes from --url/--api-key, WMLAB_URL/WMLAB_API_KEY, or the running lab's .lab/dev.json.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'

export class ExperimentCliError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export interface ExperimentArgs {
  url?: string
  'api-key'?: string
  watch?: boolean
  format?: string
  prompts?: string
  interval?: string
}

interface Io {
  out(s: string): void
  err(s: string): void
  /** Whether err is a terminal (redraws one progress line) or a log (one line per change). */
  tty: boolean
}

interface Progress {
  done: number
  failed: number
  retrying?: number
  total: number
  ratePerMinute: number | null
  etaSeconds: number | null
}
interface Experiment {
  id: string
  name: string
  status: string
  progress: Progress
  metrics: { comparison?: unknown[]; notes?: string[] } | null
  failures?: unknown[]
}

/** Where the CLI sends its requests, and where it learnt that (for error messages). */
export interface Connection {
  url: string
  apiKey: string
  /** The lab file the URL came from, when it came from one. */
  labFile?: string
}

/**
 * The API to talk to: --url/--api-key, else WMLAB_URL/WMLAB_API_KEY, else the running lab's
 * `dev.json` in $LAB_DIR or `.lab/` under the working directory (what `npm start` writes).
 */
export function connection(
  args: ExperimentArgs,
  env: Record<string, string | undefined> = process.env,
  cwd = process.cwd(),
): Connection {
  const devFile = join(env.LAB_DIR ?? '.lab', 'dev.json')
  const path = resolve(cwd, devFile)
  let dev: { url?: string; apiKey?: string } = {}
  if (existsSync(path)) {
    try {
      dev = JSON.parse(readFileSync(path, 'utf8'))
    } catch (e) {
      throw new ExperimentCliError('bad_lab_file', `${devFile}: ${(e as Error).message}`)
    }
  }
  const url = args.url ?? env.WMLAB_URL ?? dev.url
  const apiKey = args['api-key'] ?? env.WMLAB_API_KEY ?? dev.apiKey
  if (!url || !apiKey)
    throw new ExperimentCliError(
      'no_lab',
      `no API to talk to: no lab is running here (npm start writes ${devFile}); start one, or pass --url and --api-key`,
    )
  const fromFile = args.url === undefined && env.WMLAB_URL === undefined
  return { url: url.replace(/\/$/, ''), apiKey, ...(fromFile ? { labFile: devFile } : {}) }
}

async function call(conn: Connection, method: string, path: string, body?: unknown) {
  let res: Response
  try {
    res = await fetch(`${conn.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${conn.apiKey}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    })
  } catch (e) {
    const hint = conn.labFile ? ` (from ${conn.labFile}: is the lab still running? npm start)` : ''
    throw new ExperimentCliError('unreachable', `cannot reach ${conn.url}${hint}: ${(e as Error).message}`)
  }
  const text = await res.text()
  if (!res.ok) {
    let error: { code?: string; message?: string } = {}
    try {
      error = JSON.parse(text).error ?? {}
    } catch {
      // not JSON
    }
    throw new ExperimentCliError(error.code ?? `http_${res.status}`, error.message ?? `HTTP ${res.status}`)
  }
  return { text, type: res.headers.get('content-type') ?? '' }
}

/** The spec file, with a JSONL prompt file (prompts.path in the spec, or --prompts) read in. */
export function readSpec(file: string, promptsFile?: string): Record<string, unknown> {
  let spec: Record<string, unknown>
  try {
    spec = JSON.parse(readFileSync(file, 'utf8'))
  } catch (e) {
    throw new ExperimentCliError('bad_spec', `${file}: ${(e as Error).message}`)
  }
  const prompts = spec.prompts as { source?: string; path?: string } | undefined
  const path =
    promptsFile ??
    (prompts?.source === 'jsonl' && prompts.path ? resolve(dirname(file), prompts.path) : undefined)
  if (path) spec.prompts = { source: 'jsonl', data: readFileSync(path, 'utf8') }
  return spec
}

const duration = (s: number | null) =>
  s === null
    ? '…'
    : s >= 3600
      ? `${Math.floor(s / 3600)}h${Math.round((s % 3600) / 60)}m`
      : s >= 60
        ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`
        : `${Math.round(s)}s`

/** One progress line: bar, counts, rate, ETA. */
export function progressLine(e: Pick<Experiment, 'status' | 'progress'>, width = 30): string {
  const p = e.progress
  const frac = p.total ? (p.done + p.failed) / p.total : 0
  const filled = Math.round(frac * width)
  const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
  const parts = [`${bar} ${p.done + p.failed}/${p.total} jobs`, `${(frac * 100).toFixed(0)}%`]
  if (p.failed) parts.push(`${p.failed} failed`)
  if (p.retrying) parts.push(`${p.retrying} retrying`)
  if (p.ratePerMinute !== null) parts.push(`${p.ratePerMinute}/min`)
  if (e.status === 'queued' || e.status === 'running') parts.push(`ETA ${duration(p.etaSeconds)}`)
  parts.push(e.status)
  return parts.join(' · ')
}

const RUNNING = new Set(['queued', 'running'])

async function watch(conn: Connection, id: string, io: Io, intervalMs: number): Promise<Experiment> {
  let last = ''
  for (;;) {
    const e = JSON.parse(
      (await call(conn, 'GET', `/v1/experiments/${encodeURIComponent(id)}`)).text,
    ) as Experiment
    const line = progressLine(e)
    if (io.tty) io.err(`\r${line}\x1b[K`)
    else if (line !== last) io.err(`${line}\n`)
    last = line
    if (!RUNNING.has(e.status)) {
      if (io.tty) io.err('\n')
      return e
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

/** Returns the exit code: 0, or 3 when a watched experiment ends other than completed. */
export async function experimentCommand(
  args: ExperimentArgs,
  positionals: string[],
  io: Io,
): Promise<number> {
  const [, sub, target] = positionals
  if (!sub || !target)
    throw new ExperimentCliError(
      'missing_argument',
      'usage: wmlab experiment run SPEC.json [--watch] | show ID | export ID --format csv|jsonl | cancel ID | resume ID',
    )
  const conn = connection(args)
  const interval = Number(args.interval ?? 1000)
  const print = (v: unknown) => io.out(`${JSON.stringify(v, null, 2)}\n`)
  switch (sub) {
    case 'run': {
      const created = JSON.parse(
        (await call(conn, 'POST', '/v1/experiments', readSpec(target, args.prompts))).text,
      ) as Experiment
      if (!args.watch) {
        print(created)
        return 0
      }
      io.err(
        `experiment ${created.id} "${created.name}": ${created.progress.total} jobs; results at ${conn.url}/#/experiments/${created.id}\n`,
      )
      const done = await watch(conn, created.id, io, interval)
      print({
        id: done.id,
        status: done.status,
        progress: done.progress,
        failures: done.failures,
        comparison: done.metrics?.comparison ?? null,
        notes: done.metrics?.notes ?? [],
      })
      return done.status === 'completed' ? 0 : 3
    }
    case 'show':
      print(JSON.parse((await call(conn, 'GET', `/v1/experiments/${encodeURIComponent(target)}`)).text))
      return 0
    case 'cancel':
    case 'resume':
      print(
        JSON.parse((await call(conn, 'POST', `/v1/experiments/${encodeURIComponent(target)}/${sub}`)).text),
      )
      return 0
    case 'export': {
      const format = args.format ?? 'csv'
      if (format !== 'csv' && format !== 'jsonl')
        throw new ExperimentCliError('bad_option', '--format must be csv or jsonl')
      io.out(
        (await call(conn, 'GET', `/v1/experiments/${encodeURIComponent(target)}/export?format=${format}`))
          .text,
      )
      return 0
    }
    default:
      throw new ExperimentCliError(
        'unknown_command',
        `unknown experiment command "${sub}"; try run, show, export, cancel, resume`,
      )
  }
}
