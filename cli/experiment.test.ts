// wmlab experiment without a lab: progressLine, connection() (flags, environment, the lab's dev.json
// found from the working directory), and every subcommand against an in-test HTTP server that
// stands in for the edge API. The commands against the real lab run in test/stack.test.ts.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connection, ExperimentCliError, progressLine } from './experiment.ts'
import { main } from './main.ts'

const exec = promisify(execFile)
const BIN = resolve('bin/wmlab.js')

const progress = (p: Partial<Parameters<typeof progressLine>[0]['progress']>) => ({
  done: 0,
  failed: 0,
  total: 40,
  ratePerMinute: null,
  etaSeconds: null,
  ...p,
})

describe('progressLine', () => {
  it('shows the bar, counts, percentage, rate and ETA of a running experiment', () => {
    expect(
      progressLine(
        {
          status: 'running',
          progress: progress({ done: 10, failed: 2, ratePerMinute: 3.5, etaSeconds: 125 }),
        },
        10,
      ),
    ).toBe('███░░░░░░░ 12/40 jobs · 30% · 2 failed · 3.5/min · ETA 2m05s · running')
  })

  it('formats ETAs in seconds, minutes and hours, and "…" before the rate is known', () => {
    const eta = (etaSeconds: number | null) =>
      progressLine({ status: 'queued', progress: progress({ etaSeconds }) }, 4)
        .split(' · ')
        .at(-2)
    expect(eta(null)).toBe('ETA …')
    expect(eta(42.4)).toBe('ETA 42s')
    expect(eta(60)).toBe('ETA 1m00s')
    expect(eta(3 * 3600 + 25 * 60)).toBe('ETA 3h25m')
  })

  it('drops the ETA once finished, and shows retrying jobs', () => {
    expect(
      progressLine(
        { status: 'completed', progress: progress({ done: 40, ratePerMinute: 20, etaSeconds: 0 }) },
        4,
      ),
    ).toBe('████ 40/40 jobs · 100% · 20/min · completed')
    expect(progressLine({ status: 'running', progress: { ...progress({ done: 1 }), retrying: 2 } }, 4)).toBe(
      '░░░░ 1/40 jobs · 3% · 2 retrying · ETA … · running',
    )
    // An experiment with no jobs yet is 0 %, not NaN.
    expect(progressLine({ status: 'queued', progress: progress({ total: 0 }) }, 4)).toBe(
      '░░░░ 0/0 jobs · 0% · ETA … · queued',
    )
  })
})

/** A temporary working directory, with `.lab/dev.json` when given. */
function workdir(dev?: unknown, labDir = '.lab'): string {
  const dir = mkdtempSync(join(tmpdir(), 'wmlab-cli-'))
  if (dev !== undefined) {
    mkdirSync(join(dir, labDir), { recursive: true })
    writeFileSync(join(dir, labDir, 'dev.json'), typeof dev === 'string' ? dev : JSON.stringify(dev))
  }
  return dir
}

describe('connection', () => {
  const dev = { url: 'http://127.0.0.1:8787/', apiKey: 'wm_dev_key' }

  it('reads .lab/dev.json under the working directory by default', () => {
    expect(connection({}, {}, workdir(dev))).toEqual({
      url: 'http://127.0.0.1:8787',
      apiKey: 'wm_dev_key',
      labFile: join('.lab', 'dev.json'),
    })
  })

  it('reads $LAB_DIR/dev.json instead when LAB_DIR is set', () => {
    const dir = workdir({ url: 'http://lab.test', apiKey: 'k2' }, 'elsewhere')
    expect(connection({}, { LAB_DIR: 'elsewhere' }, dir)).toMatchObject({
      url: 'http://lab.test',
      apiKey: 'k2',
    })
    expect(() => connection({}, {}, dir)).toThrow(/no lab is running here/)
  })

  it('prefers flags, then WMLAB_URL/WMLAB_API_KEY, to the lab file', () => {
    const dir = workdir(dev)
    expect(
      connection({ url: 'http://flag.test', 'api-key': 'f' }, { WMLAB_URL: 'http://env.test' }, dir),
    ).toEqual({
      url: 'http://flag.test',
      apiKey: 'f',
    })
    expect(connection({}, { WMLAB_URL: 'http://env.test', WMLAB_API_KEY: 'e' }, dir)).toEqual({
      url: 'http://env.test',
      apiKey: 'e',
    })
  })

  it('fails clearly with no lab, and names a lab file that is not JSON', () => {
    const none = () => connection({}, {}, workdir())
    expect(none).toThrow(ExperimentCliError)
    expect(none).toThrow(
      'no API to talk to: no lab is running here (npm start writes .lab/dev.json); start one, or pass --url and --api-key',
    )
    expect(() => connection({}, {}, workdir('{"url": '))).toThrow(/^\.lab\/dev\.json: /)
  })
})

