// npm run build:prompts: the built-in "brown" prompt set for experiments, from the Brown documents
// brown-lm never saw in training (every 25th file, as models/brown-lm/prepare.ts holds out). Each
// passage starts at a paragraph and runs ~320 words: the experiment takes its first words as the
// prompt and the words after them as the human continuation. Output (git-ignored, generated):
// core/experiments/data/brown-prompts.json.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadBrownDocuments } from '../test/fixtures/brown.ts'

const HELD_OUT_EVERY = 25 // same split as models/brown-lm/prepare.ts
const PASSAGE_WORDS = 320
const out = join(dirname(fileURLToPath(import.meta.url)), '../core/experiments/data/brown-prompts.json')

const passages: { doc: string; genre: string; text: string }[] = []
loadBrownDocuments().forEach((doc, i) => {
  if (i % HELD_OUT_EVERY !== HELD_OUT_EVERY - 1) return
  const paragraphs = doc.text.split('\n\n').map((p) => p.split(/\s+/).filter(Boolean))
  // Passages start at paragraph starts and do not overlap.
  let p = 0
  while (p < paragraphs.length) {
    const words: string[] = []
    let q = p
    while (q < paragraphs.length && words.length < PASSAGE_WORDS) words.push(...paragraphs[q++])
    if (words.length >= PASSAGE_WORDS)
      passages.push({ doc: doc.id, genre: doc.genre, text: words.slice(0, PASSAGE_WORDS).join(' ') })
    p = q
  }
})
mkdirSync(dirname(out), { recursive: true })
const json = `${JSON.stringify({ source: 'brown-heldout', passageWords: PASSAGE_WORDS, passages })}\n`
writeFileSync(out, json)
console.log(
  `brown prompt set: ${passages.length} passages from held-out documents → ${out} (${(json.length / 1024).toFixed(0)} KB)`,
)
