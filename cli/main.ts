// wmlab: the researcher's debugging tool and the stable contract later tests rely on.
// JSON on stdout; errors as {"error":{"code","message"}} on stderr with a non-zero exit code.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { ZodError } from 'zod'
import type { ScoringKernel } from '../core/kernel/types.ts'
import {
  deriveWatermarkKey,
  philoxContextState,
  philoxTokenWord,
  philoxUniform,
  splitKey,
} from '../core/prf/philox.ts'
import { accumulateHash, synthidGValues, synthidInitialHash } from '../core/prf/synthid.ts'
import {
  MT19937,
  inRandpermPrefix,
  randFloat32,
  randint,
  randperm,
  torchSeed,
} from '../core/prf/torch-mt19937.ts'
import type { KgwScheme } from '../core/schemes/kgw.ts'
import { createScheme, getPreset, schemeNames, UnknownSchemeError } from '../core/schemes/registry.ts'
import { normalizeWithReport } from '../core/text/normalize.ts'
import { getTokenizerSpec, tokenizerIds } from '../core/tokenizers/registry.ts'
import { ExperimentCliError, experimentCommand } from './experiment.ts'
import { loadTokenizer } from './tokenizers-node.ts'

export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

const HELP = `wmlab — LM Watermark Lab command line (JSON on stdout)

  wmlab schemes                                   list scheme presets and tokenizers
  wmlab prf --prf torch-mt19937 --seed S (--randperm N | --u32 K | --rand K | --randint LO,HI,K)
  wmlab prf --prf philox --key K --context a,b,c,d --token T
  wmlab prf --prf philox --key K --derive key_a|key_b
  wmlab greenlist --scheme kgw-lefthash|markllm-kgw --hash-key K --vocab V --gamma G --prev T [--first N]
  wmlab greenlist --scheme kgw-selfhash|hf-selfhash --hash-key K --vocab V --gamma G --context a,b,c --candidate C
  wmlab greenlist --scheme vllm-redgreen --key K --gamma G --context a,b,c,d --candidate C
  wmlab gvalues --scheme synthid --hash table|2025 --keys k1,...,kn --ngram a,b,c,d,e
  wmlab experiment run SPEC.json [--watch] [--prompts F.jsonl]   create an experiment (progress bar with --watch)
  wmlab experiment show ID | cancel ID | resume ID | export ID --format csv|jsonl
               against --url/--api-key, $WMLAB_URL/$WMLAB_API_KEY, or the running lab (.lab/dev.json)
  wmlab tenant create --name N [--store-text] [--verdict-only] [--database-url URL]   (default: $DATABASE_URL)
               --verdict-only: its detections answer the verdict only (docs/security.md)
               creates a tenant and its first API key in PostgreSQL; the key is printed once
  wmlab tenant api-key --tenant ID [--verdict-only | --full-detail] [--database-url URL]
               another API key of the tenant; --verdict-only / --full-detail override the tenant's
               detection detail for this key (default: the tenant's); the key is printed once
  wmlab tokenize --tokenizer ID (--text-file F | --text T) [--reference]
               token ids as a JSON array, no special tokens added; --reference: @huggingface/tokenizers
  wmlab detect --scheme S --key K (--tokenizer ID --text-file F | --tokens a,b,c) [--vocab V]
               [--per-token] [--no-dedup] [--windowed] [--no-normalize] [--threshold P]
               [--gamma G] [--delta D] [--context-width H] [--alpha A] [--hash table|2025] [--keys k1,..]
               [--wasm]
Keys may be decimal or 0x-hex; 64-bit values are printed as strings. --context-width defaults to
the preset's h (self-hash presets count the candidate); the last h − 1 (self-hash) or h context
ids are used.`

