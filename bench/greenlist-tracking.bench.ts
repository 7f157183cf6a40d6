// torch-MT19937 greenlists at Qwen3's vocabulary (V = 151,936), WASM kernel, same run:
// - kernel: green flags of n ids under ONE seed, one tracking pass (mtGreenOneSeed) vs one membership
//   walk per id (mtGreen) — the choice KgwScheme makes at generation (top-k candidates) and detection;
// - detection of ~500 tokens of Brown text (Qwen3 tokenizer): "before" = one walk per distinct
//   (seed, token) pair (the previous kgw.ts), "after" = scheme.detect (seeds that many tokens follow get
//   one tracking pass). Both must give the same p-value.
// CPU time per call, best of rounds of ≥ 150 ms. Run: npx tsx bench/greenlist-tracking.bench.ts
import { loadTokenizer } from '../cli/tokenizers-node.ts'
import type { ScoringKernel } from '../core/kernel/types.ts'
import { seededRng } from '../core/rng.ts'
import { countedMask, redGreenResult } from '../core/schemes/detection.ts'
import { KgwSeeder } from '../core/schemes/kgw-seed.ts'
import { type KgwScheme, kgwParamsSchema } from '../core/schemes/kgw.ts'
import { createScheme, getPreset } from '../core/schemes/registry.ts'
import { brownText } from '../test/fixtures/brown.ts'
import { loadWasmKernel } from '../wasm/node.ts'

const V = 151_936
const KEY = 0x1234_5678n

/** µs of CPU per call: best of 5 rounds of ≥ 150 ms (≥ 3 calls), after 2 warm-up calls. */
function perCall(f: () => void): number {
  f()
  f()
  let best = Number.POSITIVE_INFINITY
  for (let r = 0; r < 5; r++) {
    let calls = 0
    const wall = performance.now()
    const cpu = process.cpuUsage()
    do f()
    while (++calls < 3 || performance.now() - wall < 150)
    const d = process.cpuUsage(cpu)
    best = Math.min(best, (d.user + d.system) / calls)
  }
  return best
}

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
  afterUs: number
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
  const rows: DetectRow[] = []
  for (const name of ['kgw-lefthash', 'markllm-kgw']) {
    const s = createScheme(name, { key: KEY, vocabSize: V }, { kernel }) as KgwScheme
    let before = 0
    let after = 0
    let tokens = 0
    let pairs = 0
    let seeds = 0
    let tracked = 0
    const texts = 8
    for (let t = 0; t < texts; t++) {
      const ids = tok.encode(corpus.slice(t * 2311 + 50_000, t * 2311 + 50_000 + 2300))
      const base = detectPerPair(s, name, ids, kernel)
      const now = s.detect(ids)
      if (now.pValue !== base.result.pValue || now.scored !== base.result.scored)
        throw new Error(`${name}: grouped detection differs from the per-pair one`)
      before += perCall(() => detectPerPair(s, name, ids, kernel))
      after += perCall(() => s.detect(ids))
      tokens += ids.length
      pairs += base.pairs
      seeds += base.seeds
      for (const c of base.bySeed.values()) if (c > 3) tracked += c
    }
    rows.push({
      scheme: name,
      tokens: tokens / texts,
      pairs: pairs / texts,
      seeds: seeds / texts,
      tracked: tracked / texts,
      beforeUs: before / texts,
      afterUs: after / texts,
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
    '| preset | tokens | distinct (seed, token) | distinct seeds | pairs under seeds with > 3 | detect before (walk per pair) | after (grouped) | speed-up |',
    '|---|---|---|---|---|---|---|---|',
    ...r.detect.map(
      (d) =>
        `| ${d.scheme} | ${d.tokens.toFixed(0)} | ${d.pairs.toFixed(0)} | ${d.seeds.toFixed(0)} | ${d.tracked.toFixed(0)} | ${f(d.beforeUs)} | ${f(d.afterUs)} | ${(d.beforeUs / d.afterUs).toFixed(2)}× |`,
    ),
  ]
  return lines.join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(formatTrackingRows(await benchGreenlistTracking()))
}
