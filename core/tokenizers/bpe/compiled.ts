// Compiled byte-level BPE: the tables the fast encoder runs on, built from tokenizer.json and
// stored in a compact binary form so an isolate can load a tokenizer without parsing ~10 MB of
// JSON. Pure: no I/O; callers hand in parsed JSON or the .bin bytes.
import { alphabetToBytes, alphabetToBytesLoose, BYTE_TO_CHAR } from './byte-level.ts'
import { buildMergeTable, buildWordTable, pairHash } from './tables.ts'

export type NormalizerForm = 'NFC' | 'NFD' | 'NFKC' | 'NFKD'

export interface AddedTokenSpec {
  id: number
  content: string
  lstrip: boolean
  rstrip: boolean
  // matched after normalisation (the reference's `normalized`)
  normalized: boolean
  special: boolean
}

export interface CompiledBpe {
  normalizer: NormalizerForm | null
  // the pre-tokeniser regex exactly as the reference compiles it (Oniguruma rewritten to JS)
  split: { source: string; flags: string }
  // Llama 3: a pre-token found whole in the vocabulary is emitted before any merge
  ignoreMerges: boolean
  added: AddedTokenSpec[]
  // max output id + 1
  vocabSize: number
  // BPE symbols: every string a merge can produce or consume, keyed by its bytes
  symOffsets: Uint32Array // symbols + 1
  symBytes: Uint8Array
  symOut: Int32Array // output id of a symbol, -1 where the reference drops it (not in vocab)
  byteSym: Int32Array // 256: the symbol for each single byte
  merges: Int32Array // [left, right, result] symbols, in rank order, one per pair
  mergeSlots?: Int32Array // hash table over merges (tables.ts)
  wordSlots?: Int32Array // hash table over symbol bytes, for ignore_merges (tables.ts)
  // decoding by output id
  decOffsets: Uint32Array // vocabSize + 1
  decBytes: Uint8Array
  decVerbatim: Uint8Array // 1: added token, decoded as its content outside the byte alphabet
}

export class UnsupportedTokenizerError extends Error {}

interface TokenizerJson {
  added_tokens?: Array<{
    id: number
    content: string
    lstrip?: boolean
    rstrip?: boolean
    normalized?: boolean
    special?: boolean
  }>
  normalizer?: { type?: string } | null
  pre_tokenizer?: PreTokenizerJson | null
  post_processor?: { type?: string } | null
  decoder?: { type?: string; decoders?: Array<{ type?: string }> } | null
  model?: {
    type?: string
    vocab?: Record<string, number>
    merges?: Array<string | [string, string]>
    dropout?: number | null
    unk_token?: string | null
    byte_fallback?: boolean
    end_of_word_suffix?: string | null
    continuing_subword_suffix?: string | null
    ignore_merges?: boolean
  }
}

interface PreTokenizerJson {
  type?: string
  pretokenizers?: PreTokenizerJson[]
  pattern?: { Regex?: string; String?: string }
  behavior?: string
  invert?: boolean
  add_prefix_space?: boolean
  use_regex?: boolean
}

/** Regex compilers of the reference, injected so this module stays free of its import. */
export interface ReferenceRegexes {
  // the RegExp the reference's Split pre-tokenizer builds for a config
  split(config: object): RegExp
  // the reference ByteLevel pre-tokenizer's own pattern (use_regex: true)
  byteLevel(): RegExp
}

const FORMS = new Set(['NFC', 'NFD', 'NFKC', 'NFKD'])

function unsupported(why: string): never {
  throw new UnsupportedTokenizerError(why)
}

function preTokenizerRegex(pre: PreTokenizerJson | null | undefined, rx: ReferenceRegexes): RegExp {
  // supported: Split(regex, not inverted, not 'removed') then ByteLevel without its own regex,
  // or a lone ByteLevel with its GPT-2 regex; never a prefix space
  const steps = !pre ? [] : pre.type === 'Sequence' ? (pre.pretokenizers ?? []) : [pre]
  const last = steps[steps.length - 1]
  if (last?.type !== 'ByteLevel') unsupported('pre-tokenizer does not end in ByteLevel')
  if (last.add_prefix_space) unsupported('ByteLevel add_prefix_space')
  if (steps.length === 1) {
    if (last.use_regex === false) unsupported('ByteLevel without a regex and no Split')
    return rx.byteLevel()
  }
  if (steps.length !== 2 || last.use_regex !== false) unsupported('pre-tokenizer sequence shape')
  const split = steps[0]
  if (split.type !== 'Split' || split.invert || split.behavior?.toLowerCase() === 'removed') {
    unsupported('pre-tokenizer is not an isolating Split')
  }
  if (split.pattern?.Regex === undefined) unsupported('Split without a Regex pattern')
  return rx.split(split)
}