const options = {
  prf: { type: 'string' },
  seed: { type: 'string' },
  randperm: { type: 'string' },
  u32: { type: 'string' },
  rand: { type: 'string' },
  randint: { type: 'string' },
  key: { type: 'string' },
  'hash-key': { type: 'string' },
  context: { type: 'string' },
  token: { type: 'string' },
  derive: { type: 'string' },
  scheme: { type: 'string' },
  vocab: { type: 'string' },
  gamma: { type: 'string' },
  delta: { type: 'string' },
  prev: { type: 'string' },
  first: { type: 'string' },
  candidate: { type: 'string' },
  hash: { type: 'string' },
  keys: { type: 'string' },
  ngram: { type: 'string' },
  tokenizer: { type: 'string' },
  'text-file': { type: 'string' },
  text: { type: 'string' },
  tokens: { type: 'string' },
  'per-token': { type: 'boolean' },
  'no-dedup': { type: 'boolean' },
  windowed: { type: 'boolean' },
  'no-normalize': { type: 'boolean' },
  threshold: { type: 'string' },
  'context-width': { type: 'string' },
  alpha: { type: 'string' },
  depth: { type: 'string' },
  wasm: { type: 'boolean' },
  reference: { type: 'boolean' },
  name: { type: 'string' },
  'store-text': { type: 'boolean' },
  'verdict-only': { type: 'boolean' },
  'full-detail': { type: 'boolean' },
  tenant: { type: 'string' },
  'database-url': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  url: { type: 'string' },
  'api-key': { type: 'string' },
  watch: { type: 'boolean' },
  format: { type: 'string' },
  prompts: { type: 'string' },
  interval: { type: 'string' },
} as const

type Args = ReturnType<typeof parse>['values']
const parse = (argv: string[]) =>
  parseArgs({ args: joinNegativeValues(argv), options, allowPositionals: true, strict: true })

/** `--context -1,-1,5` would read as an unknown option: bind values that start with a minus sign. */
function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') && !argv[i].includes('=') ? argv[i].slice(2) : null
    const opt = name ? (options as Record<string, { type: string }>)[name] : undefined
    if (opt?.type === 'string' && /^-\d[\d,\s-]*$/.test(argv[i + 1] ?? '')) {
      out.push(`${argv[i]}=${argv[i + 1]}`)
      i++
    } else out.push(argv[i])
  }
  return out
}

function need(args: Args, name: keyof Args): string {
  const v = args[name]
  if (typeof v !== 'string' || v === '') throw new CliError('missing_option', `--${name} is required`)
  return v
}

function int(value: string, name: string, min = Number.MIN_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(value)) throw new CliError('bad_option', `--${name} must be an integer, got "${value}"`)
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < min)
    throw new CliError('bad_option', `--${name} must be an integer ≥ ${min}`)
  return n
}

function num(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isFinite(n)) throw new CliError('bad_option', `--${name} must be a number, got "${value}"`)
  return n
}

function big(value: string, name: string): bigint {
  if (!/^(-?\d+|0x[0-9a-fA-F]+)$/.test(value))
    throw new CliError('bad_option', `--${name} must be an integer, got "${value}"`)
  return BigInt(value)
}

function ints(value: string, name: string): number[] {
  if (value.trim() === '') return []
  return value.split(',').map((s) => int(s.trim(), name))
}

function prf(args: Args): unknown {
  const kind = need(args, 'prf')
  if (kind === 'torch-mt19937') {
    const seed = big(need(args, 'seed'), 'seed')
    const out: Record<string, unknown> = { prf: kind, seed, mtSeed: torchSeed(seed) }
    if (args.randperm) out.randperm = Array.from(randperm(seed, int(args.randperm, 'randperm', 1)))
    else if (args.u32) {
      const mt = new MT19937(torchSeed(seed))
      out.u32 = Array.from({ length: int(args.u32, 'u32', 0) }, () => mt.nextU32())
    } else if (args.rand) out.rand = Array.from(randFloat32(seed, int(args.rand, 'rand', 0)))
    else if (args.randint) {
      const [lo, hi, k] = ints(args.randint, 'randint')
      if (k === undefined) throw new CliError('bad_option', '--randint takes LO,HI,COUNT')
      out.randint = Array.from(randint(seed, lo, hi, k))
    } else throw new CliError('missing_option', 'one of --randperm, --u32, --rand, --randint is required')
    return out
  }
  if (kind === 'philox') {
    const key = big(need(args, 'key'), 'key')
    const k = splitKey(key)
    if (args.derive) {
      if (args.derive !== 'key_a' && args.derive !== 'key_b')
        throw new CliError('bad_option', '--derive must be key_a or key_b')
      return { prf: kind, key, domain: args.derive, derived: deriveWatermarkKey(key, args.derive) }
    }
    const context = ints(need(args, 'context'), 'context')
    const token = int(need(args, 'token'), 'token')
    const state = philoxContextState(k, context.length, (i) => context[i], new Uint32Array(4))
    const word = philoxTokenWord(k, state, token)
    return {
      prf: kind,
      version: 'philox4x32-10-v1',
      key,
      context,
      token,
      contextState: Array.from(state),
      word,
      mantissa24: word >>> 8,
      uniform: philoxUniform(word),
    }
  }
  throw new CliError('bad_option', `--prf must be torch-mt19937 or philox, got "${kind}"`)
}

