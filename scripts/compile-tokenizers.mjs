#!/usr/bin/env node
// Compiles every registered byte-level BPE tokenizer into its compact binary form
// (<out>/<id>.bin, default node_modules/.cache/wmlab-tokenizers, git-ignored), so loaders skip
// parsing ~10 MB of tokenizer.json. Skips a tokenizer whose .bin is newer than its JSON.
// Usage: node scripts/compile-tokenizers.mjs [--force] [--out DIR]
import { register } from 'tsx/esm/api'

register()
const { compileTokenizerToFile } = await import('../cli/tokenizers-node.ts')
const { tokenizerIds } = await import('../core/tokenizers/registry.ts')

const args = process.argv.slice(2)
const force = args.includes('--force')
const outAt = args.indexOf('--out')
const out = outAt >= 0 ? args[outAt + 1] : undefined
for (const id of tokenizerIds()) {
  const r = compileTokenizerToFile(id, { force, dir: out })
  console.log(
    `${id}: ${r.status} ${r.path}${r.bytes ? ` (${(r.bytes / 1e6).toFixed(1)} MB)` : ''}${r.reason ? ` — ${r.reason}` : ''}`,
  )
}