function isByteLevelDecoder(dec: TokenizerJson['decoder']): boolean {
  if (!dec) return false
  return (
    dec.type === 'ByteLevel' ||
    (dec.type === 'Sequence' && (dec.decoders ?? []).some((d) => d.type === 'ByteLevel'))
  )
}

/**
 * Builds the tables from a parsed tokenizer.json (+ tokenizer_config.json), or throws
 * UnsupportedTokenizerError for anything the fast encoder does not reproduce exactly.
 */
export function compileBpe(
  tokenizerJson: object,
  tokenizerConfig: object,
  rx: ReferenceRegexes,
): CompiledBpe {
  const tj = tokenizerJson as TokenizerJson
  const cfg = tokenizerConfig as { remove_space?: boolean; do_lowercase_and_remove_accent?: boolean }
  const m = tj.model
  if (m?.type !== 'BPE' || !m.vocab || !m.merges) unsupported('model is not BPE')
  if (m.dropout) unsupported('BPE dropout')
  if (m.unk_token != null) unsupported('BPE unk_token')
  if (m.byte_fallback) unsupported('BPE byte_fallback')
  if (m.end_of_word_suffix || m.continuing_subword_suffix) unsupported('BPE word suffixes')
  if (cfg.remove_space || cfg.do_lowercase_and_remove_accent) unsupported('config text rewriting')
  const norm = tj.normalizer ?? null
  if (norm && !FORMS.has(norm.type ?? '')) unsupported(`normalizer ${norm.type}`)
  const post = tj.post_processor ?? null
  if (post && post.type !== 'ByteLevel') unsupported(`post-processor ${post.type}`)
  if (!isByteLevelDecoder(tj.decoder)) unsupported('decoder is not ByteLevel')
  const regex = preTokenizerRegex(tj.pre_tokenizer, rx)

  const added: AddedTokenSpec[] = (tj.added_tokens ?? []).map((t) => ({
    id: t.id,
    content: t.content,
    lstrip: t.lstrip ?? false,
    rstrip: t.rstrip ?? false,
    // the reference defaults `normalized` to !special; it only matters with a normalizer
    normalized: (t.normalized ?? !(t.special ?? false)) && norm !== null,
    special: t.special ?? false,
  }))

  // string -> output id exactly as the reference resolves it: vocab, overlaid by added tokens
  const tokensToIds = new Map<string, number>(Object.entries(m.vocab))
  for (const t of added) tokensToIds.set(t.content, t.id)
  let vocabSize = 0
  for (const id of tokensToIds.values()) if (id + 1 > vocabSize) vocabSize = id + 1

  // symbols are identified by their alphabet string, as the reference's string-keyed merges are
  const symIndex = new Map<string, number>()
  const symStrings: string[] = []
  const symKey: Uint8Array[] = []
  const symbol = (s: string): number => {
    let k = symIndex.get(s)
    if (k !== undefined) return k
    const bytes = alphabetToBytes(s)
    if (!bytes) return -1
    k = symStrings.length
    symIndex.set(s, k)
    symStrings.push(s)
    symKey.push(bytes)
    return k
  }
  // vocab strings first (ignore_merges looks pre-tokens up whole), then bytes and merge results
  for (const s of tokensToIds.keys()) symbol(s)
  const byteSym = new Int32Array(256)
  for (let b = 0; b < 256; b++) byteSym[b] = symbol(String.fromCharCode(BYTE_TO_CHAR[b]))
  const n = m.merges.length
  const left: string[] = new Array(n)
  const right: string[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const x = m.merges[i]
    if (Array.isArray(x)) {
      left[i] = x[0]
      right[i] = x[1]
    } else {
      // the reference splits on the first space only and drops the rest (split(' ', 2))
      const sp = x.indexOf(' ')
      left[i] = sp < 0 ? x : x.slice(0, sp)
      const rest = sp < 0 ? '' : x.slice(sp + 1)
      const sp2 = rest.indexOf(' ')
      // no space: a one-part merge, which can never apply
      right[i] = sp < 0 ? '\u0000' : sp2 < 0 ? rest : rest.slice(0, sp2)
    }
    symbol(left[i] + right[i])
  }
  // resolve parts once all symbols exist; the reference's rank Map keeps the last index of a
  // repeated pair, so walk backwards and keep the first sighting
  const kept: number[] = []
  // (a, b) pairs seen so far, open addressing over kept's entries (index / 3 + 1)
  let size = 1024
  while (size < n * 2) size <<= 1
  const seen = new Int32Array(size)
  for (let i = n - 1; i >= 0; i--) {
    const a = symIndex.get(left[i])
    const b = symIndex.get(right[i])
    // a part outside the byte alphabet can never be formed, so the merge never applies
    if (a === undefined || b === undefined) continue
    let h = pairHash(a, b) & (size - 1)
    let dup = false
    for (let e = seen[h]; e !== 0; e = seen[h]) {
      if (kept[3 * (e - 1) + 1] === a && kept[3 * (e - 1) + 2] === b) {
        dup = true
        break
      }
      h = (h + 1) & (size - 1)
    }
    if (dup) continue
    seen[h] = kept.length / 3 + 1
    kept.push(i, a, b)
  }
  const merges: number[] = []
  for (let k = kept.length - 3; k >= 0; k -= 3) {
    const i = kept[k]
    merges.push(kept[k + 1], kept[k + 2], symIndex.get(left[i] + right[i]) as number)
  }

  const symOut = Int32Array.from(symStrings, (s) => tokensToIds.get(s) ?? -1)
  const [symOffsets, symBytes] = pack(symKey)
  const mergeArr = Int32Array.from(merges)
  const ignoreMerges = m.ignore_merges ?? false

  const addedById = new Map(added.map((t) => [t.id, t]))
  const addedContents = new Set(added.map((t) => t.content))
  const idToString: string[] = new Array(vocabSize)
  for (const [s, id] of Object.entries(m.vocab)) idToString[id] = s
  for (const t of added) idToString[t.id] = t.content
  const utf8 = new TextEncoder()
  const decVerbatim = new Uint8Array(vocabSize)
  const dec: Uint8Array[] = []
  for (let id = 0; id < vocabSize; id++) {
    const s = idToString[id]
    if (s === undefined) dec.push(new Uint8Array(0))
    else if (addedById.has(id) || addedContents.has(s)) {
      decVerbatim[id] = 1
      dec.push(utf8.encode(s))
    } else {
      // the symbol's bytes when it has one (the common case), else the reference's lossy map
      const k = symIndex.get(s)
      dec.push(k !== undefined ? symKey[k] : alphabetToBytesLoose(s))
    }
  }
  const [decOffsets, decBytes] = pack(dec)

  return {
    normalizer: norm ? (norm.type as NormalizerForm) : null,
    split: { source: regex.source, flags: regex.flags },
    ignoreMerges,
    added,
    vocabSize,
    symOffsets,
    symBytes,
    symOut,
    byteSym,
    merges: mergeArr,
    mergeSlots: buildMergeTable(mergeArr),
    wordSlots: ignoreMerges ? buildWordTable(symOffsets, symBytes, symOut) : undefined,
    decOffsets,
    decBytes,
    decVerbatim,
  }
}