function greenlist(args: Args): unknown {
  const scheme = need(args, 'scheme')
  const preset = getPreset(scheme)
  const gamma = num(args.gamma, 'gamma') ?? (preset.defaults.gamma as number)
  if (scheme === 'vllm-redgreen') {
    const key = big(need(args, 'key'), 'key')
    const context = ints(need(args, 'context'), 'context')
    const candidate = int(need(args, 'candidate'), 'candidate')
    const state = philoxContextState(splitKey(key), context.length, (i) => context[i], new Uint32Array(4))
    const u = philoxUniform(philoxTokenWord(splitKey(key), state, candidate))
    return { scheme, key, gamma, context, candidate, uniform: u, green: u < Math.fround(gamma) }
  }
  if (!['kgw-lefthash', 'kgw-selfhash', 'hf-selfhash', 'markllm-kgw'].includes(scheme)) {
    throw new CliError('bad_option', `greenlist supports the KGW presets and vllm-redgreen, not "${scheme}"`)
  }
  const vocab = int(need(args, 'vocab'), 'vocab', 2)
  const hashKey = args['hash-key'] ?? args.key ?? String(preset.defaults.key)
  const contextWidthOpt = args['context-width'] ? int(args['context-width'], 'context-width', 1) : undefined
  const selfHash = scheme === 'kgw-selfhash' || scheme === 'hf-selfhash'
  const contextIds = selfHash
    ? ints(need(args, 'context'), 'context')
    : args.context
      ? ints(args.context, 'context')
      : [int(need(args, 'prev'), 'prev')]
  const contextWidth = contextWidthOpt ?? (preset.defaults.contextWidth as number) // h; self-hash presets count the candidate
  const s = createScheme(scheme, {
    key: big(hashKey, 'hash-key'),
    vocabSize: vocab,
    gamma,
    contextWidth,
  }) as KgwScheme
  const greenCount = Math.floor(gamma * vocab)
  if (selfHash) {
    const candidate = int(need(args, 'candidate'), 'candidate')
    const ids = [...contextIds, candidate]
    if (ids.length < contextWidth)
      throw new CliError('bad_option', `--context needs at least ${contextWidth - 1} ids`)
    const seed = s.seedAt(ids, ids.length - 1)
    return {
      scheme,
      hashKey,
      vocab,
      gamma,
      greenCount,
      contextWidth,
      context: contextIds,
      candidate,
      seed,
      green: inRandpermPrefix(seed, vocab, greenCount, candidate),
    }
  }
  if (contextIds.length < contextWidth) throw new CliError('bad_option', `need ${contextWidth} context ids`)
  const seed = s.seedAt(contextIds, contextIds.length)
  const first = args.first ? int(args.first, 'first', 0) : greenCount
  const perm = randperm(seed, vocab)
  const out: Record<string, unknown> = {
    scheme,
    hashKey,
    vocab,
    gamma,
    greenCount,
    context: contextIds,
    seed,
    greenlist: Array.from(perm.subarray(0, Math.min(first, greenCount))),
  }
  if (args.candidate) {
    const c = int(args.candidate, 'candidate')
    out.candidate = c
    out.green = inRandpermPrefix(seed, vocab, greenCount, c)
  }
  return out
}

