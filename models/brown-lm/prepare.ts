// Step 1 of the brown-lm recipe: tokenise the Brown corpus with the Qwen3 tokenizer (the core's
// exact encoder) and write the training data the Python trainer reads. Held-out documents are
// every 25th file (20 of 500, all genres), never seen in training.
//   npx tsx models/brown-lm/prepare.ts [outDir]
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadTokenizer } from '../../cli/tokenizers-node.ts'
import { loadBrownDocuments } from '../../test/fixtures/brown.ts'

const here = dirname(fileURLToPath(import.meta.url))
const outDir = process.argv[2] ?? join(here, 'data')
const EOS = 151643 // <|endoftext|>: separates documents, as in Qwen3's pre-training
const HELD_OUT_EVERY = 25

const tokenizer = await loadTokenizer('qwen3')
const docs = loadBrownDocuments()
const train: number[] = []
const heldOut: number[] = []
const heldOutIds: string[] = []
docs.forEach((doc, i) => {
  const ids = tokenizer.encode(doc.text)
  const target = i % HELD_OUT_EVERY === HELD_OUT_EVERY - 1 ? heldOut : train
  if (target === heldOut) heldOutIds.push(doc.id)
  for (const id of ids) target.push(id)
  target.push(EOS)
})
const used = [...new Set([...train, ...heldOut])].sort((a, b) => a - b)
mkdirSync(outDir, { recursive: true })
writeFileSync(join(outDir, 'train.bin'), new Int32Array(train))
writeFileSync(join(outDir, 'heldout.bin'), new Int32Array(heldOut))
writeFileSync(
  join(outDir, 'meta.json'),
  JSON.stringify({ tokenizer: 'qwen3', eos: EOS, usedIds: used.length, heldOutDocs: heldOutIds }, null, 1),
)
writeFileSync(join(outDir, 'used-ids.bin'), new Int32Array(used))
console.log(
  `brown-lm data: ${train.length} training tokens, ${heldOut.length} held-out tokens ` +
    `(${heldOutIds.length} documents), ${used.length} distinct ids → ${outDir}`,
)
