// torch-MT19937 greenlists at Qwen3's vocabulary (V = 151,936), WASM kernel, same run:
// - kernel: green flags of n ids under ONE seed, one tracking pass (mtGreenOneSeed) vs one membership
//   walk per id (mtGreen) — the choice KgwScheme makes at generation (top-k candidates) and detection;
// - detection of ~500 tokens of Brown text (Qwen3 tokenizer): "before" = one walk per distinct
//   (seed, token) pair (the previous kgw.ts); scheme.detect grouped by seed without a greenlist cache,
//   with an empty one, and with one warmed on 100 other texts (steady state). Same p-values.
// CPU time per call, best of rounds of ≥ 150 ms. Run: npx tsx bench/greenlist-tracking.bench.ts
import { loadTokenizer } from '../cli/tokenizers-node.ts'
import type { ScoringKernel } from '../core/kernel/types.ts'
import { seededRng } from '../core/rng.ts'
import { countedMask, redGreenResult } from '../core/schemes/detection.ts'
import { KgwSeeder } from '../core/schemes/kgw-seed.ts'
import { type KgwScheme, kgwParamsSchema } from '../core/schemes/kgw.ts'
import { GreenlistCache } from '../core/schemes/greenlist-cache.ts'
import { createScheme, getPreset } from '../core/schemes/registry.ts'
import { brownText } from '../test/fixtures/brown.ts'
import { loadWasmKernel } from '../wasm/node.ts'
import { bestPerCallUs } from './timing.ts'

const V = 151_936
const KEY = 0x1234_5678n

const perCall = (f: () => void) => bestPerCallUs(f, 'cpu')

export interface KernelRow {
  gamma: number
  ids: number
  trackUs: number
  walkUs: number
}

export interface DetectRow {
  scheme: string
  tokens: number
  pairs: number
  seeds: number
  tracked: number
  beforeUs: number
  /** Grouped by seed, no greenlist cache: tracking passes for seeds with > 3 tokens. */
  groupedUs: number
  /** With a fresh (empty) greenlist cache. */
  coldUs: number
  /** With a cache warmed on other texts (steady state of a busy isolate). */
  warmUs: number
  warmHitRate: number
  cachedGreenlists: number
}

function kernelRows(kernel: ScoringKernel): KernelRow[] {
  const r = seededRng(5)
  const rows: KernelRow[] = []
  for (const gamma of [0.25, 0.5]) {
    const green = Math.floor(gamma * V)
    for (const n of [1, 3, 8, 50, 500]) {
      const ids = Int32Array.from({ length: n }, () => Math.floor(r() * V))
      const out = new Uint8Array(n)
      const seeds = new Uint32Array(n)
      let seed = 1
      const trackUs = perCall(() => kernel.mtGreenOneSeed(seed++, ids, V, green, out))
      const walkUs = perCall(() => {
        seeds.fill(seed++)
        kernel.mtGreen(seeds, ids, V, green, out)
      })
      rows.push({ gamma, ids: n, trackUs, walkUs })
    }
  }
  return rows
}

/** The previous detection: every distinct (seed, token) pair walked on its own. */
function detectPerPair(s: KgwScheme, name: string, tokens: Int32Array, kernel: ScoringKernel) {
  const { key: _key, ...defaults } = getPreset(name).defaults
  const p = kgwParamsSchema.parse({ ...defaults, hashKey: KEY, vocabSize: V })
  const seeder = new KgwSeeder(p)
  const n = tokens.length
  const seeds = new Uint32Array(n)
  seeder.seeds(tokens, seeds)
  const slot = new Int32Array(n)
  const first = new Uint8Array(n)
  const pairOf = new Map<string, number>()
  const pairSeeds: number[] = []
  const pairTokens: number[] = []
  for (let i = seeder.lookback; i < n; i++) {
    const key = `${seeds[i]}:${tokens[i]}`
    const known = pairOf.get(key)
    if (known !== undefined) slot[i] = known
    else {
      pairOf.set(key, pairSeeds.length)
      slot[i] = pairSeeds.length
      pairSeeds.push(seeds[i])
      pairTokens.push(tokens[i])
      first[i] = 1
    }
  }
  const pairGreen = new Uint8Array(pairSeeds.length)
  kernel.mtGreen(Uint32Array.from(pairSeeds), Int32Array.from(pairTokens), V, s.greenCount, pairGreen)
  const green = new Uint8Array(n)
  for (let i = seeder.lookback; i < n; i++) green[i] = pairGreen[slot[i]]
  const result = redGreenResult({
    scheme: name,
    tokens,
    green,
    counted: countedMask(n, seeder.lookback, first),
    gamma: s.greenCount / V,
    threshold: s.pValueThreshold,
    options: {},
    scorable: (i) => i >= seeder.lookback,
  })
  const bySeed = new Map<number, number>()
  for (const seed of pairSeeds) bySeed.set(seed, (bySeed.get(seed) ?? 0) + 1)
  return { result, pairs: pairSeeds.length, seeds: bySeed.size, bySeed }
}