function gvalues(args: Args): unknown {
  const scheme = args.scheme ?? 'synthid'
  if (scheme !== 'synthid') throw new CliError('bad_option', 'gvalues supports --scheme synthid')
  const hash = args.hash ?? '2025'
  if (hash !== 'table' && hash !== '2025') throw new CliError('bad_option', '--hash must be table or 2025')
  const keys = ints(need(args, 'keys'), 'keys')
  const ngram = ints(need(args, 'ngram'), 'ngram')
  if (keys.length === 0 || ngram.length === 0)
    throw new CliError('bad_option', '--keys and --ngram must not be empty')
  const h0 = synthidInitialHash(hash, keys)
  return {
    scheme,
    hash,
    keys,
    ngram,
    initialHash: h0,
    contextHash: accumulateHash(h0, ngram.slice(0, -1)),
    ngramHash: accumulateHash(h0, ngram),
    gValues: Array.from(synthidGValues(hash, keys, ngram)),
  }
}

async function detect(args: Args): Promise<unknown> {
  const scheme = need(args, 'scheme')
  const preset = getPreset(scheme)
  let tokens: number[]
  let normalization: unknown
  const tokenizer = args.tokenizer ? loadTokenizer(args.tokenizer) : null
  if (args.tokens !== undefined) tokens = ints(args.tokens, 'tokens')
  else {
    if (!tokenizer) throw new CliError('missing_option', '--tokenizer is required with --text-file or --text')
    let text: string
    if (args['text-file']) {
      try {
        text = readFileSync(args['text-file'], 'utf8')
      } catch (e) {
        throw new CliError('file_not_readable', `cannot read --text-file: ${(e as Error).message}`)
      }
    } else text = need(args, 'text')
    if (!args['no-normalize']) {
      const r = normalizeWithReport(text)
      normalization = { removedInvisible: r.removedInvisible, foldedHomoglyphs: r.foldedHomoglyphs }
      text = r.text
    }
    tokens = Array.from(tokenizer.encode(text))
  }
  const needsVocab = preset.family === 'red-green' && scheme !== 'vllm-redgreen'
  const vocabSize = args.vocab
    ? int(args.vocab, 'vocab', 2)
    : tokenizer
      ? tokenizer.logitsSize
      : needsVocab
        ? (() => {
            throw new CliError('missing_option', `--vocab (or --tokenizer) is required for ${scheme}`)
          })()
        : 1 << 24
  const params: Record<string, unknown> = {
    key: args.key ?? args['hash-key'] ?? (preset.defaults.key as unknown),
    vocabSize,
    gamma: num(args.gamma, 'gamma'),
    delta: num(args.delta, 'delta'),
    contextWidth: args['context-width'] ? int(args['context-width'], 'context-width', 1) : undefined,
    alpha: num(args.alpha, 'alpha'),
    pValueThreshold: num(args.threshold, 'threshold'),
    hash: args.hash,
    keys: args.keys ? ints(args.keys, 'keys') : undefined,
    depth: args.depth ? int(args.depth, 'depth', 1) : undefined,
  }
  if (params.key === undefined && params.keys === undefined)
    throw new CliError('missing_option', '--key is required')
  let kernel: ScoringKernel | undefined
  if (args.wasm) kernel = await (await import('../wasm/node.ts')).loadWasmKernel()
  const s = createScheme(scheme, params, { kernel })
  const result = s.detect(tokens, {
    dedup: !args['no-dedup'],
    perToken: args['per-token'],
    windowed: args.windowed,
  })
  if (result.perToken && tokenizer) {
    const texts = tokenizer.tokenTexts(tokens)
    result.perToken.forEach((t, i) => {
      t.text = texts[i]
    })
  }
  return { ...result, tokenizer: tokenizer?.id, vocabSize, ...(normalization ? { normalization } : {}) }
}