interface Seen {
  method: string
  url: string
  authorization: string | undefined
  body: string
}

/** A stand-in edge API: `routes` answers "METHOD /path?query" with a status and a body. */
function fakeApi(routes: Record<string, () => { status?: number; type?: string; body: string }>) {
  const seen: Seen[] = []
  const server = createServer(async (req: IncomingMessage, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body })
    const route = routes[`${req.method} ${req.url}`]
    const r = route
      ? route()
      : { status: 404, body: JSON.stringify({ error: { code: 'not_found', message: 'nope' } }) }
    res.writeHead(r.status ?? 200, { 'content-type': r.type ?? 'application/json' })
    res.end(r.body)
  })
  return {
    seen,
    start: () =>
      new Promise<string>((ok) =>
        server.listen(0, '127.0.0.1', () => ok(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
      ),
    stop: () => new Promise<void>((ok) => server.close(() => ok())),
  }
}

const experiment = (status: string, done: number) =>
  JSON.stringify({
    id: 'ex_1',
    name: 'cli',
    status,
    progress: { done, failed: 0, total: 2, ratePerMinute: done ? 6 : null, etaSeconds: done < 2 ? 10 : null },
    failures: [],
    metrics: status === 'completed' ? { comparison: [{ cell: 0 }], notes: ['a note'] } : null,
  })

describe('wmlab experiment against a stand-in API', () => {
  let polls = 0
  const api = fakeApi({
    'GET /v1/experiments/ex_1': () => ({
      body: experiment(polls++ < 1 ? 'running' : 'completed', Math.min(polls, 2)),
    }),
    'GET /v1/experiments/ex_1/export?format=csv': () => ({ type: 'text/csv', body: 'sample,cell\n0,0\n' }),
    'GET /v1/experiments/ex_1/export?format=jsonl': () => ({
      type: 'application/x-ndjson',
      body: '{"sample":0}\n',
    }),
    'POST /v1/experiments': () => ({ status: 201, body: experiment('queued', 0) }),
    'POST /v1/experiments/ex_1/resume': () => ({ body: JSON.stringify({ id: 'ex_1', requeued: 2 }) }),
    'POST /v1/experiments/ex_2/resume': () => ({
      status: 409,
      body: JSON.stringify({
        error: { code: 'experiment_finished', message: 'experiment "ex_2" is completed; nothing to resume' },
      }),
    }),
  })
  let url = ''
  beforeAll(async () => {
    url = await api.start()
  })
  afterAll(() => api.stop())

  async function run(...argv: string[]) {
    let out = ''
    let err = ''
    const code = await main(
      ['experiment', ...argv, '--url', url, '--api-key', 'wm_test'],
      (s) => (out += s),
      (s) => (err += s),
    )
    return { code, out, err }
  }

  it('show prints the experiment; export prints the CSV and JSONL verbatim', async () => {
    polls = 5
    const show = await run('show', 'ex_1')
    expect(show.code).toBe(0)
    expect(JSON.parse(show.out)).toMatchObject({ id: 'ex_1', status: 'completed' })
    expect(api.seen.at(-1)).toMatchObject({
      method: 'GET',
      url: '/v1/experiments/ex_1',
      authorization: 'Bearer wm_test',
    })
    expect((await run('export', 'ex_1', '--format', 'csv')).out).toBe('sample,cell\n0,0\n')
    expect((await run('export', 'ex_1', '--format', 'jsonl')).out).toBe('{"sample":0}\n')
    const bad = await run('export', 'ex_1', '--format', 'xml')
    expect(bad.code).toBe(2)
    expect(JSON.parse(bad.err).error).toEqual({
      code: 'bad_option',
      message: '--format must be csv or jsonl',
    })
  })

  it('resume posts to the resume route and passes the API error through', async () => {
    const ok = await run('resume', 'ex_1')
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.out)).toEqual({ id: 'ex_1', requeued: 2 })
    const done = await run('resume', 'ex_2')
    expect(done.code).toBe(2)
    expect(JSON.parse(done.err).error.code).toBe('experiment_finished')
  })

  it('run --watch logs one progress line per change to stderr and prints the result', async () => {
    polls = 0
    const dir = workdir()
    writeFileSync(join(dir, 'spec.json'), JSON.stringify({ name: 'cli', grid: { schemes: [] }, samples: 1 }))
    const r = await run('run', join(dir, 'spec.json'), '--watch', '--interval', '10')
    expect(r.code).toBe(0)
    const lines = r.err.trim().split('\n')
    expect(lines[0]).toBe(`experiment ex_1 "cli": 2 jobs; results at ${url}/#/experiments/ex_1`)
    expect(lines.slice(1)).toEqual([
      '███████████████░░░░░░░░░░░░░░░ 1/2 jobs · 50% · 6/min · ETA 10s · running',
      '██████████████████████████████ 2/2 jobs · 100% · 6/min · completed',
    ])
    expect(JSON.parse(r.out)).toMatchObject({
      id: 'ex_1',
      status: 'completed',
      comparison: [{ cell: 0 }],
      notes: ['a note'],
    })
  })
})