async function detectRows(kernel: ScoringKernel): Promise<DetectRow[]> {
  const tok = await loadTokenizer('qwen3')
  const corpus = brownText()
  const text = (t: number) => tok.encode(corpus.slice(t * 2311, t * 2311 + 2300)) // ≈ 500 tokens
  const rows: DetectRow[] = []
  for (const name of ['kgw-lefthash', 'markllm-kgw']) {
    const scheme = (greenlists: GreenlistCache | null) =>
      createScheme(name, { key: KEY, vocabSize: V }, { kernel, greenlists }) as KgwScheme
    const noCache = scheme(null)
    const sum = { before: 0, grouped: 0, cold: 0, tokens: 0, pairs: 0, seeds: 0, tracked: 0 }
    const texts = 8
    for (let t = 0; t < texts; t++) {
      const ids = text(20 + t)
      const base = detectPerPair(noCache, name, ids, kernel)
      if (noCache.detect(ids).pValue !== base.result.pValue)
        throw new Error(`${name}: grouped detection differs from the per-pair one`)
      sum.before += perCall(() => detectPerPair(noCache, name, ids, kernel))
      sum.grouped += perCall(() => noCache.detect(ids))
      // A fresh cache each call: only seeds that many tokens follow in this text get a bitmap.
      sum.cold += perCall(() => scheme(new GreenlistCache()).detect(ids))
      sum.tokens += ids.length
      sum.pairs += base.pairs
      sum.seeds += base.seeds
      for (const c of base.bySeed.values()) if (c >= 3) sum.tracked += c
    }
    // Steady state: a cache warmed on 100 texts, then 100 texts it has not seen, each detected once.
    const cache = new GreenlistCache()
    const warm = scheme(cache)
    for (let t = 100; t < 200; t++) warm.detect(text(t))
    const unseen = Array.from({ length: 100 }, (_, i) => text(200 + i))
    const [hits, misses] = [cache.hits, cache.misses]
    const cpu = process.cpuUsage()
    for (const ids of unseen) warm.detect(ids)
    const d = process.cpuUsage(cpu)
    rows.push({
      scheme: name,
      tokens: sum.tokens / texts,
      pairs: sum.pairs / texts,
      seeds: sum.seeds / texts,
      tracked: sum.tracked / texts,
      beforeUs: sum.before / texts,
      groupedUs: sum.grouped / texts,
      coldUs: sum.cold / texts,
      warmUs: (d.user + d.system) / unseen.length,
      warmHitRate: (cache.hits - hits) / (cache.hits - hits + cache.misses - misses),
      cachedGreenlists: cache.size,
    })
  }
  return rows
}

export async function benchGreenlistTracking() {
  const kernel = await loadWasmKernel()
  return { kernel: kernelRows(kernel), detect: await detectRows(kernel) }
}

const f = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`)

export function formatTrackingRows(r: Awaited<ReturnType<typeof benchGreenlistTracking>>): string {
  const lines = [
    '| γ | ids under one seed | one walk per id | one tracking pass | walks ÷ pass |',
    '|---|---|---|---|---|',
    ...r.kernel.map(
      (k) =>
        `| ${k.gamma} | ${k.ids} | ${f(k.walkUs)} | ${f(k.trackUs)} | ${(k.walkUs / k.trackUs).toFixed(2)}× |`,
    ),
    '',
    '| preset | tokens | distinct (seed, token) | distinct seeds | pairs under seeds with ≥ 3 | walk per pair (before) | grouped, no cache | empty cache | warm cache (hit rate) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...r.detect.map(
      (d) =>
        `| ${d.scheme} | ${d.tokens.toFixed(0)} | ${d.pairs.toFixed(0)} | ${d.seeds.toFixed(0)} | ${d.tracked.toFixed(0)} | ${f(d.beforeUs)} | ${f(d.groupedUs)} (${(d.beforeUs / d.groupedUs).toFixed(2)}×) | ${f(d.coldUs)} (${(d.beforeUs / d.coldUs).toFixed(2)}×) | ${f(d.warmUs)} (${(d.beforeUs / d.warmUs).toFixed(2)}×; ${(100 * d.warmHitRate).toFixed(0)} % of seeds, ${d.cachedGreenlists} greenlists) |`,
    ),
  ]
  return lines.join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(formatTrackingRows(await benchGreenlistTracking()))
}
