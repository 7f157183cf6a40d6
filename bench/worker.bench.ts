// Edge API load benchmark: starts the lab (scripts/lab.ts: embedded PostgreSQL, Neon proxy, worker
// under wrangler dev) and drives POST /v1/detect with autocannon — 500-token texts, cache hit (one
// text) and cache miss (a fresh text per request), at concurrency 1 and 32.
// `--workerd` drives the deployable bundle in workerd instead (test/worker-bundle.ts: Miniflare, no
// wrangler dev proxy), to separate the Worker's own cost from the dev server's.
// `--scheme=NAME` creates a key of that scheme (qwen3 tokenizer) and detects with it instead of the
// lab's vllm-gumbel key.
// Run: npx tsx bench/worker.bench.ts [seconds per run, default 20] [--workerd] [--scheme=kgw-lefthash]
import autocannon from 'autocannon'
import { brownText } from '../test/fixtures/brown.ts'
import { BENCH_LAB_ENV, startLab } from '../test/lab-process.ts'
import { startBundledEdge } from '../test/worker-bundle.ts'

const args = process.argv.slice(2)
const seconds = Number(args.find((a) => !a.startsWith('--')) ?? 20)
const workerd = args.includes('--workerd')
const edge = workerd ? await startBundledEdge(BENCH_LAB_ENV) : await startLab(BENCH_LAB_ENV)
const dev = { url: edge.url, apiKey: edge.apiKey }
const scheme = args.find((a) => a.startsWith('--scheme='))?.slice('--scheme='.length)
console.log(
  `# POST /v1/detect, ${seconds} s per run, against ${workerd ? 'the deployable bundle in workerd (Miniflare)' : 'wrangler dev (npm start)'}, ${scheme ?? 'vllm-gumbel'} key — ${new Date().toISOString()}\n`,
)

// ~500 tokens ≈ 2,300 characters of Brown text; misses get a different slice each time.
const corpus = brownText()
const slice = (i: number) =>
  corpus.slice((i * 2311) % (corpus.length - 2400), ((i * 2311) % (corpus.length - 2400)) + 2300)
const headers = { 'content-type': 'application/json', authorization: `Bearer ${dev.apiKey}` }
let keyId: string | undefined
if (scheme) {
  const res = await fetch(`${dev.url}/v1/keys`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ scheme, tokenizer: 'qwen3' }),
  })
  if (res.status !== 201) throw new Error(`key creation: ${res.status} ${await res.text()}`)
  keyId = ((await res.json()) as { id: string }).id
}
const detectBody = (text: string) => JSON.stringify(keyId ? { text, keyId } : { text })

async function run(name: string, connections: number, miss: boolean) {
  let n = 1
  // Every response's latency, for exact percentiles (autocannon's summary has P90 and P97.5, no P95).
  const latencies: number[] = []
  let instance!: autocannon.Instance
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: `${dev.url}/v1/detect`,
        method: 'POST',
        headers,
        connections,
        duration: seconds,
        body: detectBody(slice(0)),
        requests: miss
          ? [
              {
                setupRequest: (req: autocannon.Request) => ({
                  ...req,
                  body: detectBody(slice(n++)),
                }),
              },
            ]
          : undefined,
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    )
  })
  instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) =>
    latencies.push(ms),
  )
  const result = await done
  latencies.sort((a, b) => a - b)
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]
  return {
    name,
    connections,
    requests: result.requests.total,
    rps: Math.round(result.requests.average),
    p50: pct(0.5).toFixed(2),
    p95: pct(0.95).toFixed(2),
    p99: pct(0.99).toFixed(2),
    errors: result.errors + result.non2xx,
    statuses: Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count]),
    ),
  }
}

// Warm: load the tokenizer and fill the cache for the hit runs.
await fetch(`${dev.url}/v1/detect`, { method: 'POST', headers, body: detectBody(slice(0)) })
const rows = []
for (const [name, c, miss] of [
  ['cache hit', 1, false],
  ['cache hit', 32, false],
  ['cache miss', 1, true],
  ['cache miss', 32, true],
] as const) {
  rows.push(await run(name, c, miss))
}
console.log(
  '| run | connections | requests | req/s | P50 ms | P95 ms | P99 ms | errors |\n|---|---|---|---|---|---|---|---|',
)
for (const r of rows)
  console.log(
    `| ${r.name} | ${r.connections} | ${r.requests} | ${r.rps} | ${r.p50} | ${r.p95} | ${r.p99} | ${r.errors} ${JSON.stringify(r.statuses)} |`,
  )
await edge.stop()
process.exit(0)
