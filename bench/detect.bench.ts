// End-to-end detection throughput per preset (scheme.detect: seeds, kernel, dedup, statistics),
// with the JS reference kernel and the WASM kernel in the same run.
import { jsKernel } from '../core/kernel/js.ts'
import type { ScoringKernel } from '../core/kernel/types.ts'
import { seededRng } from '../core/rng.ts'
import { createScheme, schemeNames } from '../core/schemes/registry.ts'
import { loadWasmKernel } from '../wasm/node.ts'

export interface DetectRow {
  scheme: string
  tokens: number
  jsRate: number
  wasmRate: number
}

function rate(kernel: ScoringKernel, name: string, tokens: Int32Array, vocab: number): number {
  const scheme = createScheme(name, { key: 0x1234_5678n, vocabSize: vocab }, { kernel })
  scheme.detect(tokens.subarray(0, 64)) // warm-up (caches, JIT)
  let runs = 0
  const start = performance.now()
  do {
    scheme.detect(tokens)
    runs++
  } while (performance.now() - start < 500)
  return (runs * tokens.length) / ((performance.now() - start) / 1000)
}

export async function benchDetect(): Promise<DetectRow[]> {
  const wasm = await loadWasmKernel()
  const vocab = 32_000
  const rng = seededRng(7)
  const rows: DetectRow[] = []
  for (const name of schemeNames) {
    // MT19937 greenlists cost O(γV) draws per token: fewer tokens keep the run short.
    const mt = ['kgw-lefthash', 'kgw-selfhash', 'hf-selfhash', 'markllm-kgw'].includes(name)
    const n = mt ? 2_000 : 50_000
    const tokens = Int32Array.from({ length: n }, () => Math.floor(rng() * vocab))
    rows.push({
      scheme: name,
      tokens: n,
      jsRate: rate(jsKernel, name, tokens.subarray(0, mt ? 200 : n), vocab),
      wasmRate: rate(wasm, name, tokens, vocab),
    })
  }
  return rows
}

const fmt = (r: number) => (r >= 1e6 ? `${(r / 1e6).toFixed(2)} M/s` : `${(r / 1e3).toFixed(1)} k/s`)

export function formatDetectRows(rows: DetectRow[]): string {
  return [
    '| preset (V = 32,000) | JS kernel | WASM kernel | WASM/JS |',
    '|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.scheme} | ${fmt(r.jsRate)} | ${fmt(r.wasmRate)} | ${(r.wasmRate / r.jsRate).toFixed(1)}× |`,
    ),
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(formatDetectRows(await benchDetect()))