// Token ids of a text, from the fast encoder (or the reference with --reference): a bare JSON
// array, so outputs of the two can be diffed directly.
async function tenant(args: Args, positionals: string[]): Promise<unknown> {
  const sub = positionals[1]
  if (sub !== 'create' && sub !== 'api-key')
    throw new CliError(
      'unknown_command',
      'usage: wmlab tenant create --name N | wmlab tenant api-key --tenant ID',
    )
  const url = args['database-url'] ?? process.env.DATABASE_URL
  if (!url) throw new CliError('missing_option', '--database-url (or DATABASE_URL) is required')
  if (args['verdict-only'] && args['full-detail'])
    throw new CliError('invalid_option', '--verdict-only and --full-detail exclude each other')
  const { createApiKey, createTenant } = await import('./admin.ts')
  try {
    if (sub === 'api-key')
      return await createApiKey(
        url,
        need(args, 'tenant'),
        args['verdict-only'] ? 'verdict' : args['full-detail'] ? 'full' : undefined,
      )
    return await createTenant(
      url,
      need(args, 'name'),
      args['store-text'] ?? false,
      args['verdict-only'] ? 'verdict' : 'full',
    )
  } catch (e) {
    if ((e as { code?: string }).code === 'not_found')
      throw new CliError('tenant_not_found', `no tenant "${args.tenant}"`)
    // Never echo the URL: it may carry a password.
    throw new CliError(
      'database_error',
      `could not create the ${sub === 'create' ? 'tenant' : 'API key'}: ${(e as Error).message.replace(url, '<database-url>')}`,
    )
  }
}

function tokenize(args: Args): unknown {
  const id = need(args, 'tokenizer')
  try {
    getTokenizerSpec(id)
  } catch (e) {
    throw new CliError('unknown_tokenizer', (e as Error).message)
  }
  let text: string
  if (args['text-file']) {
    try {
      text = readFileSync(args['text-file'], 'utf8')
    } catch (e) {
      throw new CliError('file_not_readable', `cannot read --text-file: ${(e as Error).message}`)
    }
  } else text = need(args, 'text')
  return Array.from(loadTokenizer(id, { reference: args.reference === true }).encode(text))
}

function schemes(): unknown {
  return {
    schemes: schemeNames.map((name) => {
      const p = getPreset(name)
      return { name, family: p.family, description: p.description, defaults: p.defaults }
    }),
    tokenizers: tokenizerIds().map((id) => {
      const { packageName, vocabSize, logitsSize, licence } = getTokenizerSpec(id)
      return { id, packageName, vocabSize, logitsSize, licence }
    }),
  }
}

const json = (v: unknown) =>
  JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : Number.isNaN(x) ? null : x))

const defaultErr = (s: string) => void process.stderr.write(s)

/** Runs one command; returns the exit code. Output goes to the given streams (testable). */
export async function main(
  argv: string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
  err: (s: string) => void = defaultErr,
): Promise<number> {
  try {
    const { values, positionals } = parse(argv)
    const command = positionals[0] ?? 'help'
    if (values.help || command === 'help') {
      out(`${HELP}\n`)
      return 0
    }
    if (command === 'experiment')
      return await experimentCommand(values, positionals, {
        out,
        err,
        tty: err === defaultErr && process.stderr.isTTY === true,
      })
    const run: Record<string, (a: Args, positionals: string[]) => unknown> = {
      prf,
      greenlist,
      gvalues,
      detect,
      tokenize,
      schemes,
      tenant,
    }
    const fn = run[command]
    if (!fn)
      throw new CliError(
        'unknown_command',
        `unknown command "${command}"; try: ${Object.keys(run).join(', ')}`,
      )
    out(`${json(await fn(values, positionals))}\n`)
    return 0
  } catch (e) {
    const [code, message] =
      e instanceof CliError || e instanceof ExperimentCliError
        ? [e.code, e.message]
        : e instanceof UnknownSchemeError
          ? ['unknown_scheme', e.message]
          : e instanceof ZodError
            ? [
                'invalid_params',
                e.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; '),
              ]
            : e instanceof RangeError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
              ? ['bad_option', (e as Error).message]
              : ['internal_error', (e as Error).message]
    err(`${json({ error: { code, message } })}\n`)
    return code === 'internal_error' ? 1 : 2
  }
}