describe('the wmlab binary finds the lab from its working directory', () => {
  const api = fakeApi({ 'GET /v1/experiments/ex_1': () => ({ body: experiment('completed', 2) }) })
  let url = ''
  beforeAll(async () => {
    url = await api.start()
  })
  afterAll(() => api.stop())

  /** The CLI in `cwd` with no LAB_DIR or WMLAB_* variables; resolves with its exit code and output. */
  async function wmlab(cwd: string, ...argv: string[]) {
    const env = { ...process.env }
    for (const name of ['LAB_DIR', 'WMLAB_URL', 'WMLAB_API_KEY']) delete env[name]
    try {
      const r = await exec('node', [BIN, ...argv], { cwd, env })
      return { code: 0, stdout: r.stdout, stderr: r.stderr }
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string }
      return { code: x.code, stdout: x.stdout, stderr: x.stderr }
    }
  }

  it('uses ./.lab/dev.json without LAB_DIR', async () => {
    const r = await wmlab(workdir({ url, apiKey: 'wm_from_file' }), 'experiment', 'show', 'ex_1')
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).id).toBe('ex_1')
    expect(api.seen.at(-1)?.authorization).toBe('Bearer wm_from_file')
  }, 60_000)

  it('says so when no lab is running: no dev.json, or one whose lab has stopped', async () => {
    const none = await wmlab(workdir(), 'experiment', 'show', 'ex_1')
    expect(none.code).toBe(2)
    expect(JSON.parse(none.stderr).error.code).toBe('no_lab')
    expect(JSON.parse(none.stderr).error.message).toMatch(/npm start writes \.lab\/dev\.json/)
    // A port nothing listens on: the lab that wrote the file is gone.
    const stale = await wmlab(
      workdir({ url: 'http://127.0.0.1:9', apiKey: 'k' }),
      'experiment',
      'show',
      'ex_1',
    )
    expect(stale.code).toBe(2)
    const error = JSON.parse(stale.stderr).error
    expect(error.code).toBe('unreachable')
    expect(error.message).toMatch(
      /^cannot reach http:\/\/127\.0\.0\.1:9 \(from \.lab\/dev\.json: is the lab still running\? npm start\)/,
    )
  }, 60_000)
})
