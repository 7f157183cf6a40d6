// Scoring-kernel throughput, JS reference vs WebAssembly, same process, one core.
// Run: npx tsx bench/kernel.bench.ts (after npm run build:wasm).
import { jsKernel } from '../core/kernel/js.ts'
import type { ScoringKernel } from '../core/kernel/types.ts'
import { loadWasmKernel } from '../wasm/node.ts'
import { seededRng } from '../core/rng.ts'

export interface Row {
  name: string
  /** tokens per timed run (JS, WASM) */
  jsTokens: number
  wasmTokens: number
  jsRate: number // tokens/s
  wasmRate: number // tokens/s
  target: number // WASM tokens/s
  ratio: number // wasmRate / jsRate
  meetsTarget: boolean
  meetsRatio: boolean
}

const RATIO_TARGET = 5

/** Fixed-seed uniforms (the project's seeded PRNG) so runs are reproducible. */
const rng = seededRng

const randomTokens = (n: number, vocab: number, seed: number) => {
  const r = rng(seed)
  return Int32Array.from({ length: n }, () => Math.floor(r() * vocab))
}

/** Best-of-`reps` tokens/s of `fn` over `tokens` tokens (one warm-up call first). */
function rate(tokens: number, reps: number, fn: () => void): number {
  fn()
  let best = Number.POSITIVE_INFINITY
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now()
    fn()
    best = Math.min(best, performance.now() - t0)
  }
  return tokens / (best / 1000)
}

// The Gumbel detector's per-token work: dedupe contexts, uniforms, Σ −log1p(−u) over first occurrences.
function philoxScore(k: ScoringKernel, tokens: Int32Array, first: Uint8Array, u: Float32Array): number {
  k.firstOccurrence(tokens, 4, true, first)
  k.philoxUniforms(tokens, 4, 0x2a, 0xdeadbeef, u)
  let s = 0
  for (let i = 0; i < tokens.length; i++) if (first[i]) s -= Math.log1p(-u[i])
  return s
}

function row(
  name: string,
  jsTokens: number,
  wasmTokens: number,
  jsRate: number,
  wasmRate: number,
  target: number,
): Row {
  const ratio = wasmRate / jsRate
  return {
    name,
    jsTokens,
    wasmTokens,
    jsRate,
    wasmRate,
    target,
    ratio,
    meetsTarget: wasmRate >= target,
    meetsRatio: ratio >= RATIO_TARGET,
  }
}

const SYNTHID_KEYS = [
  654, 400, 836, 123, 340, 443, 597, 160, 57, 29, 590, 639, 13, 715, 468, 990, 966, 226, 324, 585, 118, 504,
  421, 521, 129, 669, 732, 225, 90, 960,
]

export async function benchKernels(): Promise<Row[]> {
  const wasm = await loadWasmKernel()
  const rows: Row[] = []

  {
    const n = 1_000_000
    const tokens = randomTokens(n, 128_000, 1)
    const first = new Uint8Array(n)
    const u = new Float32Array(n)
    const sW = philoxScore(wasm, tokens, first, u)
    const sJ = philoxScore(jsKernel, tokens, first, u)
    if (sW !== sJ) throw new Error(`philox score mismatch: wasm ${sW} js ${sJ}`)
    const w = rate(n, 3, () => philoxScore(wasm, tokens, first, u))
    const j = rate(n, 1, () => philoxScore(jsKernel, tokens, first, u))
    rows.push(row('Philox scoring (w=4, dedupe, Σ−log1p(−u))', n, n, j, w, 10e6))
  }

  for (const [variant, target, jsN] of [
    ['table', 5e6, 100_000],
    ['2025', 1e6, 20_000],
  ] as const) {
    const n = 100_000
    const tokens = randomTokens(n, 256_000, 2)
    const out = new Uint8Array(n * SYNTHID_KEYS.length)
    const w = rate(n, 3, () => wasm.synthidGValues(tokens, 4, SYNTHID_KEYS, variant, out))
    const jt = tokens.subarray(0, jsN)
    const j = rate(jsN, 1, () => jsKernel.synthidGValues(jt, 4, SYNTHID_KEYS, variant, out))
    rows.push(row(`SynthID ${variant} (depth 30, n-gram 5)`, jsN, n, j, w, target))
  }

  {
    const vocab = 32_000
    const green = 8_000
    const r = rng(3)
    const seeds = Uint32Array.from({ length: 2000 }, () => Math.floor(r() * 2 ** 32))
    const tokens = randomTokens(2000, vocab, 4)
    const out = new Uint8Array(2000)
    const w = rate(2000, 3, () => wasm.mtGreen(seeds, tokens, vocab, green, out))
    const j = rate(200, 1, () =>
      jsKernel.mtGreen(seeds.subarray(0, 200), tokens.subarray(0, 200), vocab, green, out),
    )
    rows.push(row('MT19937 membership (V=32000, γ=0.25)', 200, 2000, j, w, 50e3))
  }
  return rows
}

const fmt = (r: number) =>
  r >= 1e6 ? `${(r / 1e6).toFixed(2)} M/s` : r >= 1e3 ? `${(r / 1e3).toFixed(1)} k/s` : `${r.toFixed(0)} /s`

export function formatRows(rows: Row[]): string {
  const head = ['kernel', 'JS', 'WASM', 'target', 'WASM/JS', 'status']
  const body = rows.map((r) => [
    r.name,
    fmt(r.jsRate),
    fmt(r.wasmRate),
    `≥ ${fmt(r.target)}`,
    `${r.ratio.toFixed(1)}×`,
    r.meetsTarget && r.meetsRatio
      ? 'ok'
      : `MISS${r.meetsTarget ? '' : ' rate'}${r.meetsRatio ? '' : ' ratio'}`,
  ])
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c].length)))
  const line = (cells: string[]) => `| ${cells.map((s, c) => s.padEnd(widths[c])).join(' | ')} |`
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await benchKernels()
  console.log(formatRows(rows))
  console.log(`(one core, Node ${process.version}; WASM/JS target ≥ ${RATIO_TARGET}×)`)
}