function pack(parts: Uint8Array[]): [Uint32Array, Uint8Array] {
  const offsets = new Uint32Array(parts.length + 1)
  for (let i = 0; i < parts.length; i++) offsets[i + 1] = offsets[i] + parts[i].length
  const bytes = new Uint8Array(offsets[parts.length])
  for (let i = 0; i < parts.length; i++) bytes.set(parts[i], offsets[i])
  return [offsets, bytes]
}

// ---- binary form -------------------------------------------------------------------------
// 'WMBPE002', u32 header length, UTF-8 JSON header (scalars, added tokens, section table),
// then the typed arrays, each 4-byte aligned, little-endian. Loading makes views, not copies.

const MAGIC = 'WMBPE002'
type SectionName =
  | 'symOffsets'
  | 'symBytes'
  | 'symOut'
  | 'byteSym'
  | 'merges'
  | 'mergeSlots'
  | 'wordSlots'
  | 'decOffsets'
  | 'decBytes'
  | 'decVerbatim'
const SECTIONS: SectionName[] = [
  'symOffsets',
  'symBytes',
  'symOut',
  'byteSym',
  'merges',
  'mergeSlots',
  'wordSlots',
  'decOffsets',
  'decBytes',
  'decVerbatim',
]
const EMPTY = new Int32Array(0)

