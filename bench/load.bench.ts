// Fixed-rate load benchmark of detection (issue 7): 20,000 POST /v1/detect at 500 req/s, open loop
// (latency counted from each request's scheduled send time), against the edge app served by
// @hono/node-server on 127.0.0.1 with the real PostgreSQL store (Neon driver through the local proxy,
// a fresh database) and the in-memory result cache. One request in ten is a text never seen before
// (scored, and an audit row written); the rest repeat 20 texts (cache hits). The server runs in a
// child process, so the load generator does not share its event loop.
//
// `--lab` targets the local worker instead: the whole lab (scripts/lab.ts: the Worker under wrangler dev
// in workerd, embedded PostgreSQL through the Neon proxy), as a developer runs it with `npm start`.
//
// Run: npx tsx bench/load.bench.ts [total=20000] [rate=500] [missEvery=10] [--lab]
// Needs PostgreSQL on 127.0.0.1:5432 (as the tests do). Results: docs/benchmarks.md.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { BENCH_LAB_ENV, startLab } from '../test/lab-process.ts'
import { formatReport, type LoadTarget, runLoad, startLoadTarget } from '../test/reliability/load.ts'

const args = process.argv.slice(2)
const lab = args.includes('--lab')
const [total = 20_000, rate = 500, missEvery = 10] = args.filter((a) => !a.startsWith('--')).map(Number)

/** Drives `target` and reports; exit code 1 on any error or lost audit row. */
async function measure(target: LoadTarget, where: string) {
  console.log(
    `# Detection load (${where}): ${total} requests at ${rate} req/s, 1 in ${missEvery} a cache miss — ${new Date().toISOString()}, Node ${process.version}\n`,
  )
  const report = await runLoad(target, { total, rate, missEvery })
  console.log(formatReport(report))
  console.log(`\nlost audit rows: ${report.misses - report.auditRows}`)
  process.exitCode = report.errors === 0 && report.auditRows === report.misses ? 0 : 1
}

/** Counts detection rows, and waits until they stop moving (the server's background writes). */
function auditCounter(databaseUrl: string, healthUrl: string) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 })
  const auditRows = async () =>
    Number((await pool.query('SELECT count(*)::int AS n FROM detections')).rows[0].n)
  return {
    auditRows,
    // At most 60 s. Each poll also sends a request: audit rows parked during an overload are written
    // back by later requests.
    async settle() {
      let last = -1
      let still = 0
      for (let i = 0; i < 120 && still < 4; i++) {
        await fetch(healthUrl).then((r) => r.arrayBuffer())
        const n = await auditRows()
        still = n === last ? still + 1 : 0
        last = n
        await new Promise((r) => setTimeout(r, 500))
      }
    },
    end: () => pool.end(),
  }
}

if (lab) {
  const labProcess = await startLab(BENCH_LAB_ENV)
  try {
    const counter = auditCounter(labProcess.databaseUrl, `${labProcess.url}/health`)
    await measure(
      {
        url: `${labProcess.url}/v1/detect`,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${labProcess.apiKey}` },
        databaseUrl: labProcess.databaseUrl,
        ...counter,
        close: async () => undefined,
      },
      'the local worker: wrangler dev, workerd',
    )
    await counter.end()
  } finally {
    await labProcess.stop()
  }
} else if (process.env.WMLAB_LOAD_ROLE === 'server') {
  const target = await startLoadTarget()
  console.log(JSON.stringify({ url: target.url, headers: target.headers, databaseUrl: target.databaseUrl }))
  const stop = () => void target.close().then(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
} else {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, WMLAB_LOAD_ROLE: 'server' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const stopChild = async () => {
    if (child.exitCode !== null) return
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
  }
  try {
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve)
      child.once('exit', (code) => reject(new Error(`server exited with ${code}`)))
    })
    const info = JSON.parse(first) as { url: string; headers: Record<string, string>; databaseUrl: string }
    const counter = auditCounter(info.databaseUrl, info.url.replace('/v1/detect', '/health'))
    await measure({ ...info, ...counter, close: async () => undefined }, 'Node server, @hono/node-server')
    await counter.end()
  } finally {
    await stopChild()
  }
}
