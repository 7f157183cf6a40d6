// KGW detection of 500 tokens per preset, before/after the BigInt-free seeding, in the same run:
// - seeding alone: the BigInt oracle (core/schemes/kgw-seed.reference.ts, what kgw.ts ran before) vs
//   KgwSeeder.seeds (32-bit halves);
// - detect end to end with the WASM kernel: "before" = the previous pipeline rebuilt here (BigInt seeds,
//   the kernel on every position, de-duplication by (seed, token) afterwards), "after" = scheme.detect
//   (fast seeds, the kernel once per distinct (seed, token) pair).
// Tokens: uniform over the vocabulary (no repeats to exploit) and Zipf(1.1) (repeats like text).
// Wall time, best of rounds of ≥ 150 ms. Run: npx tsx bench/kgw-seeding.bench.ts (after npm run build:wasm).
import type { ScoringKernel } from '../core/kernel/types.ts'
import { torchSeed } from '../core/prf/torch-mt19937.ts'
import { seededRng } from '../core/rng.ts'
import { countedMask, redGreenResult } from '../core/schemes/detection.ts'
import { KgwSeeder } from '../core/schemes/kgw-seed.ts'
import { referenceSeeder } from '../core/schemes/kgw-seed.reference.ts'
import { kgwParamsSchema } from '../core/schemes/kgw.ts'
import { createScheme, getPreset } from '../core/schemes/registry.ts'
import { loadWasmKernel } from '../wasm/node.ts'
import { bestPerCallUs } from './timing.ts'

const KGW = ['kgw-lefthash', 'kgw-selfhash', 'hf-selfhash', 'markllm-kgw']
const N = 500
const KEY = 0x1234_5678n

export interface SeedRow {
  scheme: string
  vocab: number
  tokens: 'uniform' | 'zipf'
  seedBeforeUs: number
  seedAfterUs: number
  detectBeforeUs: number
  detectAfterUs: number
  /** Self-hash generation: seeds of the top 41 candidates after one window, BigInt vs fast (µs). */
  candBeforeUs?: number
  candAfterUs?: number
}

const perCall = (f: () => void) => bestPerCallUs(f, 'wall')

function zipfTokens(vocab: number, rng: () => number): Int32Array {
  // Rank r with probability ∝ r^−1.1 over 5,000 ranks (inverse CDF), ranks mapped to scattered ids.
  const ranks = 5000
  const cdf = new Float64Array(ranks)
  let acc = 0
  for (let r = 0; r < ranks; r++) cdf[r] = acc += (r + 1) ** -1.1
  return Int32Array.from({ length: N }, () => {
    const u = rng() * acc
    let lo = 0
    let hi = ranks - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cdf[mid] < u) lo = mid + 1
      else hi = mid
    }
    return (lo * 7919 + 13) % vocab
  })
}

/** The detection pipeline as kgw.ts ran it before: BigInt seeds, kernel on every position. */
function detectBefore(
  seed: (ids: ArrayLike<number>, end: number) => bigint,
  lookback: number,
  kernel: ScoringKernel,
  vocab: number,
  greenCount: number,
  tokens: Int32Array,
) {
  const n = tokens.length
  const seeds = new Uint32Array(n)
  for (let i = lookback; i < n; i++) seeds[i] = torchSeed(seed(tokens, i))
  const green = new Uint8Array(n)
  kernel.mtGreen(seeds, tokens, vocab, greenCount, green)
  for (let i = 0; i < Math.min(lookback, n); i++) green[i] = 0
  const first = new Uint8Array(n)
  const seen = new Map<number, Set<number>>()
  for (let i = lookback; i < n; i++) {
    let s = seen.get(seeds[i])
    if (!s) {
      s = new Set()
      seen.set(seeds[i], s)
    }
    if (!s.has(tokens[i])) {
      s.add(tokens[i])
      first[i] = 1
    }
  }
  return redGreenResult({
    scheme: 'before',
    tokens,
    green,
    counted: countedMask(n, lookback, first),
    gamma: greenCount / vocab,
    threshold: 1e-3,
    options: {},
    scorable: (i) => i >= lookback,
  })
}

/** The seeds of 41 candidates after one generation window, as the old step (BigInt, one array per candidate) and now. */
function candidateSeeds(
  seeder: KgwSeeder,
  ref: (ids: ArrayLike<number>, end: number) => bigint,
  tokens: Int32Array,
) {
  const window = Array.from(tokens.subarray(0, seeder.lookback))
  const cands = Array.from(tokens.subarray(100, 141))
  const out = new Uint32Array(cands.length)
  return {
    candBeforeUs: perCall(() => {
      for (let j = 0; j < cands.length; j++) out[j] = torchSeed(ref([...window, cands[j]], seeder.lookback))
    }),
    candAfterUs: perCall(() => seeder.anchoredSeeds(window, cands, cands.length, out)),
  }
}

export async function benchKgwSeeding(): Promise<SeedRow[]> {
  const kernel = await loadWasmKernel()
  const rows: SeedRow[] = []
  for (const vocab of [32_000, 151_936]) {
    const rng = seededRng(11)
    const streams = {
      uniform: Int32Array.from({ length: N }, () => Math.floor(rng() * vocab)),
      zipf: zipfTokens(vocab, rng),
    }
    for (const name of KGW) {
      const { key: _key, ...defaults } = getPreset(name).defaults
      const p = kgwParamsSchema.parse({ ...defaults, hashKey: KEY, vocabSize: vocab })
      const seeder = new KgwSeeder(p)
      const ref = referenceSeeder(p)
      const scheme = createScheme(name, { key: KEY, vocabSize: vocab }, { kernel })
      const greenCount = Math.floor(p.gamma * vocab)
      for (const [kind, tokens] of Object.entries(streams) as ['uniform' | 'zipf', Int32Array][]) {
        const out = new Uint32Array(N)
        const before = detectBefore(ref, seeder.lookback, kernel, vocab, greenCount, tokens)
        const after = scheme.detect(tokens)
        if (before.pValue !== after.pValue || before.scored !== after.scored)
          throw new Error(`${name}: before/after detections differ`)
        rows.push({
          scheme: name,
          vocab,
          tokens: kind,
          seedBeforeUs: perCall(() => {
            for (let i = seeder.lookback; i < N; i++) out[i] = torchSeed(ref(tokens, i))
          }),
          seedAfterUs: perCall(() => seeder.seeds(tokens, out)),
          detectBeforeUs: perCall(() =>
            detectBefore(ref, seeder.lookback, kernel, vocab, greenCount, tokens),
          ),
          detectAfterUs: perCall(() => scheme.detect(tokens)),
          ...(seeder.selfSalted ? candidateSeeds(seeder, ref, tokens) : {}),
        })
      }
    }
  }
  return rows
}

const us = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} ms` : `${x.toFixed(1)} µs`)

export function formatSeedRows(rows: SeedRow[]): string {
  return [
    '| preset | V | tokens | seeding BigInt | seeding fast | speed-up | detect before | detect after | speed-up | 41 candidate seeds BigInt → fast |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.scheme} | ${r.vocab} | ${r.tokens} | ${us(r.seedBeforeUs)} | ${us(r.seedAfterUs)} | ${(r.seedBeforeUs / r.seedAfterUs).toFixed(0)}× | ${us(r.detectBeforeUs)} | ${us(r.detectAfterUs)} | ${(r.detectBeforeUs / r.detectAfterUs).toFixed(2)}× | ${r.candBeforeUs === undefined ? '' : `${us(r.candBeforeUs)} → ${us(r.candAfterUs!)}`} |`,
    ),
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(formatSeedRows(await benchKgwSeeding()))