interface Header {
  normalizer: NormalizerForm | null
  split: { source: string; flags: string }
  ignoreMerges: boolean
  added: AddedTokenSpec[]
  vocabSize: number
  // free-form provenance (package and version the tables came from)
  source?: string
  sections: Record<SectionName, [number, number]>
}

const align4 = (n: number): number => (n + 3) & ~3

export function serializeBpe(c: CompiledBpe, source?: string): Uint8Array {
  const sections = {} as Record<SectionName, [number, number]>
  // the data offsets depend on the header length, which depends on the offsets: settle it by
  // laying the sections out relative to the data start
  let rel = 0
  const tables = {
    ...c,
    mergeSlots: c.mergeSlots ?? buildMergeTable(c.merges),
    wordSlots: c.ignoreMerges ? (c.wordSlots ?? buildWordTable(c.symOffsets, c.symBytes, c.symOut)) : EMPTY,
  }
  for (const name of SECTIONS) {
    const a = tables[name]
    sections[name] = [rel, a.byteLength]
    rel = align4(rel + a.byteLength)
  }
  const header: Header = {
    normalizer: c.normalizer,
    split: c.split,
    ignoreMerges: c.ignoreMerges,
    added: c.added,
    vocabSize: c.vocabSize,
    source,
    sections,
  }
  const headerBytes = new TextEncoder().encode(JSON.stringify(header))
  const dataStart = align4(12 + headerBytes.length)
  const out = new Uint8Array(dataStart + rel)
  for (let i = 0; i < 8; i++) out[i] = MAGIC.charCodeAt(i)
  new DataView(out.buffer).setUint32(8, headerBytes.length, true)
  out.set(headerBytes, 12)
  for (const name of SECTIONS) {
    const a = tables[name]
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), dataStart + sections[name][0])
  }
  return out
}

export function deserializeBpe(bin: Uint8Array): CompiledBpe & { source?: string } {
  for (let i = 0; i < 8; i++) {
    if (bin[i] !== MAGIC.charCodeAt(i)) throw new Error('not a compiled tokenizer (bad magic)')
  }
  // typed-array views need 4-byte alignment in the underlying buffer
  const b = bin.byteOffset % 4 === 0 ? bin : bin.slice()
  const headerLen = new DataView(b.buffer, b.byteOffset).getUint32(8, true)
  const header = JSON.parse(new TextDecoder().decode(b.subarray(12, 12 + headerLen))) as Header
  const dataStart = b.byteOffset + align4(12 + headerLen)
  const view = <T>(
    name: SectionName,
    C: { new (buf: ArrayBufferLike, off: number, len: number): T; BYTES_PER_ELEMENT: number },
  ): T => {
    const [off, len] = header.sections[name]
    return new C(b.buffer, dataStart + off, len / C.BYTES_PER_ELEMENT)
  }
  return {
    normalizer: header.normalizer,
    split: header.split,
    ignoreMerges: header.ignoreMerges,
    added: header.added,
    vocabSize: header.vocabSize,
    source: header.source,
    symOffsets: view('symOffsets', Uint32Array),
    symBytes: view('symBytes', Uint8Array),
    symOut: view('symOut', Int32Array),
    byteSym: view('byteSym', Int32Array),
    merges: view('merges', Int32Array),
    mergeSlots: view('mergeSlots', Int32Array),
    wordSlots: header.ignoreMerges ? view('wordSlots', Int32Array) : undefined,
    decOffsets: view('decOffsets', Uint32Array),
    decBytes: view('decBytes', Uint8Array),
    decVerbatim: view('decVerbatim', Uint8Array),
  }
}
