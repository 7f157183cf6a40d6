// Encode throughput of every registered tokenizer on Brown corpus documents (plain English):
// the fast encoder against @huggingface/tokenizers on the same documents in the same run, and
// the load time and memory of the compiled form.
// Run alone: npx tsx bench/tokenizer.bench.ts [docs]
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { compiledTokenizerPath, loadTokenizer, loadTokenizerFiles } from '../cli/tokenizers-node.ts'
import {
  compileTokenizer,
  createCompiledTokenizer,
  getTokenizerSpec,
  serializeBpe,
  type TokenizerKind,
  tokenizerIds,
} from '../core/tokenizers/registry.ts'
import { loadBrownDocuments } from '../test/fixtures/brown.ts'

export interface TokenizerBenchRow {
  id: string
  kind: TokenizerKind
  mbPerSec: number
  tokensPerSec: number
  bytesPerToken: number
  // fast encoder rows: MB/s relative to the reference on the same documents
  speedup?: number
}

export interface TokenizerLoadRow {
  id: string
  // 'bin': the build output; 'memory': compiled here because the build output is missing
  from: 'bin' | 'memory'
  binMB: number
  loadMs: number
  // JS heap growth, and typed arrays allocated at load (word cache, scratch; not the .bin)
  heapMB: number
  arrayBuffersMB: number
}

const WARMUP_DOCS = 20

export async function benchTokenizers(opts: { docs?: number } = {}): Promise<TokenizerBenchRow[]> {
  const all = loadBrownDocuments()
  const n = Math.min(opts.docs ?? 100, all.length - WARMUP_DOCS)
  if (!(n > 0)) throw new Error(`docs must be between 1 and ${all.length - WARMUP_DOCS}`)
  const warm = all.slice(0, WARMUP_DOCS)
  // measured docs follow the warm-up ones, so no measured text is already in a word cache
  const docs = all.slice(WARMUP_DOCS, WARMUP_DOCS + n)
  const bytes = docs.reduce((s, d) => s + Buffer.byteLength(d.text, 'utf8'), 0)
  const rows: TokenizerBenchRow[] = []
  for (const id of tokenizerIds()) {
    let refMbPerSec = 0
    for (const reference of [true, false]) {
      const tok = loadTokenizer(id, { reference }) // construction is not timed
      for (const d of warm) tok.encode(d.text)
      let tokens = 0
      const t0 = performance.now()
      for (const d of docs) tokens += tok.encode(d.text).length
      const secs = (performance.now() - t0) / 1000
      const mbPerSec = bytes / 1e6 / secs
      if (reference) refMbPerSec = mbPerSec
      rows.push({
        id,
        kind: tok.kind,
        mbPerSec,
        tokensPerSec: tokens / secs,
        bytesPerToken: bytes / tokens,
        ...(reference ? {} : { speedup: mbPerSec / refMbPerSec }),
      })
      // yield between runs so a caller's timers/logging can run
      await new Promise((r) => setTimeout(r, 0))
    }
  }
  return rows
}

/** Load time and heap growth of each compiled tokenizer (best of 5 loads). */
export function benchTokenizerLoad(): TokenizerLoadRow[] {
  const gc = (globalThis as { gc?: () => void }).gc
  return tokenizerIds().map((id) => {
    const spec = getTokenizerSpec(id)
    const path = compiledTokenizerPath(id)
    let bin: Uint8Array
    if (path) bin = new Uint8Array(readFileSync(path))
    else {
      const { tokenizerJson, tokenizerConfig } = loadTokenizerFiles(id)
      bin = serializeBpe(compileTokenizer(tokenizerJson, tokenizerConfig))
    }
    let loadMs = Number.POSITIVE_INFINITY
    let heap = Number.POSITIVE_INFINITY
    let buffers = 0
    const keep: unknown[] = []
    for (let k = 0; k < 5; k++) {
      gc?.()
      const m0 = process.memoryUsage()
      const t0 = performance.now()
      const tok = createCompiledTokenizer(spec, bin)
      tok.encode('Hello world')
      loadMs = Math.min(loadMs, performance.now() - t0)
      keep.push(tok) // alive while measured
      gc?.()
      const m1 = process.memoryUsage()
      heap = Math.min(heap, m1.heapUsed - m0.heapUsed)
      buffers = m1.arrayBuffers - m0.arrayBuffers // last load: earlier ones may see other frees
    }
    return {
      id,
      from: path ? 'bin' : 'memory',
      binMB: bin.length / 1e6,
      loadMs,
      arrayBuffersMB: Math.max(buffers, 0) / 1e6,
      heapMB: Math.max(heap, 0) / 1e6,
    }
  })
}

export function formatTokenizerRows(rows: TokenizerBenchRow[]): string {
  const lines = [
    '| tokenizer | encoder | MB/s | tokens/s | bytes/token | speed-up |',
    '|---|---|---|---|---|---|',
  ]
  for (const r of rows) {
    lines.push(
      `| ${r.id} | ${r.kind} | ${r.mbPerSec.toFixed(2)} | ${Math.round(r.tokensPerSec).toLocaleString('en')} | ${r.bytesPerToken.toFixed(2)} | ${r.speedup ? `${r.speedup.toFixed(1)}×` : ''} |`,
    )
  }
  return lines.join('\n')
}

export function formatLoadRows(rows: TokenizerLoadRow[]): string {
  const lines = [
    '| tokenizer | compiled form | .bin MB | load ms | JS heap MB | typed arrays MB (besides the .bin) |',
    '|---|---|---|---|---|---|',
  ]
  for (const r of rows) {
    lines.push(
      `| ${r.id} | ${r.from} | ${r.binMB.toFixed(1)} | ${r.loadMs.toFixed(1)} | ${r.heapMB.toFixed(2)} | ${r.arrayBuffersMB.toFixed(2)} |`,
    )
  }
  return lines.join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const docs = process.argv[2] ? Number(process.argv[2]) : undefined
  console.log(`Brown corpus, ${docs ?? 100} docs after ${WARMUP_DOCS} warm-up, one core\n`)
  console.log(formatTokenizerRows(await benchTokenizers({ docs })))
  console.log(`\n${formatLoadRows(benchTokenizerLoad())}`)
}
