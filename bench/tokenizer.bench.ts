// Encode throughput of every registered tokenizer on Brown corpus documents (plain English).
// Run alone: npx tsx bench/tokenizer.bench.ts [docs]
import { performance } from 'node:perf_hooks'
import { loadTokenizer } from '../cli/tokenizers-node.ts'
import { tokenizerIds } from '../core/tokenizers/registry.ts'
import { loadBrownDocuments } from '../test/fixtures/brown.ts'

export interface TokenizerBenchRow {
  id: string
  mbPerSec: number
  tokensPerSec: number
  bytesPerToken: number
}

const WARMUP_DOCS = 20

export async function benchTokenizers(opts: { docs?: number } = {}): Promise<TokenizerBenchRow[]> {
  const all = loadBrownDocuments()
  const n = Math.min(opts.docs ?? 100, all.length - WARMUP_DOCS)
  if (!(n > 0)) throw new Error(`docs must be between 1 and ${all.length - WARMUP_DOCS}`)
  const warm = all.slice(0, WARMUP_DOCS)
  // measured docs follow the warm-up ones, so no measured text is already in the BPE cache
  const docs = all.slice(WARMUP_DOCS, WARMUP_DOCS + n)
  const bytes = docs.reduce((s, d) => s + Buffer.byteLength(d.text, 'utf8'), 0)
  const rows: TokenizerBenchRow[] = []
  for (const id of tokenizerIds()) {
    const tok = loadTokenizer(id) // construction is not timed
    for (const d of warm) tok.encode(d.text)
    let tokens = 0
    const t0 = performance.now()
    for (const d of docs) tokens += tok.encode(d.text).length
    const secs = (performance.now() - t0) / 1000
    rows.push({
      id,
      mbPerSec: bytes / 1e6 / secs,
      tokensPerSec: tokens / secs,
      bytesPerToken: bytes / tokens,
    })
    // yield between tokenizers so a caller's timers/logging can run
    await new Promise((r) => setTimeout(r, 0))
  }
  return rows
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const docs = process.argv[2] ? Number(process.argv[2]) : undefined
  const rows = await benchTokenizers({ docs })
  console.log(`tokenizer encode throughput, Brown corpus, ${docs ?? 100} docs after ${WARMUP_DOCS} warm-up`)
  console.log('id       MB/s    tokens/s  bytes/token')
  for (const r of rows) {
    console.log(
      `${r.id.padEnd(8)} ${r.mbPerSec.toFixed(3).padStart(6)} ${Math.round(r.tokensPerSec).toString().padStart(10)}  ${r.bytesPerToken.toFixed(2).padStart(11)}`,
    )
  }
}
