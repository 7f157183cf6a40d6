// Token-for-token exactness of the fast encoder against @huggingface/tokenizers on the whole
// Brown corpus, the whole nlp-corpus and the adversarial set. Shared by one test file per
// tokenizer, so the two run on separate workers. The reference encodes ~15 MB at 0.2–0.5 MB/s,
// so each file takes about a minute on an idle core (several under load): generous timeouts.
import { describe, expect, it } from 'vitest'
import { loadTokenizer } from '../cli/tokenizers-node.ts'
import { getTokenizerSpec } from '../core/tokenizers/registry.ts'
import { adversarialTexts } from './tokenizer-adversarial.ts'
import { loadBrownDocuments } from './fixtures/brown.ts'

export interface ExactnessReport {
  docs: number
  tokens: number
  mismatches: number[]
}

// Reference ids for many texts in few calls: the reference splits on added tokens before
// anything else (no lstrip/rstrip on these), so encoding texts joined by the EOS token gives each
// text's ids between EOS ids. Saves the per-call overhead on nlp-corpus's 100,000 short texts.
function referenceIds(id: string, texts: string[]): Int32Array[] {
  const ref = loadTokenizer(id, { reference: true })
  const eos = getTokenizerSpec(id).eosTokenId as number
  const sep = ref.tokenTexts([eos])[0]
  const out: Int32Array[] = new Array(texts.length)
  let batch: number[] = []
  let bytes = 0
  const flush = (): void => {
    const ids = ref.encode(batch.map((i) => texts[i]).join(sep))
    let k = 0
    let start = 0
    for (let p = 0; p <= ids.length; p++) {
      if (p === ids.length || ids[p] === eos) {
        out[batch[k++]] = ids.slice(start, p)
        start = p + 1
      }
    }
    if (k !== batch.length) throw new Error(`batch split into ${k} texts, expected ${batch.length}`)
    batch = []
    bytes = 0
  }
  texts.forEach((t, i) => {
    if (t.includes(sep) || t.length > 100_000) out[i] = ref.encode(t)
    else {
      batch.push(i)
      bytes += t.length
      if (bytes > 200_000) flush()
    }
  })
  if (batch.length) flush()
  return out
}

export function compareOn(id: string, texts: string[]): ExactnessReport {
  const fast = loadTokenizer(id)
  const refIds = referenceIds(id, texts)
  const report: ExactnessReport = { docs: texts.length, tokens: 0, mismatches: [] }
  texts.forEach((t, i) => {
    const a = fast.encode(t)
    const b = refIds[i]
    report.tokens += b.length
    let same = a.length === b.length
    for (let k = 0; same && k < a.length; k++) same = a[k] === b[k]
    if (!same) report.mismatches.push(i)
  })
  return report
}

// nlp-corpus ships no types; its ESM API: all() -> 100,000 short English texts
const NLP_CORPUS = 'nlp-corpus'
const nlpCorpus = ((await import(NLP_CORPUS)) as { all(): string[] }).all

const CORPORA: Record<string, () => string[]> = {
  brown: () => loadBrownDocuments().map((d) => d.text),
  'nlp-corpus': () => nlpCorpus(),
  adversarial: () => adversarialTexts(),
}

export function describeExactness(id: string): void {
  describe(`${id}: fast encoder = @huggingface/tokenizers`, () => {
    it('is the fast encoder', () => {
      expect(loadTokenizer(id).kind).toBe('fast-bpe')
      expect(loadTokenizer(id, { reference: true }).kind).toBe('reference')
    })

    it.each(Object.keys(CORPORA))('%s: every document, every token', { timeout: 600_000 }, (corpus) => {
      const texts = CORPORA[corpus]()
      const r = compareOn(id, texts)
      console.log(`${id} ${corpus}: ${r.docs} docs, ${r.tokens} tokens, ${r.mismatches.length} mismatches`)
      expect(r.docs).toBeGreaterThan(0)
      expect(
        r.mismatches.slice(0, 5).map((i) => JSON.stringify(texts[i]).slice(0, 120)),
        `${r.mismatches.length} mismatching documents`,
      ).toEqual([])
    })
  })
}
